"""A Hamming-distance index over 256-bit PDQ hashes: every stored hash within a distance.

Two structures, both exact (every hash within the distance is returned, nothing else), chosen by
size and measured in bench/media.py:

- ``flat``: a linear scan with hardware popcount (faiss ``IndexBinaryFlat``); no build time,
  32 bytes per hash. A query reads every hash, so its time grows with the index (about 2 ms at
  10^6 on one core, 45 ms at 10^7). Used for small indexes, and for a few queries against a
  large one: building the multi-index costs as much as a few hundred flat queries.
- ``mih``: multi-index hashing (Norouzi, Punjani and Fleet), in numpy. Eleven disjoint bit
  substrings are cut from the 256 bits. If two hashes differ in at most 32 bits, the
  pigeonhole principle says that at least one of the eleven substrings differs in at most 2
  bits (11 x 3 = 33 > 32). So the index keeps, for each substring, the hashes bucketed by that
  substring's value (a counting sort: ``offsets`` + ``order``), and a query probes, in each
  table, the buckets of every value within 2 bit flips of its own substring, then checks the
  full 256-bit distance of those candidates. It is exact up to distance 32, and a query
  touches a few thousand candidates instead of all hashes. For a smaller ``max_distance`` the
  probe radius shrinks (``max_distance // 11``). Above 32 a search falls back to the flat scan.

Why not faiss's own ``IndexBinaryMultiHash``: it keeps ``std::unordered_map`` buckets, about
700 bytes per hash (695 MiB at 10^6, so some 7 GB at 10^7), its 8 x 32-bit tables need 3 flips
(43,912 probes a query), and it was 20x slower per query than this layout at 10^6.
faiss's OpenMP threads are also a trap for single queries on a small shared machine: a range
search parallelises over queries, so one query gains nothing from a second thread, yet the
parallel region still waits for every thread to be scheduled; with the cores busy that wait cost
10x the scan itself (bench/media.py). Small flat searches therefore run on one thread.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from ctip.media.hashing import MATCH_DISTANCE

BITS = 256
MIH_TABLES = 11  # disjoint substrings; exact to MIH_TABLES * (MIH_MAX_RADIUS + 1) - 1 = 32
MIH_MAX_RADIUS = 2  # bit flips probed per substring
MIH_STRIDE = BITS // MIH_TABLES  # 23: substring i starts at bit 23 * i
MIH_MAX_WIDTH = MIH_STRIDE  # substrings must not overlap
MIH_MIN_WIDTH = 12
MIH_THRESHOLD = 200_000  # from this many hashes, multi-index hashing answers faster (bench)
# Building costs about as much as flat-scanning the index for a few hundred query hashes (at
# 10^6: 1 s against 1.8 ms a query; at 10^7: 10.5 s against 45 ms), so for fewer queries the
# flat scan is cheaper end to end.
MIH_MIN_QUERIES = 500
QUERY_CHUNK = 256  # queries probed together (bounds the temporary arrays)
SINGLE_THREAD_BELOW = 64  # flat searches of fewer queries run on one thread (bench/media.py)

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_POPCOUNT_BYTES = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class Hit:
    query: int  # position of the query hash
    item: int  # position of the indexed hash
    distance: int


def to_matrix(hex_hashes: Sequence[str]) -> np.ndarray:
    """64-hex-digit hashes -> (n, 32) uint8 matrix, as faiss binary indexes want."""
    if not hex_hashes:
        return np.zeros((0, BITS // 8), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hex_hashes)), dtype=np.uint8).reshape(-1, BITS // 8)


def _words(hashes: np.ndarray) -> U64:
    """(n, 32) uint8 -> (n, 4) uint64 view (no copy when already contiguous)."""
    matrix = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, BITS // 8)
    return matrix.view(np.uint64)


def popcount_rows(words: np.ndarray) -> I64:
    """Number of set bits in each row of a (k, 4) uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        counts = np.bitwise_count(words)
        return np.asarray(counts.sum(axis=1, dtype=np.int64))
    as_bytes = np.ascontiguousarray(words).view(np.uint8)
    return np.asarray(_POPCOUNT_BYTES[as_bytes].sum(axis=1, dtype=np.int64))


