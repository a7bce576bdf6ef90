"""``ctip crypto exposure --input TXIO.parquet --seeds FILE --output DIR``: the workspace's
exposure scores from Parquet, one stage per hop, resuming finished stages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from ctip.crypto.generate import GeneratedChain, generate_chain
from ctip.crypto.generate_io import write_core_json
from ctip.crypto.generate_parquet import write_txio_parquet
from ctip.engine.jobs import MARKER
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SCORES = ("score", "score_in", "score_out")


def write_seeds(chain: GeneratedChain, path: Path, share: float = 0.2) -> Path:
    """A share of the known-bad addresses that appear, as a text file of address strings."""
    used = np.intersect1d(chain.bad_addresses(), np.unique(chain.out_addr))
    picked = np.random.default_rng(3).choice(
        used, size=max(1, int(len(used) * share)), replace=False
    )
    names = chain.addresses()
    path.write_text("# seeds\n" + "".join(f"{names[a]}\n" for a in picked), encoding="utf-8")
    return path


def job_scores(out: Path) -> dict[str, tuple[float, ...]]:
    rows = duckdb.sql(
        f"SELECT address, score, score_in, score_out FROM read_parquet('{out}/exposure/*.parquet')"
    ).fetchall()
    return {str(r[0]): tuple(float(v) for v in r[1:]) for r in rows}


def assert_same_scores(
    got: dict[str, tuple[float, ...]], want: dict[str, tuple[float, ...]], relative: bool = False
) -> None:
    assert got.keys() == want.keys()
    for address, values in want.items():
        for a, b in zip(got[address], values, strict=True):
            tolerance = 1e-9 * max(abs(b), 1e-300) if relative else 1e-9
            assert abs(a - b) <= tolerance, (address, got[address], values)


def test_job_gives_the_workspace_scores_and_resumes(cli: Cli, tmp_path: Path) -> None:
    chain = generate_chain(2500, seed=21, coinjoin_share=0.02)
    txio = write_txio_parquet(chain, tmp_path / "txio.parquet")
    seeds = write_seeds(chain, tmp_path / "seeds.txt")
    out = tmp_path / "out"
    result = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output", out,
                 "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    run = result.last_json()
    assert isinstance(run, dict) and run["engine"] == "duckdb"
    stages = [s["stage"] for s in run["stages"]]
    assert stages == ["flows", "nodes", "links", "hop_01", "hop_02", "hop_03", "scores",
                      "exposure"]  # fmt: skip
    assert not any(s["resumed"] for s in run["stages"])
    scores = job_scores(out)
    assert run["exposed"] == len(scores) > 0 and run["seed_nodes"] > 0

    blocks = write_core_json(chain, tmp_path / "blocks.jsonl")
    assert cli("crypto", "import", blocks, "--chain", "btc", "--format", "json").code == 0
    exposed = cli("crypto", "exposure", "--seeds", seeds, "--format", "jsonl")
    assert exposed.code == 0, exposed.err
    workspace = {str(r["address"]): tuple(float(r[k]) for k in SCORES) for r in exposed.jsonl()}  # type: ignore[index]
    assert_same_scores(scores, workspace)

    # A rerun reuses every stage; after a failure in the third hop it resumes there.
    again = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output", out,
                "--format", "json").last_json()  # fmt: skip
    assert all(s["resumed"] for s in again["stages"])  # type: ignore[index]
    for stage in ("hop_03", "scores", "exposure"):
        (out / stage / MARKER).unlink()
    resumed = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output", out,
                  "--format", "json").last_json()  # fmt: skip
    redone = [s["stage"] for s in resumed["stages"] if not s["resumed"]]  # type: ignore[index]
    assert redone == ["hop_03", "scores", "exposure"]
    assert job_scores(out) == scores
    # Other parameters are another job: nothing is reused.
    two = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output", out,
              "--hops", "2", "--format", "json").last_json()  # fmt: skip
    assert not any(s["resumed"] for s in two["stages"])  # type: ignore[index]
    assert "hop_03" not in [s["stage"] for s in two["stages"]]  # type: ignore[index]

    # Cluster level: the clustering job's clusters as nodes, as the workspace does.
    clustered = tmp_path / "clustered"
    assert cli("crypto", "cluster", "--input", txio, "--output", clustered).code == 0
    assert cli("crypto", "cluster").code == 0
    by_cluster = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output",
                     tmp_path / "by-cluster", "--level", "cluster", "--clusters",
                     clustered / "clusters", "--format", "json")  # fmt: skip
    assert by_cluster.code == 0, by_cluster.err
    workspace_level = cli("crypto", "exposure", "--seeds", seeds, "--level", "cluster",
                          "--format", "jsonl").jsonl()  # fmt: skip
    want = {str(r["address"]): tuple(float(r[k]) for k in SCORES) for r in workspace_level}  # type: ignore[index]
    assert_same_scores(job_scores(tmp_path / "by-cluster"), want)


def test_job_options(cli: Cli, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("nowhere\n", encoding="utf-8")
    chain = generate_chain(200, seed=2)
    txio = write_txio_parquet(chain, tmp_path / "txio.parquet")
    missing = cli("crypto", "exposure", "--input", txio, "--seeds", seeds)
    assert missing.code == 2 and "--output is missing" in missing.err
    unknown = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output",
                  tmp_path / "o")  # fmt: skip
    assert unknown.code != 0 and "none of the 1 seeds" in unknown.err
    limited = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output",
                  tmp_path / "o", "--limit", "5")  # fmt: skip
    assert limited.code == 2 and "--limit" in limited.err
    level = cli("crypto", "exposure", "--input", txio, "--seeds", seeds, "--output",
                tmp_path / "o", "--level", "cluster")  # fmt: skip
    assert level.code == 2 and "--clusters" in level.err
