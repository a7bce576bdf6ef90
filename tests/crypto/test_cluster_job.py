"""``ctip crypto cluster --input TXIO.parquet --output DIR``: the workspace's clusters, from
Parquet, stage by stage, resuming finished stages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from ctip.crypto.generate import generate_chain
from ctip.crypto.generate_io import write_core_json
from ctip.crypto.generate_parquet import write_txio_parquet
from ctip.engine.jobs import MARKER
from ctip.settings import Settings
from ctip.workspace import Workspace
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def canonical(pairs: list[tuple[str, object]]) -> dict[str, str]:
    """address -> smallest address of its cluster: the same whatever the cluster ids are."""
    members: dict[object, list[str]] = {}
    for address, cluster in pairs:
        members.setdefault(cluster, []).append(address)
    return {a: min(group) for group in members.values() for a in group}


def job_clusters(out: Path) -> dict[str, str]:
    rows = duckdb.sql(f"SELECT address, cluster FROM read_parquet('{out}/clusters/*.parquet')")
    return dict(rows.fetchall())


def test_job_gives_the_workspace_clusters_and_resumes(cli: Cli, tmp_path: Path) -> None:
    chain = generate_chain(3000, seed=21, coinjoin_share=0.02, payjoin_share=0.003)
    txio = write_txio_parquet(chain, tmp_path / "txio.parquet")
    out = tmp_path / "out"
    result = cli("crypto", "cluster", "--input", txio, "--output", out, "--format", "json")
    assert result.code == 0, result.err
    run = result.last_json()
    assert isinstance(run, dict)
    assert run["engine"] == "duckdb" and not any(s["resumed"] for s in run["stages"])
    clusters = job_clusters(out)
    assert all(cluster == min(cluster, a) for a, cluster in clusters.items())  # id: smallest

    blocks = write_core_json(chain, tmp_path / "blocks.jsonl")
    assert cli("crypto", "import", blocks, "--chain", "btc", "--format", "json").code == 0
    workspace_run = cli("crypto", "cluster", "--format", "json").last_json()
    assert isinstance(workspace_run, dict)
    for key in ("transactions", "multi_input", "coinjoins", "addresses", "clusters", "largest"):
        assert run[key] == workspace_run[key], key
    assert run["coinjoins"]["equal-outputs"] > 0
    with Workspace.open(Settings(workspace=tmp_path / "cli-workspace"), read_only=True) as ws:
        stored = ws.engine.rows(
            "SELECT a.address, c.cluster_id FROM crypto_clusters c"
            " JOIN crypto_addresses a USING (address_id)"
        )
    assert canonical(stored) == clusters

    # A rerun reuses every stage; after a failure in the last stages it redoes only those.
    again = cli("crypto", "cluster", "--input", txio, "--output", out, "--format", "json")
    stages = again.last_json()["stages"]  # type: ignore[index]
    assert all(s["resumed"] for s in stages)
    (out / "clusters" / MARKER).unlink()
    (out / "cluster_sizes" / MARKER).unlink()
    resumed = cli("crypto", "cluster", "--input", txio, "--output", out, "--format", "json")
    redone = [s["stage"] for s in resumed.last_json()["stages"] if not s["resumed"]]  # type: ignore[index]
    assert redone == ["clusters", "cluster_sizes"]
    assert job_clusters(out) == clusters
    # Other parameters are another job: nothing is reused.
    keep = cli("crypto", "cluster", "--input", txio, "--output", out, "--keep-coinjoins",
               "--format", "json").last_json()  # fmt: skip
    assert not any(s["resumed"] for s in keep["stages"])  # type: ignore[index]
    assert keep["clusters"] < run["clusters"]  # type: ignore[index]


def test_job_needs_both_paths_and_the_columns(cli: Cli, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = cli("crypto", "cluster", "--input", tmp_path / "x.parquet")
    assert missing.code == 2 and "--output is missing" in missing.err
    path = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"tx": ["a"], "address": ["b"]}), path)
    wrong = cli("crypto", "cluster", "--input", path, "--output", tmp_path / "o")
    assert wrong.code == 2 and "direction" in wrong.err and "value" in wrong.err
    change = cli("crypto", "cluster", "--input", path, "--output", tmp_path / "o",
                 "--change", "fresh")  # fmt: skip
    assert change.code == 2 and "--change" in change.err
