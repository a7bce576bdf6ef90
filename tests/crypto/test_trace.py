"""Tracing: exact amounts per policy on a hand-made chain, both directions, UTXO and account
models; windows, thresholds, stopping at tags, paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctip.crypto.cluster import cluster_addresses
from ctip.crypto.ingest import import_transactions
from ctip.crypto.trace import TraceRequest, trace
from ctip.errors import BadInputError, NotFoundError
from ctip.workspace import Workspace
from tests.crypto.helpers import START, address, by_address, by_source, load_small_chain

A, B, C, D, E, F, G = (address(i) for i in range(1, 8))


@pytest.fixture
def small(workspace: Workspace, tmp_path: Path) -> Workspace:
    load_small_chain(workspace.engine, tmp_path)
    return workspace


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("poison", {C: 12.0, D: 7.9, E: 5.0, F: 2.8, G: 11.9}),
        ("haircut", {C: 6.0, D: 3.95, E: 2.5, F: 1.4, G: 5.95}),
        ("fifo", {C: 10.0, G: 10.0}),
    ],
)
def test_forward_amounts_per_policy(
    small: Workspace, policy: str, expected: dict[str, float]
) -> None:
    result = trace(small.engine, TraceRequest(A, hops=2, policy=policy))
    assert by_address(result["flows"]) == pytest.approx(expected)
    assert {f["hop"] for f in result["flows"]} == {1, 2}


def test_haircut_conserves_value_up_to_fees(small: Workspace) -> None:
    result = trace(small.engine, TraceRequest(A, hops=3, policy="haircut"))
    summary = result["summary"]
    assert summary["seed_value"] == pytest.approx(10.0)
    # 10 in; fees take half of T1's 0.1, half of T2's 0.1, half of T3's 0.1
    assert summary["held"] == pytest.approx(10.0 - 0.05 - 0.05 - 0.05)
    assert summary["unaccounted"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("haircut", {A: 5.95, B: 5.95}), ("fifo", {A: 10.0, B: 1.9}), ("poison", {A: 10.0, B: 10.0})],
)
def test_backward_amounts_per_policy(
    small: Workspace, policy: str, expected: dict[str, float]
) -> None:
    result = trace(small.engine, TraceRequest(G, direction="backward", hops=3, policy=policy))
    hop2 = [f for f in result["flows"] if f["hop"] == 2]
    assert by_source(hop2) == pytest.approx(expected)
    assert result["summary"]["origin"] == pytest.approx(sum(expected.values()))  # both were mined


def test_window_threshold_and_hop_limit(small: Workspace) -> None:
    early = datetime.fromtimestamp(START + 15, UTC)
    result = trace(small.engine, TraceRequest(A, hops=3, policy="haircut", until=early))
    assert set(by_address(result["flows"])) == {C, D}
    result = trace(small.engine, TraceRequest(A, hops=3, policy="haircut", min_value=4.0))
    assert set(by_address(result["flows"])) == {C, G}
    result = trace(small.engine, TraceRequest(A, hops=1, policy="haircut"))
    assert {e["status"] for e in result["endpoints"]} == {"hop-limit"}


def test_trace_stops_at_tagged_entities_unless_asked(small: Workspace, tmp_path: Path) -> None:
    from ctip.crypto.tags import import_tagpack

    pack = tmp_path / "t.yaml"
    pack.write_text(
        f"title: t\ncreator: test\ncurrency: BTC\nsource: test\nconfidence: ownership\n"
        f"tags:\n- address: {C}\n  label: Exchange X\n  category: exchange\n",
        encoding="utf-8",
    )
    import_tagpack(small.engine, pack)
    result = trace(small.engine, TraceRequest(A, hops=3, policy="fifo"))
    assert G not in by_address(result["flows"])
    assert result["categories"][0]["category"] == "exchange"
    assert result["categories"][0]["entities"] == ["Exchange X"]
    assert result["summary"]["stopped_at_tagged"] == pytest.approx(10.0)
    through = trace(small.engine, TraceRequest(A, hops=3, policy="fifo", follow_tagged=True))
    assert by_address(through["flows"])[G] == pytest.approx(10.0)


def test_paths_and_cluster_start(small: Workspace) -> None:
    result = trace(small.engine, TraceRequest(A, hops=3, policy="haircut", to=G))
    paths = result["paths"]
    assert paths["shortest"]["addresses"] == [A, C, G]
    assert paths["highest_value"]["bottleneck"] == pytest.approx(5.95)
    cluster_addresses(small.engine)
    cluster = small.engine.scalar(
        "SELECT cluster_id FROM crypto_clusters JOIN crypto_addresses USING (address_id) WHERE address = ?",
        [A],
    )
    both = trace(small.engine, TraceRequest(f"cluster:{cluster}", hops=1, policy="haircut"))
    assert both["start"]["address_count"] == 2
    assert by_address(both["flows"]) == pytest.approx({C: 12.0, D: 7.9})


def test_unknown_start_and_bad_options(small: Workspace) -> None:
    with pytest.raises(NotFoundError):
        trace(small.engine, TraceRequest(address(99)))
    with pytest.raises(NotFoundError, match="cluster"):
        trace(small.engine, TraceRequest("cluster:123456"))
    with pytest.raises(BadInputError, match="policy"):
        trace(small.engine, TraceRequest(A, policy="lifo"))


def test_account_chain_policies(workspace: Workspace, write_csv: Callable[..., Path]) -> None:
    x, y, p, q, r = ("0x" + c * 40 for c in "abcde")
    rows = [
        ["hash", "from", "to", "value", "time"],
        ["0x" + "01" * 32, x, p, "10", "1650000001"],
        ["0x" + "02" * 32, y, p, "30", "1650000002"],
        ["0x" + "03" * 32, p, q, "20", "1650000003"],
        ["0x" + "04" * 32, p, r, "20", "1650000004"],
    ]
    import_transactions(workspace.engine, write_csv("t.csv", rows), chain="eth")
    expected = {"haircut": {q: 5.0, r: 5.0}, "fifo": {q: 10.0}, "poison": {q: 20.0, r: 20.0}}
    for policy, amounts in expected.items():
        flows = trace(workspace.engine, TraceRequest(x, hops=2, policy=policy))["flows"]
        assert by_address([f for f in flows if f["hop"] == 2]) == pytest.approx(amounts), policy
    backward = {"haircut": {x: 5.0, y: 15.0}, "fifo": {y: 20.0}}
    for policy, amounts in backward.items():
        flows = trace(
            workspace.engine, TraceRequest(r, direction="backward", hops=2, policy=policy)
        )["flows"]
        assert by_source([f for f in flows if f["hop"] == 2]) == pytest.approx(amounts), policy
