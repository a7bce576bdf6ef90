"""Making a release: write the protected data, its report, its page; register it.

Every release leaves three things beside the data: ``<name>.report.json`` (what was protected,
how, and what it cost), ``<name>.html`` (the same for people, one self-contained page), and a
row in the workspace's ``releases`` table when it was made from a workspace, so the report can
list everything that was published and how.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ctip.engine import DuckDBEngine
from ctip.errors import BadInputError
from ctip.link.store import current_user
from ctip.privacy.kanon import k_anonymise, violations
from ctip.privacy.page import kanon_page, synthetic_page
from ctip.privacy.source import ReleaseSource
from ctip.privacy.synthetic import synthesise


@dataclass
class Release:
    release_id: str
    kind: str
    outputs: list[Path]
    summary: dict[str, Any]


def _write_table(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(out, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        frame.to_json(out, orient="records", lines=True, force_ascii=False)
    elif suffix in (".csv", ".gz", ""):
        frame.to_csv(out, index=False)
    else:
        raise BadInputError(f"{out}: unknown output format", hint="use .csv, .parquet or .jsonl")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(out: Path, suffix: str) -> Path:
    return out.with_name(out.name.split(".")[0] + suffix)


def release_kanon(
    source: ReleaseSource,
    quasi: Sequence[str],
    k: int,
    out: Path,
    *,
    extra: Sequence[str] = (),
    kinds: dict[str, str] | None = None,
    max_suppression: float = 0.05,
    engine: DuckDBEngine | None = None,
) -> Release:
    frame = source.frame[[*quasi, *[c for c in extra if c not in quasi]]]
    result = k_anonymise(
        frame, quasi, k, kinds=kinds, max_suppression=max_suppression, sensitive=extra
    )
    left = violations(result.released, quasi, k)
    if len(left):  # the independent check; never expected to fire
        raise BadInputError(f"internal check failed: {len(left)} combinations below k={k}")
    _write_table(result.released, out)
    release_id = "rel-" + uuid.uuid4().hex[:12]
    summary = {
        "release_id": release_id,
        "kind": "kanon",
        "source": source.description,
        "quasi_identifiers": list(quasi),
        "other_columns": [c for c in extra if c not in quasi],
        **result.summary,
        "output": str(out),
        "output_sha256": sha256_of(out),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    report, page = _sidecar(out, ".report.json"), _sidecar(out, ".html")
    report.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page.write_text(kanon_page(summary), encoding="utf-8")
    if engine is not None:
        _register(
            engine,
            summary,
            source,
            {"k": k, "quasi": list(quasi), "max_suppression": max_suppression},
            out,
            len(frame),
            len(result.released),
        )
    return Release(release_id, "kanon", [out, report, page], summary)


def release_synthetic(
    source: ReleaseSource,
    epsilon: float,
    out_dir: Path,
    *,
    reporting_length: int = 3,
    resolution: int = 10,
    delta: float | None = None,
    multi_value: Sequence[str] = (),
    fabrication: str = "balanced",
    engine: DuckDBEngine | None = None,
) -> Release:
    if epsilon <= 0:
        raise BadInputError("--epsilon must be positive")
    if reporting_length < 1 or resolution < 1:
        raise BadInputError("--reporting-length and --resolution must be at least 1")
    result = synthesise(
        source.frame,
        epsilon=epsilon,
        reporting_length=reporting_length,
        resolution=resolution,
        delta=delta,
        multi_value=multi_value,
        fabrication=fabrication,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    synthetic_path = out_dir / "synthetic_microdata.csv"
    aggregates_path = out_dir / "dp_aggregates.csv"
    result.synthetic.to_csv(synthetic_path, index=False)
    pd.DataFrame(sorted(result.aggregates.items()), columns=["combination", "count"]).to_csv(
        aggregates_path, index=False
    )
    release_id = "rel-" + uuid.uuid4().hex[:12]
    metadata = {
        "release_id": release_id,
        "kind": "synthetic",
        "method": "Synthetic Data Showcase (DP aggregate-seeded synthesis, pac-synth)",
        "source": source.description,
        "columns": list(source.frame.columns),
        "multi_value_columns": list(multi_value),
        "records_in": len(source.frame),
        "records_out": len(result.synthetic),
        "privacy": result.accounting,
        "evaluation": result.evaluation,
        "files": {
            "synthetic_microdata": synthetic_path.name,
            "dp_aggregates": aggregates_path.name,
        },
        "output_sha256": {
            synthetic_path.name: sha256_of(synthetic_path),
            aggregates_path.name: sha256_of(aggregates_path),
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata_path = out_dir / "metadata.json"
    page_path = out_dir / "release.html"
    metadata_path.write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    page_path.write_text(synthetic_page(metadata), encoding="utf-8")
    if engine is not None:
        parameters = {
            "epsilon": epsilon,
            "delta": result.accounting["delta"],
            "reporting_length": reporting_length,
            "resolution": resolution,
            "fabrication": fabrication,
        }
        _register(
            engine, metadata, source, parameters, out_dir, len(source.frame), len(result.synthetic)
        )
    return Release(
        release_id,
        "synthetic",
        [synthetic_path, aggregates_path, metadata_path, page_path],
        metadata,
    )


def _register(
    engine: DuckDBEngine,
    summary: dict[str, Any],
    source: ReleaseSource,
    parameters: dict[str, Any],
    out: Path,
    records_in: int,
    records_out: int,
) -> None:
    sha = summary.get("output_sha256")
    engine.sql(
        "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            summary["release_id"],
            summary["kind"],
            datetime.now(UTC),
            current_user(),
            source.description,
            json.dumps(parameters),
            str(out),
            sha if isinstance(sha, str) else json.dumps(sha),
            records_in,
            records_out,
            json.dumps(summary, ensure_ascii=False, default=str),
        ],
    )


def list_releases(engine: DuckDBEngine) -> list[dict[str, Any]]:
    return engine.records(
        "SELECT release_id, kind, created_at, created_by, source, parameters, output_path,"
        " records_in, records_out FROM releases ORDER BY created_at DESC"
    )


def release_summaries(engine: DuckDBEngine, limit: int = 10) -> list[dict[str, Any]]:
    rows = engine.records("SELECT summary FROM releases ORDER BY created_at DESC LIMIT ?", [limit])
    return [json.loads(r["summary"]) for r in rows]
