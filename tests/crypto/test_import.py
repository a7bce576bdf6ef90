"""Import: Bitcoin Core JSON, flat CSVs, Blockchair dumps, account CSVs; quarantine,
provenance, idempotency and whole-file errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ctip.crypto.ingest import import_transactions
from ctip.errors import BadInputError
from ctip.workspace import Workspace
from tests.crypto.helpers import SMALL_CHAIN, START, address, tx, txid, write_jsonl


def test_core_json_lines_import_with_provenance_and_reimport(
    workspace: Workspace, tmp_path: Path
) -> None:
    engine = workspace.engine
    path = write_jsonl(tmp_path / "txs.jsonl", SMALL_CHAIN)
    report = import_transactions(engine, path, chain="btc")
    assert (report.read, report.loaded, report.quarantined, report.duplicates) == (5, 5, 0, 0)
    assert report.outputs == 7 and report.inputs == 4
    # inputs got their address and value from the outputs they spend
    assert engine.rows(
        "SELECT count(*) FROM crypto_inputs WHERE value IS NULL OR address_id IS NULL"
    ) == [(0,)]
    rows = engine.records(
        "SELECT source, import_id, file_sha256, row_number, imported_at FROM crypto_outputs"
    )
    assert all(
        r["file_sha256"] == report.file_sha256 and r["import_id"] == report.import_id for r in rows
    )
    assert sorted({r["row_number"] for r in rows}) == [1, 2, 3, 4, 5]
    again = import_transactions(engine, path, chain="btc")
    assert again.loaded == 0 and again.duplicates == 5
    assert engine.scalar("SELECT count(*) FROM crypto_outputs") == 7


def test_getblock_and_rpc_envelopes_and_overlapping_files(
    workspace: Workspace, tmp_path: Path
) -> None:
    engine = workspace.engine
    block = {"hash": "00" * 32, "height": 100, "time": START, "tx": SMALL_CHAIN[:3]}
    single = tmp_path / "block.json"
    single.write_text(json.dumps(block, indent=2), encoding="utf-8")  # pretty-printed, one block
    report = import_transactions(engine, single, chain="btc")
    assert (report.read, report.loaded) == (3, 3)
    assert engine.rows("SELECT DISTINCT block_height, position > 0 FROM crypto_transactions") == [
        (100, True)
    ]
    envelope = write_jsonl(
        tmp_path / "rpc.jsonl", [{"result": t, "error": None, "id": 1} for t in SMALL_CHAIN]
    )
    overlap = import_transactions(engine, envelope, chain="btc")
    assert overlap.loaded == 2 and overlap.duplicates == 3  # the block's transactions are known


def test_bad_transactions_are_quarantined_with_the_field(
    workspace: Workspace, tmp_path: Path
) -> None:
    bad_value = tx("B1", [], [(1, -1.0)], 0)
    bad_address = tx("B2", [], [(1, 1.0)], 0)
    bad_address["vout"][0]["scriptPubKey"]["address"] = address(1)[:-1] + "x"
    bad_id = tx("B3", [], [(1, 1.0)], 0)
    bad_id["txid"] = "not-a-hash"
    good = tx("G1", [], [(2, 1.0)], 0)
    lines = [json.dumps(t) for t in (bad_value, bad_address, bad_id, good)] + ["{broken json"]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_transactions(workspace.engine, path, chain="btc")
    assert (report.read, report.loaded, report.quarantined) == (5, 1, 4)
    fields = workspace.engine.rows(
        "SELECT row_number, list_transform(errors, lambda e: e.field) FROM quarantine"
        " WHERE kind = 'crypto' ORDER BY row_number"
    )
    assert fields == [(1, ["vout[0].value"]), (2, ["vout[0].address"]), (3, ["txid"]), (5, [None])]
    again = import_transactions(workspace.engine, path, chain="btc")
    assert again.quarantined == 0 and again.duplicates == 5
    assert workspace.engine.scalar("SELECT count(*) FROM quarantine") == 4


def test_wrong_chain_and_unreadable_files_stop_with_one_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "txs.jsonl", SMALL_CHAIN)
    with pytest.raises(BadInputError, match="no address in it is valid on ltc"):
        import_transactions(workspace.engine, path, chain="ltc")
    broken = tmp_path / "broken.json"
    broken.write_text('{"hash": "00", "tx": [', encoding="utf-8")
    with pytest.raises(BadInputError, match="not valid JSON"):
        import_transactions(workspace.engine, broken, chain="btc")
    with pytest.raises(BadInputError, match="no such file"):
        import_transactions(workspace.engine, tmp_path / "missing.json", chain="btc")
    ids_only = tmp_path / "v1.json"
    ids_only.write_text(
        json.dumps({"hash": "00", "height": 1, "tx": ["ab" * 32]}), encoding="utf-8"
    )
    with pytest.raises(BadInputError, match="verbosity 2"):
        import_transactions(workspace.engine, ids_only, chain="btc")
    assert workspace.engine.scalar("SELECT count(*) FROM crypto_outputs") == 0


def test_flat_csv_with_outpoints_links_inputs(
    workspace: Workspace, write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    rows = [
        ["tx_hash", "direction", "index", "address", "amount", "prev_txid", "prev_n", "timestamp"],
        [txid("F0"), "out", "0", address(1), "1.5", "", "", "2022-01-01T00:00:00Z"],
        [txid("F1"), "in", "0", "", "", txid("F0"), "0", "2022-01-02 00:00:00"],
        [txid("F1"), "out", "0", address(2), "1.4", "", "", "1641081600"],
        [txid("F1"), "in", "1", "", "", "nothex", "0", "1641081600"],
    ]
    path = write_csv("flat.csv", rows)
    report = import_transactions(workspace.engine, path, chain="btc")
    assert (report.read, report.loaded, report.quarantined) == (4, 3, 1)
    resolved = workspace.engine.rows(
        "SELECT a.address, i.value FROM crypto_inputs i JOIN crypto_addresses a USING (address_id)"
    )
    assert resolved == [(address(1), 1.5)]


def test_blockchair_dump_gives_outputs_and_spending_inputs(
    workspace: Workspace, tmp_path: Path
) -> None:
    header = "block_id\ttransaction_hash\tindex\ttime\tvalue\trecipient\ttype\tis_from_coinbase\tspending_block_id\tspending_transaction_hash\tspending_index\tspending_time"
    lines = [
        header,
        f"1\t{txid('K0')}\t0\t2022-01-01 00:00:00\t150000000\t{address(1)}\twitness_v0_keyhash\t1\t2\t{txid('K1')}\t0\t2022-01-02 00:00:00",
        f"2\t{txid('K1')}\t0\t2022-01-02 00:00:00\t140000000\t{address(2)}\twitness_v0_keyhash\t0\t\t\t\t",
    ]
    path = tmp_path / "outputs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_transactions(workspace.engine, path, chain="btc")
    assert report.input_format == "blockchair" and report.loaded == 2
    assert workspace.engine.rows("SELECT value FROM crypto_inputs") == [(1.5,)]


def test_account_csv_with_chosen_columns(
    workspace: Workspace, write_csv: Callable[..., Path]
) -> None:
    sender, receiver = "0x" + "11" * 20, "0x" + "22" * 20
    rows = [
        ["Hash", "Sender", "Receiver", "Amount (ETH)", "When", "Status"],
        ["0x" + "aa" * 32, sender, receiver, "1.25", "2022-05-01 10:00:00", ""],
        ["0x" + "bb" * 32, sender, receiver, "2", "1651400000", "Error(0)"],
        ["0x" + "cc" * 32, sender, "0xnothex", "1", "1651400000", ""],
        ["0x" + "dd" * 32, receiver, sender, "abc", "yesterday", ""],
    ]
    path = write_csv("export.csv", rows)
    columns = {
        "tx": "Hash",
        "from": "Sender",
        "to": "Receiver",
        "value": "Amount (ETH)",
        "time": "When",
    }
    report = import_transactions(workspace.engine, path, chain="eth", columns=columns)
    assert (report.read, report.loaded, report.quarantined) == (4, 1, 3)
    reasons = workspace.engine.rows(
        "SELECT row_number, list_transform(errors, lambda e: e.field) FROM quarantine ORDER BY row_number"
    )
    assert reasons == [(3, ["status"]), (4, ["to"]), (5, ["value", "time"])]
    # the same transfer in another export (another file) is a duplicate, not a second flow
    other = write_csv("other.csv", [rows[0], rows[1], rows[1]])
    overlap = import_transactions(workspace.engine, other, chain="eth", columns=columns)
    assert overlap.loaded == 0 and overlap.duplicates == 2


def test_missing_account_column_names_the_flag(
    workspace: Workspace, write_csv: Callable[..., Path]
) -> None:
    path = write_csv("x.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(BadInputError, match="--tx"):
        import_transactions(workspace.engine, path, chain="eth")
    with pytest.raises(BadInputError, match="no column 'nope'"):
        import_transactions(workspace.engine, path, chain="eth", columns={"tx": "nope"})
