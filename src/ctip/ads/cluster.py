"""Near-duplicate and template clustering of ads, vectorised to a million ads.

Ads from one operator are reposts of a template with different slot values (name, age, city,
price, phone), so their word shingles overlap heavily while unrelated ads share few. The
clusterer estimates that overlap (Jaccard similarity of word 3-shingles) with MinHash and finds
candidate pairs with locality-sensitive hashing, as InfoShield-coarse and the Memex tools do,
but computes everything over numpy arrays rather than one Python object per ad:

- text: folded (``normalize``), words only, every number replaced by ``#`` so phones, prices
  and ages act as slots rather than content; each word becomes a stable 64-bit hash, so an
  ad's signature is the same whichever batch, process or Spark executor computes it;
- signatures: *one permutation hashing* with optimal densification (Li, Owen & Zhang 2012;
  Shrivastava 2017): each shingle is hashed once (splitmix64), its top bits pick one of ``k``
  bins and each bin keeps its minimum, which estimates Jaccard like ``k`` independent MinHash
  permutations at the cost of one;
- candidates: ``bands`` x ``rows`` banding; ads sharing a band key are sorted together and each
  neighbouring pair becomes a candidate;
- verification: a candidate pair is kept when its signatures agree on at least ``threshold``
  of the bins (the estimated Jaccard); clusters are the connected components of kept pairs.

The workspace and the Parquet jobs run these steps as stages (``ctip.ads.pipeline``): the
signatures in Arrow batches, the band buckets and neighbour pairs in SQL.

``DatasketchClusterer`` does the same with ``datasketch.MinHash`` + ``MinHashLSH`` (one Python
object per ad) and exists to compare against in ``bench/ads.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ctip.ads.normalize import fold

WORD = re.compile(r"[a-z]+|[0-9]+")
NUMBER_TOKEN = 1  # id of "#"
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """A fast, well-mixed 64-bit hash of uint64 values (Steele, Lea & Flood 2014)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def word_id(word: str) -> int:
    """A stable 64-bit id for a word (BLAKE2b), the same in every process and every batch.

    Ids must not depend on which other texts were read first: on Spark each executor signs its
    own partition, and a per-corpus vocabulary would give the same word different ids there.
    """
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


class Tokenizer:
    """Words to stable integer ids (numbers all become ``#``); ids are cached per tokenizer."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {"": 0, "#": NUMBER_TOKEN}

    def ids(self, text: str, *, folded: bool = False) -> list[int]:
        vocabulary = self.vocabulary
        out: list[int] = []
        for word in WORD.findall(text if folded else fold(text)):
            if word[0].isdigit():
                out.append(NUMBER_TOKEN)
                continue
            known = vocabulary.get(word)
            if known is None:
                known = vocabulary[word] = word_id(word)
            out.append(known)
        return out

    def corpus(
        self, texts: Sequence[str], *, folded: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(token ids of all texts concatenated, offsets with one entry per text plus one)."""
        lengths = np.zeros(len(texts) + 1, dtype=np.int64)
        chunks: list[int] = []
        for index, text in enumerate(texts):
            ids = self.ids(text, folded=folded)
            chunks.extend(ids)
            lengths[index + 1] = len(ids)
        return np.asarray(chunks, dtype=np.uint64), np.cumsum(lengths)


