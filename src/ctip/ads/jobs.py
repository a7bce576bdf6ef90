"""The ads steps as Parquet jobs on DuckDB or Spark: ``ctip ads ... --input ADS.parquet --output DIR``.

Each command runs the stages of ``ctip.ads.pipeline`` into ``DIR/<stage>``. Stages are grouped
by what they depend on (extraction on the region, clustering on the MinHash settings, networks
on both plus their own options), each group with its own fingerprint, so ``ads networks`` run
after ``ads extract`` and ``ads cluster`` into the same folder reuses their stages, and a rerun
after a failure resumes at the stage that failed.

The input is a Parquet file or dataset folder with an ``id`` column (unique, not null) and
any of ``title, body, url, site, location, age, posted_at, images`` (``images`` a list of
strings); an ``ad_key`` column, when present, is used as the key instead of ``id``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctip.ads.cluster import MinHashLSH
from ctip.ads.indicators import Catalogue, load_catalogue
from ctip.ads.networks import LINK_KINDS
from ctip.ads.pipeline import (
    cluster_stages,
    extract_stage,
    links_sql,
    network_summary_sql,
    networks_stage,
    screen_stage,
)
from ctip.engine.base import Engine
from ctip.engine.jobs import ParquetJob, start_job
from ctip.errors import BadInputError
from ctip.progress import Progress

INPUT_VIEW = "ads_input"
ADS_VIEW = "ads"
EXTRACTOR_VERSION = "1"
CLUSTER_VERSION = "minhash-oph-2"
TEXT_COLUMNS = ("title", "body", "url", "site", "location")


def define_ads_view(engine: Engine, source: str = INPUT_VIEW, view: str = ADS_VIEW) -> None:
    """The ``ads`` view every stage reads, from whatever columns the input has.

    Missing optional columns become NULL, so a file with only ``id`` and ``body`` works; a
    missing ``id``, a key that is null or repeated, or ``images`` that is not a list stops the
    job before any stage runs, since keys join every later stage.
    """
    schema = engine.to_arrow(f"SELECT * FROM {source} LIMIT 0").schema
    names = set(schema.names)
    if "id" not in names:
        raise BadInputError(
            f"the input has no 'id' column (it has: {', '.join(schema.names)})",
            hint="a Parquet job needs one row per ad with a unique 'id'",
        )
    key = "ad_key" if "ad_key" in names else "id"
    parts = [f"CAST({key} AS VARCHAR) AS ad_key", "CAST(id AS VARCHAR) AS id"]
    for name in TEXT_COLUMNS:
        parts.append(
            f"CAST({name} AS VARCHAR) AS {name}"
            if name in names
            else f"CAST(NULL AS VARCHAR) AS {name}"
        )
    parts.append(
        "CAST(age AS VARCHAR) AS age" if "age" in names else "CAST(NULL AS VARCHAR) AS age"
    )
    parts.append("posted_at" if "posted_at" in names else "CAST(NULL AS TIMESTAMP) AS posted_at")
    if "images" in names:
        kind = schema.field("images").type
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
            raise BadInputError(
                f"the input's 'images' column is {kind}, not a list",
                hint="write images as a list of strings, or leave the column out",
            )
        parts.append("CAST(images AS VARCHAR[]) AS images")
    else:
        parts.append("CAST(NULL AS VARCHAR[]) AS images")
    engine.sql(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {', '.join(parts)} FROM {source}")
    total, distinct, present = engine.rows(
        f"SELECT count(*), count(DISTINCT ad_key), count(ad_key) FROM {view}"
    )[0]
    if present < total or distinct < total:
        raise BadInputError(
            f"the input's '{key}' column has {total - present:,} empty and"
            f" {present - distinct:,} repeated values",
            hint=f"every ad needs its own '{key}'; stages join on it",
        )


@dataclass
class AdsJob:
    """The stage groups of one command over one input and output folder."""

    engine: Engine
    input_path: Path
    output: Path
    progress: Progress | None = None
    jobs: list[ParquetJob] = field(default_factory=list)
    _ready: bool = False

    def group(self, parameters: dict[str, Any]) -> ParquetJob:
        """A job whose stages are reused only while the input and ``parameters`` are the same."""
        job = start_job(
            self.engine, {INPUT_VIEW: str(self.input_path)}, self.output, parameters, self.progress
        )
        if not self._ready:
            define_ads_view(self.engine)
            self._ready = True
        self.jobs.append(job)
        return job

    def summary(self) -> dict[str, Any]:
        stages = [s for job in self.jobs for s in job.summary()["stages"]]
        return {"engine": self.engine.name, "output": str(self.output), "stages": stages}


def _extract_group(job: AdsJob, region: str) -> str:
    group = job.group({"step": "ads-extract", "region": region, "version": EXTRACTOR_VERSION})
    return extract_stage(group, ADS_VIEW, region=region)


def _cluster_group(job: AdsJob, lsh: MinHashLSH) -> str:
    group = job.group({"step": "ads-cluster", **_lsh_parameters(lsh)})
    return cluster_stages(group, ADS_VIEW, lsh=lsh)


def _lsh_parameters(lsh: MinHashLSH) -> dict[str, Any]:
    return {
        "version": CLUSTER_VERSION,
        "threshold": lsh.threshold,
        "bins": lsh.bins,
        "bands": lsh.bands,
        "shingle": lsh.shingle,
        "seed": lsh.seed,
    }


def catalogue_digest(catalogue: Catalogue) -> str:
    """What the screening depends on, so an edited catalogue file reruns the stage."""
    content = [
        (i.code, i.weight, i.applies_to, i.pattern.pattern if i.pattern else None, dict(i.checks))
        for i in catalogue.indicators
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def extract_job(
    engine: Engine,
    input_path: Path,
    output: Path,
    *,
    region: str = "US",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stage ``extracted``: identifiers with evidence per ad."""
    job = AdsJob(engine, input_path, output, progress)
    _extract_group(job, region)
    return job.summary()


