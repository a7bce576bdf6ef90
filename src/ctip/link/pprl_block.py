"""Hamming locality-sensitive hashing of CLK encodings, and Dice scores of the candidate pairs.

anonlink's own blocking hook calls a Python function per record and its C similarity per
block: at 100,000 x 100,000 encodings with LSH keys that took six minutes here. The same
method runs vectorised instead: each table's keys are sorted, records sharing a key are paired
by array arithmetic, pairs found by several tables are counted once, and the Dice coefficient
of each pair is a popcount of 64-bit words (numpy's ``bitwise_count``). The candidate pairs then
go to anonlink's greedy one-to-one solver in anonlink's own candidate format.

LSH parameters: ``bits`` sampled bit positions per table (chosen among bits set in 25-75 % of
records, so blocks are balanced) and enough tables that a pair at Dice ``target`` is found with
probability 1 - ``MISS_PROBABILITY``. Two encodings' bits agree with probability about
1 - 2 f (1 - Dice), f the fill rate; pairs just above a low threshold agree less often than the
target and may be missed, which the benchmark measures as recall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MISS_PROBABILITY = 0.005
MAX_TABLES = 64
CHUNK = 2_000_000


def _bit_columns(matrix: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The bits at ``positions`` (big-endian within bytes, as bitarray writes them)."""
    bits: np.ndarray = (matrix[:, positions >> 3] >> (7 - (positions & 7))) & 1
    return bits


def lsh_keys(
    matrices: Sequence[np.ndarray], target: float, *, seed: int = 0
) -> tuple[list[np.ndarray], int, int]:
    """Block keys (records x tables) for each dataset, with the (tables, bits) chosen."""
    width = matrices[0].shape[1] * 8
    every = np.arange(width)
    counts = np.zeros(width, dtype=np.int64)
    total = 0
    for matrix in matrices:
        for start in range(0, matrix.shape[0], 20_000):
            counts += _bit_columns(matrix[start : start + 20_000], every).sum(axis=0)
        total += matrix.shape[0]
    density = counts / max(total, 1)
    fill = float(density.mean())
    balanced = np.flatnonzero((density > 0.25) & (density < 0.75))
    if balanced.size < 32:
        balanced = every
    pairs = math.prod(m.shape[0] for m in matrices)
    # about as many random collisions per table as records: 2^-bits * pairs ~ records
    records = sum(m.shape[0] for m in matrices)
    bits = int(min(24, max(6, math.ceil(math.log2(max(pairs / max(records, 1), 2))))))
    agree = max(0.5, 1 - 2 * fill * (1 - target))
    hit = agree**bits
    tables = int(min(MAX_TABLES, max(4, math.ceil(math.log(MISS_PROBABILITY) / math.log1p(-hit)))))
    rng = np.random.default_rng(seed)
    weights = 1 << np.arange(bits, dtype=np.int64)
    keys = [np.empty((m.shape[0], tables), dtype=np.int64) for m in matrices]
    for table in range(tables):
        positions = rng.choice(balanced, size=bits, replace=False)
        for matrix, key in zip(matrices, keys, strict=True):
            key[:, table] = _bit_columns(matrix, positions).astype(np.int64) @ weights
    return keys, tables, bits


def _table_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with left[i] == right[j], by sorting."""
    order_l = np.argsort(left, kind="stable")
    order_r = np.argsort(right, kind="stable")
    keys_l, start_l, count_l = np.unique(left[order_l], return_index=True, return_counts=True)
    keys_r, start_r, count_r = np.unique(right[order_r], return_index=True, return_counts=True)
    _, in_l, in_r = np.intersect1d(keys_l, keys_r, assume_unique=True, return_indices=True)
    sizes_l, sizes_r = count_l[in_l], count_r[in_r]
    per_key = sizes_l * sizes_r
    total = int(per_key.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    group = np.repeat(np.arange(len(per_key)), per_key)
    offset = np.arange(total) - np.repeat(np.cumsum(per_key) - per_key, per_key)
    i = order_l[start_l[in_l][group] + offset // sizes_r[group]]
    j = order_r[start_r[in_r][group] + offset % sizes_r[group]]
    return i.astype(np.int64), j.astype(np.int64)


def candidate_pairs(keys_a: np.ndarray, keys_b: np.ndarray, size_b: int) -> np.ndarray:
    """Distinct pairs sharing a key in any table, as codes i * size_b + j (sorted)."""
    found: list[np.ndarray] = []
    for table in range(keys_a.shape[1]):
        i, j = _table_pairs(keys_a[:, table], keys_b[:, table])
        found.append(i * size_b + j)
    if not found:
        return np.zeros(0, dtype=np.int64)
    # sort and drop repeats by hand: np.unique's hash path took minutes on these arrays
    codes = np.sort(np.concatenate(found), kind="stable")
    if len(codes) == 0:
        return codes
    keep = np.empty(len(codes), dtype=bool)
    keep[0] = True
    np.not_equal(codes[1:], codes[:-1], out=keep[1:])
    return codes[keep]


def as_words(matrix: np.ndarray) -> np.ndarray:
    """Encodings as 64-bit words (padded), for popcounts."""
    pad = (-matrix.shape[1]) % 8
    if pad:
        matrix = np.hstack([matrix, np.zeros((matrix.shape[0], pad), dtype=np.uint8)])
    return np.ascontiguousarray(matrix).view(np.uint64)


def dice_scores(
    words_a: np.ndarray, words_b: np.ndarray, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """Dice coefficient 2|A and B| / (|A| + |B|) of each pair (i[k], j[k])."""
    pop_a = np.bitwise_count(words_a).sum(axis=1, dtype=np.int64)
    pop_b = np.bitwise_count(words_b).sum(axis=1, dtype=np.int64)
    scores = np.empty(len(i), dtype=np.float64)
    for start in range(0, len(i), CHUNK):
        ii, jj = i[start : start + CHUNK], j[start : start + CHUNK]
        common = np.bitwise_count(words_a[ii] & words_b[jj]).sum(axis=1, dtype=np.int64)
        denominator = pop_a[ii] + pop_b[jj]
        scores[start : start + CHUNK] = np.where(
            denominator > 0, 2 * common / np.maximum(denominator, 1), 0.0
        )
    return scores
