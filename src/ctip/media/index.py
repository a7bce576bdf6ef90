"""A Hamming-distance index over 256-bit PDQ hashes (faiss binary indexes).

Two structures, chosen by size and measured in bench/media.py:

- ``flat``: an exact linear scan with hardware popcount; no build time, memory 32 bytes per
  hash. Best up to a few million hashes.
- ``mih``: multi-index hashing (Norouzi et al.): the 256 bits are cut into 8 substrings of 32;
  by the pigeonhole principle any hash within distance 31 agrees with the query on some
  substring within 3 bits, so probing every substring bucket within 3 flips finds *all*
  matches (exact, not approximate) while touching a tiny part of the data. Slower to build,
  much faster to query at 10^7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from ctip.media.hashing import MATCH_DISTANCE

BITS = 256
MIH_TABLES = 8
MIH_THRESHOLD = 2_000_000  # above this many hashes, multi-index hashing pays for its build


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


class HashIndex:
    def __init__(self, kind: str | None = None, expected_size: int = 0) -> None:
        self.kind = kind or ("mih" if expected_size > MIH_THRESHOLD else "flat")
        self.exact_to = 256
        self._index: Any
        if self.kind == "flat":
            self._index = faiss.IndexBinaryFlat(BITS)
        elif self.kind == "mih":
            index = faiss.IndexBinaryMultiHash(BITS, MIH_TABLES, BITS // MIH_TABLES)
            index.nflip = MATCH_DISTANCE // MIH_TABLES  # 3 flips per 32-bit substring: exact to 31
            self.exact_to = MIH_TABLES * (index.nflip + 1) - 1
            self._index = index
        else:
            raise ValueError(f"unknown index kind {kind}")

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            self._index.add(np.ascontiguousarray(hashes, dtype=np.uint8))

    def search(self, queries: np.ndarray, max_distance: int = MATCH_DISTANCE) -> list[Hit]:
        """Every indexed hash within ``max_distance`` of each query (exact)."""
        if len(queries) == 0 or len(self) == 0:
            return []
        if self.kind == "mih" and max_distance > MIH_TABLES * (self._index.nflip + 1) - 1:
            raise ValueError(
                f"this index is exact only up to distance {MIH_TABLES * (self._index.nflip + 1) - 1}"
            )
        limits, distances, items = self._index.range_search(
            np.ascontiguousarray(queries, dtype=np.uint8), max_distance + 1
        )
        hits = []
        for query in range(len(queries)):
            for position in range(int(limits[query]), int(limits[query + 1])):
                hits.append(Hit(query, int(items[position]), int(distances[position])))
        return hits

    def save(self, path: str) -> None:
        faiss.write_index_binary(self._index, path)
