"""Co-spend clustering as a Parquet job: ``ctip crypto cluster --input TXIO --output DIR``.

The workspace holds one analyst's chain extract; a whole chain (10^8+ inputs and outputs)
lives on shared storage as Parquet and clusters on Spark. The job reads the flat input/output
table below and runs the same rules as ``ctip crypto cluster`` on the workspace (the SQL in
``ctip.crypto.cospend``), on DuckDB or Spark, stage by stage (``ctip.engine.jobs``), so a
failed run resumes at the stage that failed.

Input (one row per transaction input or output; what ``crypto_inputs``/``crypto_outputs``
hold, with the hashes and address strings in place of the workspace's integer ids):

=============  ==========  ===========================================================
column         type        meaning
=============  ==========  ===========================================================
``tx``         string      transaction hash
``direction``  string      ``in`` (an input: the address and value it spends) or ``out``
``n``          integer     position among the transaction's inputs or outputs (optional)
``address``    string      address; NULL when unknown (an unresolved input, OP_RETURN)
``value``      double      value in coin units (BTC)
``time``       timestamp   block time (optional; not used by clustering)
=============  ==========  ===========================================================

Stages (each a Parquet dataset under ``DIR``): ``tx_features`` (per multi-input transaction:
counts, equal-value groups, CoinJoin rule), ``cospend_edges``, ``cc_large_NN``/``cc_small_NN``
(connected components, ``ctip.engine.components``), ``clusters`` (``address, cluster``: the
cluster id is the smallest address string of the cluster, the same on every engine) and
``cluster_sizes`` (``cluster, addresses``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ctip.crypto.cluster import ClusterParams
from ctip.crypto.cospend import COINJOIN_RULES, edges_sql, features_sql
from ctip.engine.base import Engine
from ctip.engine.components import components
from ctip.engine.jobs import start_job
from ctip.errors import BadInputError
from ctip.progress import Progress

TXIO_COLUMNS = ("tx", "direction", "address", "value")
TXIO_INPUTS = "SELECT tx, address FROM txio WHERE lower(direction) = 'in'"
TXIO_OUTPUTS = "SELECT tx, value FROM txio WHERE lower(direction) = 'out'"
JOB_VERSION = 1  # bump when a stage's SQL changes, so old stage outputs are not reused

CLUSTERS = """
WITH nodes AS (SELECT DISTINCT address FROM txio WHERE address IS NOT NULL)
SELECT n.address, coalesce(e.b, n.address) AS cluster
FROM nodes n LEFT JOIN {edges} e ON e.a = n.address
"""


def check_txio(engine: Engine, view: str = "txio") -> None:
    """Stop with the missing column names when the input is not a flat input/output table."""
    names = set(engine.to_arrow(f"SELECT * FROM {view} LIMIT 0").schema.names)
    missing = [c for c in TXIO_COLUMNS if c not in names]
    if missing:
        raise BadInputError(
            f"the input has no column {', '.join(missing)}",
            hint="a flat input/output table has tx, direction (in/out), address, value"
            " (see docs/crypto.md, 'On Spark / Parquet jobs')",
        )


def cluster_job(
    engine: Engine,
    txio: Path,
    output: Path,
    params: ClusterParams | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Cluster the addresses of ``txio`` into ``output``; return the run's figures and stages."""
    params = params or ClusterParams()
    if params.change:
        raise BadInputError(
            "--change is not available in Parquet jobs",
            hint="change heuristics need each address's first appearance; use the workspace",
        )
    settings = {"job": "crypto-cluster", "version": JOB_VERSION, **asdict(params)}
    job = start_job(engine, {"txio": str(txio)}, output, settings, progress)
    check_txio(engine)
    features = job.stage(
        "tx_features",
        lambda: features_sql(
            TXIO_INPUTS, TXIO_OUTPUTS, dust=params.dust, many_owners=params.many_owners
        ),
    )
    edges = job.stage(
        "cospend_edges",
        lambda: edges_sql(TXIO_INPUTS, features, exclude_coinjoins=params.exclude_coinjoins),
    )
    final = components(job, edges)
    clusters = job.stage("clusters", lambda: CLUSTERS.format(edges=final))
    sizes = job.stage(
        "cluster_sizes",
        lambda: f"SELECT cluster, count(*) AS addresses FROM {clusters} GROUP BY cluster",
    )
    figures = engine.records(
        f"SELECT (SELECT count(DISTINCT tx) FROM txio) AS transactions,"
        f" (SELECT count(*) FROM {features}) AS multi_input,"
        f" (SELECT count(*) FROM {clusters}) AS addresses,"
        f" (SELECT count(*) FROM {sizes}) AS clusters,"
        f" (SELECT count(*) FROM {sizes} WHERE addresses > 1) AS multi_address_clusters,"
        f" (SELECT coalesce(max(addresses), 0) FROM {sizes}) AS largest"
    )[0]
    flagged = dict(
        engine.rows(
            f"SELECT coinjoin, count(*) FROM {features} WHERE coinjoin IS NOT NULL"
            " GROUP BY coinjoin"
        )
    )
    coinjoins = (
        {rule: int(flagged.get(rule, 0)) for rule in COINJOIN_RULES}
        if params.exclude_coinjoins
        else {}
    )
    return {
        **{key: int(value) for key, value in figures.items()},
        "coinjoins": coinjoins,
        "component_steps": sum(1 for r in job.results if r.name.startswith("cc_")),
        "params": asdict(params),
        **job.summary(),
    }
