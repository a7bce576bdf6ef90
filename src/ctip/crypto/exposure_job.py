"""Exposure as a Parquet job: ``ctip crypto exposure --input TXIO --seeds FILE --output DIR``.

The same walk as ``ctip crypto exposure`` on the workspace (the SQL in ``ctip.crypto.exposure``)
over the flat input/output table of ``ctip.crypto.cluster_job``, on DuckDB or Spark, one stage
per step so a failed run resumes at the step that failed, mid-walk included:

- ``flows`` (``source, target, value``): value from each input address to each output address
  of a transaction, in proportion (the haircut rule), self-flows left out;
- ``nodes`` (``node, sent, received, seed``) and ``links`` (each flow seen from both ends, with
  the shares of the node's flows, receipts and payments it carries);
- ``hop_01`` ... ``hop_NN`` (``node, x_any, x_in, x_out``): the walk after each hop;
- ``scores`` and ``exposure`` (``address, score, score_in, score_out, exposed_received,
  exposed_sent``; with ``--level cluster`` also ``cluster``): every address that scores above
  zero, seeds left out.

Seeds are address strings as the input spells them (a text, CSV or TagPack file, as for the
workspace command); ``cluster:ID`` entries mean nothing here. ``--level cluster`` walks between
clusters instead: ``--clusters`` names the ``clusters`` dataset of a clustering job
(``address, cluster``), and each address gets its cluster's scores.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctip.crypto.cluster_job import check_txio
from ctip.crypto.exposure import check_walk, exposure_walk, flows_sql
from ctip.crypto.lookup import seed_entries
from ctip.engine.base import Engine
from ctip.engine.jobs import start_job
from ctip.errors import BadInputError, NotFoundError
from ctip.progress import Progress

JOB_VERSION = 1  # bump when a stage's SQL changes, so old stage outputs are not reused


def _txio_side(direction: str, clustered: bool) -> str:
    if clustered:
        return (
            "SELECT t.tx AS tx_id, c.cluster AS node, t.value FROM txio t"
            f" JOIN clusters c ON c.address = t.address WHERE lower(t.direction) = '{direction}'"
            " AND t.value > 0"
        )
    return (
        "SELECT tx AS tx_id, address AS node, value FROM txio"
        f" WHERE lower(direction) = '{direction}' AND address IS NOT NULL AND value > 0"
    )


def exposure_job(
    engine: Engine,
    txio: Path,
    seeds: Path,
    output: Path,
    *,
    hops: int = 3,
    decay: float = 0.5,
    level: str = "address",
    clusters: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score the addresses of ``txio`` by their exposure to ``seeds`` into ``output``; return
    the run's figures and stages."""
    check_walk(hops, decay)
    if level not in ("address", "cluster"):
        raise BadInputError(f"unknown level '{level}'", hint="use address or cluster")
    if (level == "cluster") != (clusters is not None):
        raise BadInputError(
            "--level cluster goes with --clusters",
            hint="--clusters DIR/clusters: the clusters of 'ctip crypto cluster --input ...'",
        )
    addresses = sorted({text for text, _ in seed_entries(seeds)})
    if not addresses:
        raise BadInputError(f"{seeds} lists no seed address")
    inputs = {"txio": str(txio)}
    if clusters is not None:
        inputs["clusters"] = str(clusters)
    settings = {
        "job": "crypto-exposure",
        "version": JOB_VERSION,
        "hops": hops,
        "decay": decay,
        "level": level,
        "seeds": hashlib.sha256("\n".join(addresses).encode()).hexdigest(),
    }
    job = start_job(engine, inputs, output, settings, progress)
    check_txio(engine)
    engine.register("seed_addresses", pa.table({"address": pa.array(addresses, pa.string())}))
    seed_view = (
        "(SELECT DISTINCT c.cluster AS node FROM clusters c"
        " JOIN seed_addresses s ON s.address = c.address)"
        if clusters is not None
        else "(SELECT address AS node FROM seed_addresses)"
    )
    clustered = clusters is not None
    flows = job.stage(
        "flows",
        lambda: flows_sql(utxo=(_txio_side("in", clustered), _txio_side("out", clustered))),
    )

    def check_seeds(nodes: str) -> None:
        if not engine.scalar(f"SELECT count(*) FROM {nodes} WHERE seed > 0"):
            raise NotFoundError(
                f"none of the {len(addresses)} seeds in {seeds} has a flow in {txio}",
                hint="seeds are matched to the input's address strings as written",
            )

    scores = exposure_walk(
        job.stage, flows, seed_view, hops=hops, decay=decay, on_nodes=check_seeds
    )
    columns = "e.score, e.score_in, e.score_out, e.exposed_received, e.exposed_sent"
    exposure = job.stage(
        "exposure",
        lambda: (
            f"SELECT c.address, c.cluster, {columns} FROM {scores} e"
            " JOIN clusters c ON c.cluster = e.node"
            if clustered
            else f"SELECT e.node AS address, {columns} FROM {scores} e"
        ),
    )
    figures = engine.records(
        "SELECT (SELECT count(*) FROM nodes) AS nodes,"
        " (SELECT count(*) FROM nodes WHERE seed > 0) AS seed_nodes,"
        f" (SELECT count(*) FROM {exposure}) AS exposed,"
        f" (SELECT count(*) FROM {exposure} WHERE score >= CAST(0.5 AS DOUBLE)) AS above_half"
    )[0]
    engine.unregister("seed_addresses")
    return {
        "seeds": len(addresses),
        **{key: int(value) for key, value in figures.items()},
        "params": {"hops": hops, "decay": decay, "level": level},
        **job.summary(),
    }