def brute_force(codes: np.ndarray, queries: np.ndarray, max_distance: int) -> list[Hit]:
    """Reference answer: every (query, item) within ``max_distance``, by a numpy scan."""
    words, hits = _words(codes), []
    for query, row in enumerate(_words(queries)):
        distances = popcount_rows(words ^ row)
        for item in np.flatnonzero(distances <= max_distance):
            hits.append(Hit(query, int(item), int(distances[item])))
    return hits


def mih_width(size: int) -> int:
    """Substring width for ``size`` hashes: 2 to 4 buckets per hash (so most probes hit an
    empty bucket), capped so that substrings do not overlap (bench/media.py compares widths)."""
    return max(MIH_MIN_WIDTH, min(MIH_MAX_WIDTH, math.ceil(math.log2(max(size, 2))) + 1))


@cache
def _flip_masks(width: int, radius: int) -> U32:
    """Every ``width``-bit XOR mask with at most ``radius`` bits set."""
    masks = [0]
    for count in range(1, radius + 1):
        masks.extend(
            sum(1 << bit for bit in bits) for bits in itertools.combinations(range(width), count)
        )
    return np.array(masks, dtype=np.uint32)


class MultiIndexHash:
    """Exact Hamming range search by multi-index hashing (see the module docstring)."""

    def __init__(self, codes: np.ndarray, width: int | None = None) -> None:
        self.words = _words(codes)
        size = len(self.words)
        if size >= 2**32:
            raise ValueError("at most 2**32 - 1 hashes")
        self.width = width or mih_width(size)
        if not MIH_MIN_WIDTH <= self.width <= MIH_MAX_WIDTH:
            raise ValueError(f"substring width must be {MIH_MIN_WIDTH}..{MIH_MAX_WIDTH}")
        self.exact_to = MIH_TABLES * (MIH_MAX_RADIUS + 1) - 1
        self.offsets: list[U32] = []
        self.orders: list[U32] = []
        positions = np.arange(size, dtype=np.uint64)
        for table in range(MIH_TABLES):
            keys = self._keys(self.words, table)
            # a stable counting sort by key: sorting (key << 32 | position) is a vectorised sort
            packed = (keys.astype(np.uint64) << np.uint64(32)) | positions
            packed.sort()
            self.orders.append(packed.astype(np.uint32))
            del packed
            offsets = np.zeros((1 << self.width) + 1, dtype=np.uint32)
            np.cumsum(np.bincount(keys, minlength=1 << self.width), out=offsets[1:])
            self.offsets.append(offsets)

    @property
    def nbytes(self) -> int:
        tables = sum(a.nbytes for a in self.offsets) + sum(a.nbytes for a in self.orders)
        return int(self.words.nbytes + tables)

    def _keys(self, words: U64, table: int) -> U32:
        start = table * MIH_STRIDE
        word, shift = divmod(start, 64)
        values = words[:, word] >> np.uint64(shift)
        if shift + self.width > 64:
            values = values | (words[:, word + 1] << np.uint64(64 - shift))
        return (values & np.uint64((1 << self.width) - 1)).astype(np.uint32)

    def search(self, queries: np.ndarray, max_distance: int) -> tuple[I64, I64, I64]:
        """(query, item, distance) arrays of every pair within ``max_distance``, sorted."""
        if max_distance > self.exact_to:
            raise ValueError(f"multi-index hashing is exact only up to distance {self.exact_to}")
        words = _words(queries)
        parts = [
            self._search_chunk(words[start : start + QUERY_CHUNK], start, max_distance)
            for start in range(0, len(words), QUERY_CHUNK)
        ]
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def _search_chunk(self, words: U64, first: int, max_distance: int) -> tuple[I64, I64, I64]:
        masks = _flip_masks(self.width, max(0, max_distance) // MIH_TABLES)
        probe_query = np.repeat(np.arange(len(words), dtype=np.int64), len(masks))
        items, owners = [], []
        for table in range(MIH_TABLES):
            probes = (self._keys(words, table)[:, None] ^ masks[None, :]).ravel()
            offsets = self.offsets[table]
            starts = offsets[probes].astype(np.int64)
            lengths = offsets[probes + 1].astype(np.int64) - starts
            occupied = lengths > 0
            starts, lengths = starts[occupied], lengths[occupied]
            total = int(lengths.sum())
            if total == 0:
                continue
            # the concatenation of order[start:start + length] for every occupied bucket
            ends = np.cumsum(lengths)
            positions = np.arange(total, dtype=np.int64) + np.repeat(
                starts - (ends - lengths), lengths
            )
            items.append(self.orders[table][positions].astype(np.int64))
            owners.append(np.repeat(probe_query[occupied], lengths))
        if not items:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        item, owner = np.concatenate(items), np.concatenate(owners)
        distance = popcount_rows(self.words[item] ^ words[owner])
        near = distance <= max_distance
        # a hash near the query is usually found through several substrings: keep it once
        pairs, unique = np.unique(owner[near] * len(self.words) + item[near], return_index=True)
        query, found = np.divmod(pairs, len(self.words))
        return query + first, found, distance[near][unique]


def choose_kind(size: int, queries: int | None = None) -> str:
    """``mih`` for large indexes that will answer many queries (or an unknown number, as a
    long-lived index does), else ``flat``."""
    many = queries is None or queries >= MIH_MIN_QUERIES
    return "mih" if size >= MIH_THRESHOLD and many else "flat"


class HashIndex:
    def __init__(
        self, kind: str | None = None, expected_size: int = 0, expected_queries: int | None = None
    ) -> None:
        self.kind = kind or choose_kind(expected_size, expected_queries)
        if self.kind not in ("flat", "mih"):
            raise ValueError(f"unknown index kind {kind}")
        self.exact_to = BITS if self.kind == "flat" else MIH_TABLES * (MIH_MAX_RADIUS + 1) - 1
        self._chunks: list[np.ndarray] = []
        self._codes = np.zeros((0, BITS // 8), dtype=np.uint8)
        self._flat: Any = None
        self._mih: MultiIndexHash | None = None

    def __len__(self) -> int:
        return len(self._codes) + sum(len(c) for c in self._chunks)

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            self._chunks.append(np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, BITS // 8))
            self._flat = self._mih = None

    def build(self) -> None:
        """Build the search structure now (otherwise the first search does)."""
        if self._chunks:
            parts = ([self._codes] if len(self._codes) else []) + self._chunks
            self._codes = parts[0] if len(parts) == 1 else np.concatenate(parts)
            self._chunks = []
        if self.kind == "mih" and self._mih is None and len(self._codes):
            self._mih = MultiIndexHash(self._codes)

    @property
    def nbytes(self) -> int:
        """Memory held by the index: the hashes plus the search structure."""
        self.build()
        if self._mih is not None:
            return self._mih.nbytes
        return int(self._codes.nbytes)

    def _flat_index(self) -> Any:
        if self._flat is None:
            self._flat = faiss.IndexBinaryFlat(BITS)
            self._flat.add(self._codes)
        return self._flat

    def search(self, queries: np.ndarray, max_distance: int = MATCH_DISTANCE) -> list[Hit]:
        """Every indexed hash within ``max_distance`` of each query (exact), by query then item."""
        self.build()
        if len(queries) == 0 or len(self._codes) == 0 or max_distance < 0:
            return []
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, BITS // 8)
        if self._mih is not None and max_distance <= self._mih.exact_to:
            query, item, distance = self._mih.search(queries, max_distance)
            return [
                Hit(q, i, d)
                for q, i, d in zip(query.tolist(), item.tolist(), distance.tolist(), strict=True)
            ]
        return self._flat_search(queries, max_distance)

    def _flat_search(self, queries: np.ndarray, max_distance: int) -> list[Hit]:
        index = self._flat_index()
        threads = faiss.omp_get_max_threads()
        # faiss splits a range search by query; for a few queries the OpenMP start-up and
        # barrier cost more than they save, badly so when the cores are busy (1 query at 10^6:
        # p50 1.8 ms on one thread, 20 ms on two, measured on the 2-core bench machine)
        single = len(queries) < SINGLE_THREAD_BELOW
        if single:
            faiss.omp_set_num_threads(1)
        try:
            limits, distances, items = index.range_search(queries, max_distance + 1)
        finally:
            if single:
                faiss.omp_set_num_threads(threads)
        hits = []
        for query in range(len(queries)):
            low, high = int(limits[query]), int(limits[query + 1])
            order = np.argsort(items[low:high], kind="stable")
            for position in order.tolist():
                hits.append(Hit(query, int(items[low + position]), int(distances[low + position])))
        return hits
