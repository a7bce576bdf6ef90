"""TagPack import: header defaults, confidence levels, quarantine by line, cluster labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctip.crypto.cluster import cluster_addresses
from ctip.crypto.tags import entity_labels, import_tagpack
from ctip.errors import BadInputError
from ctip.workspace import Workspace
from tests.crypto.helpers import address, load_small_chain

PACK = f"""title: Test pack
creator: CTIP tests
currency: BTC
source: https://example.org/test
confidence: service_data
category: exchange
tags:
- address: {address(1)}
  label: Exchange One
- address: {address(3)}
  label: Shop
  category: shop
  confidence: ownership
- address: {address(4)[:-2]}xx
  label: Typo
- address: {address(5)}
  label: Unsure
  confidence: rumour
- tx_hash: {"ab" * 32}
  label: A transaction
"""


def test_tagpack_import_with_defaults_and_quarantine(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "pack.yaml"
    path.write_text(PACK, encoding="utf-8")
    report = import_tagpack(workspace.engine, path)
    assert (report.read, report.loaded, report.quarantined) == (5, 2, 3)
    tags = workspace.engine.records(
        "SELECT address, label, category, confidence, confidence_level, tag_source, row_number"
        " FROM crypto_tags ORDER BY row_number"
    )
    assert tags[0]["category"] == "exchange" and tags[0]["confidence_level"] == 50
    assert tags[1]["category"] == "shop" and tags[1]["confidence_level"] == 100
    assert tags[0]["tag_source"] == "https://example.org/test" and tags[0]["row_number"] == 8
    lines = workspace.engine.rows(
        "SELECT row_number, errors[1].reason FROM quarantine WHERE kind = 'crypto' ORDER BY 1"
    )
    assert [line for line, _ in lines] == [14, 16, 19]
    assert "unknown confidence" in lines[1][1] and "transaction tags" in lines[2][1]
    assert import_tagpack(workspace.engine, path).duplicates == 5


def test_not_a_tagpack(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("just: a mapping\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="not a TagPack"):
        import_tagpack(workspace.engine, path)


def test_cluster_takes_the_tag_of_its_members(workspace: Workspace, tmp_path: Path) -> None:
    load_small_chain(workspace.engine, tmp_path)
    path = tmp_path / "pack.yaml"
    path.write_text(PACK, encoding="utf-8")
    import_tagpack(workspace.engine, path)
    cluster_addresses(workspace.engine)  # address 1 and 2 co-spend in T1
    ids = dict(workspace.engine.rows("SELECT address, address_id FROM crypto_addresses"))
    labels = entity_labels(workspace.engine, [ids[address(1)], ids[address(2)], ids[address(7)]])
    assert labels[ids[address(1)]]["via"] == "address"
    assert (
        labels[ids[address(2)]]["label"] == "Exchange One"
        and labels[ids[address(2)]]["via"] == "cluster"
    )
    assert labels[ids[address(7)]]["label"] is None
