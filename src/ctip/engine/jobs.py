"""Batch jobs over Parquet datasets, stage by stage, on either engine.

A scale-out job (``ctip ads cluster --input ads.parquet --output DIR --engine spark``) reads
Parquet, runs named stages and writes each stage's result as a Parquet dataset folder under
``DIR/<stage>``. A stage that finished leaves a ``_ctip_stage.json`` marker written after its
data; a rerun of the same job with the same input skips finished stages and re-registers their
output, so a job that failed in stage three resumes at stage three instead of starting over.
The marker records the input's fingerprint (paths, sizes and modification times) and the job's
parameters: a changed input or parameter reruns everything rather than mixing old and new.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctip.engine.base import Engine
from ctip.errors import BadInputError
from ctip.progress import Progress, SilentProgress

MARKER = "_ctip_stage.json"


def input_fingerprint(paths: Sequence[str], parameters: Mapping[str, Any]) -> str:
    """A digest of the inputs' files (name, size, mtime) and the job's parameters."""
    digest = hashlib.sha256(json.dumps(dict(parameters), sort_keys=True, default=str).encode())
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise BadInputError(
                f"{raw}: no such Parquet file or folder", hint="check the --input path"
            )
        files = sorted(p for p in path.rglob("*.parquet")) if path.is_dir() else [path]
        if not files:
            raise BadInputError(
                f"{raw}: the folder holds no .parquet files", hint="point --input at a dataset"
            )
        for file in files:
            stat = file.stat()
            digest.update(f"{file}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


@dataclass
class StageResult:
    name: str
    rows: int
    seconds: float
    resumed: bool


@dataclass
class ParquetJob:
    """Runs the stages of one job into ``output``; see the module docstring for resuming."""

    engine: Engine
    output: Path
    fingerprint: str
    progress: Progress = field(default_factory=SilentProgress)
    results: list[StageResult] = field(default_factory=list)

    def stage(
        self,
        name: str,
        build: Callable[[], str],
        *,
        partition_by: Sequence[str] = (),
    ) -> str:
        """Run one stage unless an earlier run finished it; register its output as ``name``.

        ``build`` prepares whatever the stage needs (views, Arrow batch functions) and returns
        the SQL whose result is the stage's output. Returns the view name for later stages.
        """
        folder = self.output / name
        marker = folder / MARKER
        if marker.exists():
            recorded = json.loads(marker.read_text(encoding="utf-8"))
            if recorded.get("fingerprint") == self.fingerprint:
                self.engine.register_parquet(name, str(folder))
                self.results.append(StageResult(name, int(recorded["rows"]), 0.0, True))
                self.progress.step(f"stage {name}: already done, reused {folder}")
                return name
        if folder.exists():
            shutil.rmtree(folder)
        self.progress.step(f"stage {name}: running on {self.engine.name}")
        started = time.perf_counter()
        query = build()
        rows = self.engine.write_parquet(query, str(folder), partition_by)
        seconds = time.perf_counter() - started
        marker.write_text(
            json.dumps({"fingerprint": self.fingerprint, "rows": rows, "engine": self.engine.name}),
            encoding="utf-8",
        )
        self.engine.register_parquet(name, str(folder))
        self.results.append(StageResult(name, rows, seconds, False))
        self.progress.step(f"stage {name}: {rows:,} rows in {seconds:.1f} s")
        return name

    def summary(self) -> dict[str, Any]:
        """What ran, for the command's report."""
        return {
            "engine": self.engine.name,
            "output": str(self.output),
            "stages": [
                {
                    "stage": r.name,
                    "rows": r.rows,
                    "seconds": round(r.seconds, 3),
                    "resumed": r.resumed,
                }
                for r in self.results
            ],
        }


def start_job(
    engine: Engine,
    inputs: Mapping[str, str],
    output: Path,
    parameters: Mapping[str, Any],
    progress: Progress | None = None,
) -> ParquetJob:
    """Register each input Parquet path under its name and return the job for ``output``."""
    fingerprint = input_fingerprint(list(inputs.values()), parameters)
    for name, path in inputs.items():
        engine.register_parquet(name, path)
    output.mkdir(parents=True, exist_ok=True)
    return ParquetJob(engine, output, fingerprint, progress or SilentProgress())
