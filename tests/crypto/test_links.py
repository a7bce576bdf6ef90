"""Links to ads and cases: wallets from the ads tables and case text become tags, reach whole
clusters, and give the ads capability shared-cluster links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ctip.crypto.cluster import cluster_addresses
from ctip.crypto.links import cluster_link_rows, link_wallets, linked_clusters
from ctip.crypto.trace import TraceRequest, trace
from ctip.workspace import Workspace
from tests.crypto.helpers import address, load_small_chain


def _ads(workspace: Workspace) -> None:
    now = datetime.now(UTC)
    engine = workspace.engine
    for key, wallet in (("ad-1", address(1)), ("ad-2", address(2)), ("ad-3", "4" + "8" * 94)):
        engine.sql(
            "INSERT INTO ads (ad_key, id, body, source, import_id, file_sha256, row_number, imported_at)"
            " VALUES (?, ?, ?, 'test ads', 'imp-ads', 'ab', ?, ?)",
            [key, key, f"pay {wallet}", int(key[-1]) + 1, now],
        )
        engine.sql(
            "INSERT INTO ad_identifiers VALUES ('run', ?, 'wallet', ?, ?, 'body', 4, 50, ?)",
            [key, wallet, "BTC" if wallet.startswith("bc1") else "XMR", wallet],
        )
    engine.sql("INSERT INTO ad_networks VALUES ('run', 'ad-1', 'N7', 'N7')")
    engine.sql(
        "INSERT INTO cases (case_id, source, import_id, file_sha256, row_number, imported_at, case_comment)"
        " VALUES ('case-1', 'test cases', 'imp-cases', 'cd', 2, ?, ?)",
        [now, f"victim paid the recruiter to {address(5)} twice"],
    )


def test_ad_and_case_wallets_become_tags_with_provenance(
    workspace: Workspace, tmp_path: Path
) -> None:
    load_small_chain(workspace.engine, tmp_path)
    _ads(workspace)
    cluster_addresses(workspace.engine)
    report = link_wallets(workspace.engine)
    assert (report.ad_wallets, report.case_wallets, report.networks) == (2, 1, 1)
    assert report.in_workspace == 3
    tags = workspace.engine.records(
        "SELECT address, label, category, origin, source, file_sha256, row_number FROM crypto_tags ORDER BY address"
    )
    by_address = {t["address"]: t for t in tags}
    assert by_address[address(1)]["label"] == "Ad network N7"
    assert (
        by_address[address(1)]["file_sha256"] == "ab" and by_address[address(1)]["row_number"] == 2
    )
    assert (
        by_address[address(5)]["category"] == "case"
        and by_address[address(5)]["source"] == "test cases"
    )
    # linking again replaces, never duplicates
    link_wallets(workspace.engine)
    assert workspace.engine.scalar("SELECT count(*) FROM crypto_tags") == len(tags)
    clusters = linked_clusters(workspace.engine)
    assert any(c["ad_networks"] and c["cluster_size"] == 2 for c in clusters)


def test_traces_name_ad_networks_and_ads_share_cluster_links(
    workspace: Workspace, tmp_path: Path
) -> None:
    load_small_chain(workspace.engine, tmp_path)
    _ads(workspace)
    cluster_addresses(workspace.engine)
    link_wallets(workspace.engine)
    backward = trace(workspace.engine, TraceRequest(address(7), direction="backward", hops=3))
    assert "ad-network" in {c["category"] for c in backward["categories"]}
    rows = cluster_link_rows(workspace.engine).to_pylist()
    assert {r["ad_key"] for r in rows} == {"ad-1", "ad-2"}
    assert len({r["value"] for r in rows}) == 1 and rows[0]["kind"] == "wallet"
