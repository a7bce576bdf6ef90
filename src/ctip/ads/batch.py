"""The Python-heavy ads steps as functions over Arrow record batches.

These are what ``Engine.map_arrow`` runs: streamed in process on DuckDB (the workspace, a
file, a Parquet job) and with ``mapInArrow`` on Spark executors. Each one wraps the per-ad
function the rest of CTIP uses (``extract_identifiers``, ``screen``, ``MinHashLSH``), so the
workspace, ``--input FILE`` and Spark give the same answers by construction.

Spark pickles the function it ships to executors, so every function here is module-level and
takes its settings as keyword arguments bound with ``functools.partial``. Results that keep
the JSON-lines contract (evidence spans, indicator lists) are JSON strings; values later SQL
works on (identifier kind and value, flag code) are also given as lists of structs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from ctip.ads.cluster import MinHashLSH, Tokenizer, agreement
from ctip.ads.extract import KINDS, extract_identifiers
from ctip.ads.indicators import Catalogue, screen

# The columns each step reads; SQL that feeds these functions selects exactly these.
EXTRACT_COLUMNS = ("ad_key", "id", "title", "body", "url", "site", "location", "age")
SCREEN_COLUMNS = ("ad_key", "id", "title", "body", "age")
SIGN_COLUMNS = ("ad_key", "id", "title", "body")

SINGULAR = {"phones": "phone", "emails": "email", "handles": "handle", "urls": "url",
            "crypto": "wallet", "prices": "price", "ages": "age"}  # fmt: skip

IDENTIFIER = pa.struct(
    [(n, pa.string()) for n in ("kind", "value", "detail", "field")]
    + [("start_pos", pa.int32()), ("end_pos", pa.int32()), ("evidence", pa.string())]
)
EXTRACTED_SCHEMA = pa.schema(
    [("ad_key", pa.string()), ("id", pa.string())]
    + [(kind, pa.string()) for kind in KINDS]
    + [("identifiers", pa.list_(IDENTIFIER))]
)
FLAG = pa.struct(
    [("code", pa.string()), ("weight", pa.float64()), ("evidence", pa.string()),
     ("decision", pa.string())]
)  # fmt: skip
SCREENED_SCHEMA = pa.schema(
    [
        ("ad_key", pa.string()),
        ("id", pa.string()),
        ("score", pa.float64()),
        ("catalogue_version", pa.string()),
        ("indicators", pa.string()),
        ("flags", pa.list_(FLAG)),
    ]
)
SIGNED_SCHEMA = pa.schema(
    [
        ("ad_key", pa.string()),
        ("id", pa.string()),
        ("signature", pa.list_(pa.int32())),
        ("band_keys", pa.list_(pa.int64())),
    ]
)
VERIFIED_SCHEMA = pa.schema(
    [("left_key", pa.string()), ("right_key", pa.string()), ("similarity", pa.float64())]
)


SLICE = 10_000


def _slices(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """At most ``SLICE`` rows at a time: DuckDB hands over very large batches, and each row
    becomes Python objects here."""
    for batch in batches:
        for start in range(0, batch.num_rows, SLICE):
            yield batch.slice(start, SLICE)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def extract_batches(
    batches: Iterator[pa.RecordBatch], *, region: str = "US"
) -> Iterator[pa.RecordBatch]:
    """``extract_identifiers`` per ad: one JSON column per kind plus every sighting as a row."""
    for batch in _slices(batches):
        columns: dict[str, list[Any]] = {name: [] for name in EXTRACTED_SCHEMA.names}
        for ad in batch.to_pylist():
            extraction = extract_identifiers(ad, region=region)
            columns["ad_key"].append(ad["ad_key"])
            columns["id"].append(ad["id"])
            sightings = []
            for kind in KINDS:
                found_all = getattr(extraction, kind)
                columns[kind].append(_json([found.as_dict() for found in found_all]))
                for found in found_all:
                    detail = found.detail.get("currency") or found.detail.get("platform")
                    for evidence in found.evidence:
                        sightings.append(
                            {"kind": SINGULAR[kind], "value": found.value, "detail": detail,
                             "field": evidence.field, "start_pos": evidence.start,
                             "end_pos": evidence.end, "evidence": evidence.text}
                        )  # fmt: skip
            columns["identifiers"].append(sightings)
        yield pa.RecordBatch.from_pydict(columns, schema=EXTRACTED_SCHEMA)


def screen_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    catalogue: Catalogue,
    rejected: Mapping[str, frozenset[str]] | None = None,
    confirmed: frozenset[tuple[str, str]] = frozenset(),
) -> Iterator[pa.RecordBatch]:
    """``screen`` per ad. ``rejected`` (ad key -> codes) and ``confirmed`` ((key, code) pairs)
    are the analyst's flag decisions; Parquet jobs have none, the workspace passes its own."""
    rejected = rejected or {}
    for batch in _slices(batches):
        columns: dict[str, list[Any]] = {name: [] for name in SCREENED_SCHEMA.names}
        for ad in batch.to_pylist():
            key = ad["ad_key"]
            result = screen(ad, catalogue=catalogue, suppressed=rejected.get(key, frozenset()))
            items = []
            flags = []
            for flag in result.flags:
                decision = "confirmed" if (key, flag.code) in confirmed else None
                item = {**flag.as_dict(), "decision": decision}
                items.append(item)
                flags.append(
                    {"code": flag.code, "weight": flag.weight,
                     "evidence": _json(item["evidence"]), "decision": decision}
                )  # fmt: skip
            columns["ad_key"].append(key)
            columns["id"].append(ad["id"])
            columns["score"].append(result.score)
            columns["catalogue_version"].append(catalogue.version)
            columns["indicators"].append(_json(items))
            columns["flags"].append(flags)
        yield pa.RecordBatch.from_pydict(columns, schema=SCREENED_SCHEMA)