@dataclass
class MinHashLSH:
    """Vectorised one-permutation MinHash + LSH; see the module docstring."""

    bins: int = 64
    bands: int = 16
    shingle: int = 3
    threshold: float = 0.5
    seed: int = 1

    def __post_init__(self) -> None:
        if self.bins % self.bands or self.bins & (self.bins - 1):
            raise ValueError("bins must be a power of two and a multiple of bands")

    def signatures(self, tokens: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(n, bins) uint32 signatures from concatenated token ids."""
        n = len(offsets) - 1
        doc_of_token = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
        k = self.shingle
        if len(tokens) >= k:
            salt = np.uint64(self.seed * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF)
            mixed = splitmix64(tokens[: len(tokens) - k + 1] ^ salt)
            for step in range(1, k):
                part = splitmix64(tokens[step : len(tokens) - k + 1 + step] + np.uint64(step))
                mixed = splitmix64(mixed ^ part)
            same_doc = doc_of_token[: len(tokens) - k + 1] == doc_of_token[k - 1 :]
            hashes = mixed[same_doc]
            docs = doc_of_token[: len(tokens) - k + 1][same_doc]
        else:
            hashes = np.zeros(0, dtype=np.uint64)
            docs = np.zeros(0, dtype=np.int64)
        # short texts (fewer than k words): hash their words as one shingle
        short = np.flatnonzero(np.diff(offsets) < k)
        if len(short):
            extra_docs, extra_hashes = self._short(tokens, offsets, short)
            hashes = np.concatenate([hashes, extra_hashes])
            docs = np.concatenate([docs, extra_docs])
        bits = int(self.bins).bit_length() - 1
        bin_of = (hashes >> np.uint64(64 - bits)).astype(np.int64)
        value = (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        empty = np.uint32(0xFFFFFFFF)
        signature = np.full((n, self.bins), empty, dtype=np.uint32)
        np.minimum.at(signature, (docs, bin_of), value)
        return self._densify(signature, empty)

    def _short(
        self, tokens: np.ndarray, offsets: np.ndarray, short: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        docs, values = [], []
        for doc in short:
            words = tokens[offsets[doc] : offsets[doc + 1]]
            if len(words):
                combined = np.uint64(0)
                for word in words:
                    combined = splitmix64(np.asarray([combined ^ word], dtype=np.uint64))[0]
                docs.append(doc)
                values.append(combined)
        return np.asarray(docs, dtype=np.int64), np.asarray(values, dtype=np.uint64)

    def _densify(self, signature: np.ndarray, empty: np.uint32) -> np.ndarray:
        """Optimal densification: an empty bin borrows from a bin chosen by a fixed hash of
        (bin, attempt), the same for every ad, so similar ads borrow alike. Works on the list
        of empty (ad, bin) cells, which shrinks quickly."""
        filled = signature != empty
        rows, bins = np.nonzero(~filled & filled.any(axis=1)[:, None])
        if len(rows) == 0:
            return signature
        result = signature.copy()
        attempts = 8 * self.bins
        table = (
            (
                splitmix64(
                    np.arange(self.bins * attempts, dtype=np.uint64) + np.uint64(self.seed << 32)
                )
                % np.uint64(self.bins)
            )
            .astype(np.int64)
            .reshape(self.bins, attempts)
        )
        for attempt in range(attempts):
            if len(rows) == 0:
                break
            source = table[bins, attempt]
            found = filled[rows, source]
            result[rows[found], bins[found]] = signature[rows[found], source[found]]
            rows, bins = rows[~found], bins[~found]
        return result

    def band_keys(self, signature: np.ndarray) -> np.ndarray:
        """(n, bands) uint64 keys: ads with equal keys in a band agree on that band's rows.

        Each band's key starts from the band number, so keys of different bands never meet.
        """
        n = signature.shape[0]
        rows = self.bins // self.bands
        keys = np.empty((n, self.bands), dtype=np.uint64)
        for band in range(self.bands):
            block = signature[:, band * rows : (band + 1) * rows].astype(np.uint64)
            key = np.full(n, np.uint64(band), dtype=np.uint64)
            for column in range(rows):
                key = splitmix64(key ^ block[:, column])
            keys[:, band] = key
        return keys

    def candidate_pairs(self, signature: np.ndarray) -> np.ndarray:
        """(m, 2) index pairs of ads sharing a band, neighbours after sorting by band key.

        Pairing neighbours rather than every two ads in a bucket keeps the work linear: a
        bucket of ``m`` ads gives ``m - 1`` chained pairs, which connect it just as well once
        verified. The batch jobs do the same in SQL (``ctip.ads.pipeline``).
        """
        keys = self.band_keys(signature)
        pairs = []
        for band in range(self.bands):
            key = keys[:, band]
            order = np.argsort(key, kind="stable")
            ordered = key[order]
            same = np.flatnonzero(ordered[1:] == ordered[:-1])
            if len(same):
                pairs.append(np.stack([order[same], order[same + 1]], axis=1))
        if not pairs:
            return np.zeros((0, 2), dtype=np.int64)
        unique: np.ndarray = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
        return unique

    def similarity(self, signature: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Estimated Jaccard similarity of each pair: the share of bins that agree."""
        if len(pairs) == 0:
            return np.zeros(0)
        agree = np.zeros(len(pairs))
        step = 200_000
        for start in range(0, len(pairs), step):
            chunk = pairs[start : start + step]
            agree[start : start + step] = agreement(signature[chunk[:, 0]], signature[chunk[:, 1]])
        return agree

    def cluster(self, tokens: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, signatures): component labels 0..c-1 of the verified pair graph."""
        signature = self.signatures(tokens, offsets)
        pairs = self.candidate_pairs(signature)
        kept = pairs[self.similarity(signature, pairs) >= self.threshold]
        return components(len(offsets) - 1, kept), signature


def agreement(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per row, the share of signature bins on which ``left`` and ``right`` agree."""
    share: np.ndarray = (left == right).mean(axis=1)
    return share


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component labels of ``n`` nodes joined by ``pairs``."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    result: np.ndarray = labels.astype(np.int64)
    return result


def cluster_texts(
    texts: Sequence[str], *, threshold: float = 0.5, bins: int = 64, bands: int = 16
) -> np.ndarray:
    """Cluster labels for ``texts`` (same label = same template or near-duplicate)."""
    tokens, offsets = Tokenizer().corpus(texts)
    labels, _ = MinHashLSH(bins=bins, bands=bands, threshold=threshold).cluster(tokens, offsets)
    return labels


class DatasketchClusterer:
    """The same pipeline with datasketch's MinHash and MinHashLSH, for comparison."""

    def __init__(self, num_perm: int = 64, threshold: float = 0.5, shingle: int = 3) -> None:
        self.num_perm = num_perm
        self.threshold = threshold
        self.shingle = shingle

    def cluster(self, texts: Sequence[str]) -> np.ndarray:
        from datasketch import MinHash
        from datasketch import MinHashLSH as DatasketchLSH

        lsh = DatasketchLSH(threshold=self.threshold, num_perm=self.num_perm)
        pairs: list[tuple[int, int]] = []
        for index, text in enumerate(texts):
            words = ["#" if w[0].isdigit() else w for w in WORD.findall(fold(text))]
            shingles = {
                " ".join(words[i : i + self.shingle]).encode()
                for i in range(max(1, len(words) - self.shingle + 1))
            }
            signature = MinHash(num_perm=self.num_perm, seed=1)
            signature.update_batch(list(shingles))
            for other in lsh.query(signature):
                pairs.append((int(other), index))
            lsh.insert(index, signature)
        array = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        return components(len(texts), array)
