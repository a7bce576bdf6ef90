"""The ``ctip crypto`` commands end to end on generated BTC- and ETH-style data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_btc_workflow(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    assert cli("crypto", "generate", out, "--transactions", "3000", "--seed", "3").code == 0
    imported = cli("crypto", "import", out / "blocks.jsonl", "--chain", "btc", "--format", "json")
    assert imported.code == 0, imported.err
    report = imported.last_json()
    assert isinstance(report, dict) and report["read"] == report["loaded"] == 3000
    assert cli("crypto", "tag", "import", out / "tagpack.yaml", "--format", "json").code == 0
    clustered = cli("crypto", "cluster", "--format", "json")
    assert clustered.code == 0 and json.loads(clustered.out)["coinjoins"]["equal-outputs"] > 0
    listed = cli("crypto", "clusters", "--format", "jsonl").jsonl()
    assert listed and any(row["category"] == "exchange" for row in listed)  # type: ignore[index]
    wallet = (out / "ad-wallets.txt").read_text().splitlines()[1]
    traced = cli(
        "crypto",
        "trace",
        wallet,
        "--hops",
        "4",
        "--policy",
        "fifo",
        "--format",
        "json",
        "--save",
        "t",
    )
    assert traced.code == 0, traced.err
    result = traced.json()
    assert isinstance(result, dict) and result["flows"] and result["policy"] == "fifo"
    lines = cli("crypto", "trace", wallet, "--direction", "backward", "--format", "jsonl").jsonl()
    assert lines and all("attributed" in line for line in lines)  # type: ignore[operator]
    exposed = cli("crypto", "exposure", "--seeds", out / "seeds.txt", "--format", "jsonl").jsonl()
    assert exposed and set(exposed[0]) >= {"address", "score"}  # type: ignore[arg-type]
    scores = [row["score"] for row in exposed]  # type: ignore[index]
    assert scores == sorted(scores, reverse=True)
    assert (
        cli(
            "crypto", "exposure", "--seeds", out / "seeds.txt", "--by-category", "--format", "json"
        ).code
        == 0
    )
    shown = cli("crypto", "show", wallet, "--format", "json").json()
    assert isinstance(shown, dict) and shown["received"] > 0
    ftm = tmp_path / "ftm.jsonl"
    assert cli("crypto", "export", "--out", ftm, "--trace", "t").code == 0
    assert ftm.read_text().count('"Payment"') > 0
    assert cli("crypto", "link", "--format", "json").code == 0


def test_eth_workflow_and_errors(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    assert cli("crypto", "generate", out, "--chain", "eth", "--transactions", "2000").code == 0
    imported = cli(
        "crypto", "import", out / "transfers.csv", "--chain", "eth", "--tx", "Txhash", "--from", "From",
        "--to", "To", "--value", "Value", "--time", "UnixTimestamp", "--format", "json",
    )  # fmt: skip
    assert imported.code == 0, imported.err
    wallet = (out / "ad-wallets.txt").read_text().splitlines()[1]
    traced = cli("crypto", "trace", wallet, "--hops", "3", "--format", "json").json()
    assert isinstance(traced, dict) and traced["start"]["chain"] == "eth"
    missing = cli("crypto", "trace", "0x" + "0" * 40)
    assert (
        missing.code == 2
        and "not in the workspace" in missing.err
        and "Traceback" not in missing.err
    )
    bad_policy = cli("crypto", "trace", wallet, "--policy", "lifo")
    assert bad_policy.code == 2 and "unknown policy" in bad_policy.err
    wrong = cli("crypto", "import", out / "transfers.csv", "--chain", "btc")
    assert wrong.code == 2 and wrong.err.strip().count("\n") == 0
