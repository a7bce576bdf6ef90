"""Exposure: exact shares on a small graph, and ranking on generated chains."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ctip.crypto.evaluate import roc_auc
from ctip.crypto.exposure import exposure, exposure_scores, flow_graph
from ctip.crypto.generate import generate_chain
from ctip.crypto.generate_account import generate_transfers
from ctip.crypto.generate_io import write_core_json
from ctip.crypto.ingest import import_transactions
from ctip.workspace import Workspace


def test_direct_and_indirect_shares(workspace: Workspace, write_csv: Callable[..., Path]) -> None:
    s, a, b, c, o = ("0x" + ch * 40 for ch in "5abc0")
    rows = [
        ["hash", "from", "to", "value", "time"],
        ["0x" + "01" * 32, s, a, "3", "1650000001"],  # a: 3 of 4 from the seed
        ["0x" + "02" * 32, o, a, "1", "1650000002"],
        ["0x" + "03" * 32, a, b, "2", "1650000003"],  # b: all from a
        ["0x" + "04" * 32, o, c, "5", "1650000004"],  # c: nothing to do with the seed
    ]
    import_transactions(workspace.engine, write_csv("e.csv", rows), chain="eth")
    ids = dict(workspace.engine.rows("SELECT address, address_id FROM crypto_addresses"))
    graph = flow_graph(workspace.engine)
    scores = exposure_scores(graph, np.array([ids[s]]), hops=2, decay=0.5)
    by_id = dict(zip(graph.nodes.tolist(), scores["score_in"].tolist(), strict=True))
    assert by_id[ids[a]] == pytest.approx(0.75)
    assert by_id[ids[b]] == pytest.approx(0.5 * 0.75)  # one hop further, decayed
    assert by_id[ids[c]] == 0.0
    rows_out = exposure(workspace.engine, np.array([ids[s]]), hops=2)
    assert rows_out[0]["address"] == a
    assert s not in {r["address"] for r in rows_out}
    assert all(0 < r["score"] <= 1 for r in rows_out)


def _auc(
    workspace: Workspace, names: list[str], used: np.ndarray, bad: np.ndarray, seed: int
) -> float:
    ids = dict(workspace.engine.rows("SELECT address, address_id FROM crypto_addresses"))
    rng = np.random.default_rng(seed)
    bad_used = used[bad[used]]
    seeds = rng.choice(bad_used, size=len(bad_used) // 5, replace=False)
    rows = exposure(workspace.engine, np.array([ids[names[a]] for a in seeds]), hops=3)
    score = {r["address"]: r["score"] for r in rows}
    rest = used[~np.isin(used, seeds)]
    return roc_auc(np.array([score.get(names[a], 0.0) for a in rest]), bad[rest])


@pytest.mark.slow
def test_known_bad_rank_above_ordinary_on_generated_chains(
    workspace: Workspace, tmp_path: Path
) -> None:
    chain = generate_chain(8000, seed=31)
    import_transactions(workspace.engine, write_core_json(chain, tmp_path / "b.jsonl"), chain="btc")
    bad = np.array([o.bad for o in chain.owners])[chain.addr_owner]
    strings = [str(s) for s in chain.addresses()]
    assert _auc(workspace, strings, np.unique(chain.out_addr), bad, 1) > 0.8
    transfers = generate_transfers(8000, seed=32)
    transfers.write_csv(tmp_path / "e.csv")
    import_transactions(workspace.engine, tmp_path / "e.csv", chain="eth")
    bad = np.array([o.bad for o in transfers.owners])[transfers.addr_owner]
    used = np.unique(np.concatenate([transfers.source, transfers.target]))
    assert _auc(workspace, transfers.addresses(), used, bad, 2) > 0.8