def screen_job(
    engine: Engine,
    input_path: Path,
    output: Path,
    *,
    catalogue: Catalogue | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stage ``screened``: indicator score, indicators and flags per ad."""
    catalogue = catalogue or load_catalogue()
    job = AdsJob(engine, input_path, output, progress)
    group = job.group(
        {
            "step": "ads-screen",
            "catalogue": catalogue.version,
            "digest": catalogue_digest(catalogue),
        }
    )
    screen_stage(group, ADS_VIEW, catalogue=catalogue)
    return job.summary()


def cluster_job(
    engine: Engine,
    input_path: Path,
    output: Path,
    *,
    threshold: float = 0.5,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stages ``signatures``, ``candidates``, ``pairs``, ``clusters`` (ad -> cluster id)."""
    job = AdsJob(engine, input_path, output, progress)
    _cluster_group(job, MinHashLSH(threshold=threshold))
    return job.summary()


def networks_job(
    engine: Engine,
    input_path: Path,
    output: Path,
    *,
    kinds: Sequence[str] = LINK_KINDS,
    region: str = "US",
    threshold: float = 0.5,
    max_size: int = 5000,
    min_size: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Extraction and clustering (reused when done), then ``links``, ``networks`` (ad ->
    network and component) and ``network_summary`` (one row per network of ``min_size``+)."""
    unknown = [k for k in kinds if k not in LINK_KINDS]
    if unknown:
        raise BadInputError(f"unknown link kind '{unknown[0]}'", hint=", ".join(LINK_KINDS))
    lsh = MinHashLSH(threshold=threshold)
    job = AdsJob(engine, input_path, output, progress)
    extracted = _extract_group(job, region)
    clusters = _cluster_group(job, lsh)
    group = job.group(
        {"step": "ads-networks", "region": region, **_lsh_parameters(lsh),
         "kinds": sorted(kinds), "max_size": max_size, "min_size": min_size}
    )  # fmt: skip
    identifiers = (
        "SELECT ad_key, i.kind AS kind, i.value AS value"
        f" FROM (SELECT ad_key, unnest(identifiers) AS i FROM {extracted})"
    )
    links = group.stage(
        "links",
        lambda: links_sql(identifiers, ADS_VIEW, clusters, kinds),
        partition_by=["kind"],
    )
    networks = networks_stage(group, links, ADS_VIEW, max_size=max_size)
    group.stage(
        "network_summary",
        lambda: network_summary_sql(networks, links, ADS_VIEW, min_size=min_size),
    )
    return job.summary()