def _fixed_lists(matrix: np.ndarray, item: pa.DataType) -> pa.ListArray:
    """An (n, k) matrix as an Arrow list column of n lists of k values, without copying rows."""
    n, width = matrix.shape
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width, pa.int32())
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1), item))


def sign_batches(batches: Iterator[pa.RecordBatch], *, lsh: MinHashLSH) -> Iterator[pa.RecordBatch]:
    """MinHash signature and LSH band keys of each ad's title and body.

    Unsigned values travel as signed integers of the same width (Spark has no unsigned types);
    only equality is ever asked of them, which the bit pattern keeps.
    """
    tokenizer = Tokenizer()
    for batch in _slices(batches):
        titles = batch.column("title").to_pylist()
        bodies = batch.column("body").to_pylist()
        texts = [f"{t or ''}\n{b or ''}" for t, b in zip(titles, bodies, strict=True)]
        tokens, offsets = tokenizer.corpus(texts)
        signature = lsh.signatures(tokens, offsets)
        keys = lsh.band_keys(signature)
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("ad_key").cast(pa.string()),
                batch.column("id").cast(pa.string()),
                _fixed_lists(signature.view(np.int32), pa.int32()),
                _fixed_lists(keys.view(np.int64), pa.int64()),
            ],
            schema=SIGNED_SCHEMA,
        )


def _matrix(column: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values: np.ndarray = column.flatten().to_numpy(zero_copy_only=False)
    return values.reshape(-1, width)


def verify_batches(batches: Iterator[pa.RecordBatch], *, bins: int) -> Iterator[pa.RecordBatch]:
    """Estimated Jaccard similarity of candidate pairs from their two signatures."""
    for batch in batches:
        similarity = agreement(
            _matrix(batch.column("left_signature"), bins),
            _matrix(batch.column("right_signature"), bins),
        )
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("left_key").cast(pa.string()),
                batch.column("right_key").cast(pa.string()),
                pa.array(similarity, pa.float64()),
            ],
            schema=VERIFIED_SCHEMA,
        )
