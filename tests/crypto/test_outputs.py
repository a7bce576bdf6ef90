"""FollowTheMoney export, the report section, the generator's invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from followthemoney import model

from ctip.capabilities import ReportContext
from ctip.crypto.analyses import save
from ctip.crypto.cluster import cluster_addresses
from ctip.crypto.ftm import ftm_entities
from ctip.crypto.generate import KINDS, generate_chain
from ctip.crypto.generate_account import generate_transfers
from ctip.crypto.report import sections
from ctip.crypto.trace import TraceRequest, trace, trace_params
from ctip.settings import Settings
from ctip.workspace import Workspace
from tests.crypto.helpers import address, load_small_chain


def test_ftm_entities_are_valid_and_linked(workspace: Workspace, tmp_path: Path) -> None:
    load_small_chain(workspace.engine, tmp_path)
    cluster_addresses(workspace.engine)
    result = trace(workspace.engine, TraceRequest(address(1), hops=2))
    entities = [
        model.get_proxy(e) for e in ftm_entities(workspace.engine, result["flows"], chain="btc")
    ]
    schemata = {e.schema.name for e in entities}
    assert schemata == {"CryptoWallet", "LegalEntity", "Payment"}
    ids = {e.id for e in entities}
    for payment in (e for e in entities if e.schema.name == "Payment"):
        assert set(payment.get("payer")) <= ids and set(payment.get("beneficiary")) <= ids
        assert payment.get("transactionNumber")
    wallets = [e for e in entities if e.schema.name == "CryptoWallet"]
    assert all(set(w.get("holder")) <= ids for w in wallets)
    everything = [model.get_proxy(e) for e in ftm_entities(workspace.engine)]
    assert sum(e.schema.name == "Payment" for e in everything) >= 5
    # addresses 1 and 2 co-spend: one holder for both wallets
    holders = {
        w.first("publicKey"): w.first("holder")
        for w in everything
        if w.schema.name == "CryptoWallet"
    }
    assert holders[address(1)] == holders[address(2)] != holders[address(3)]


def test_report_section_is_self_contained(workspace: Workspace, tmp_path: Path) -> None:
    load_small_chain(workspace.engine, tmp_path)
    request = TraceRequest(address(1), hops=2)
    save(workspace.engine, "trace", "t", trace_params(request), trace(workspace.engine, request))
    context = ReportContext(workspace, Settings(workspace=workspace.path), 10, False)
    (section,) = sections(context)
    assert section.html.count("<svg") == 2
    assert (
        "http://" not in section.html
        and "https://" not in section.html
        and "<script" not in section.html
    )


def test_generators_keep_their_books() -> None:
    chain = generate_chain(3000, seed=5)
    assert len(np.unique(chain.in_prev)) == chain.in_prev.shape[0]  # no output spent twice
    assert (chain.out_tx[chain.in_prev] < chain.in_tx).all()  # only earlier outputs are spent
    spent = np.bincount(chain.in_tx, weights=chain.in_value, minlength=chain.transactions)
    made = np.bincount(chain.out_tx, weights=chain.out_value, minlength=chain.transactions)
    ordinary = chain.tx_kind != KINDS.index("coinbase")
    assert (spent[ordinary] >= made[ordinary]).all() and (chain.out_value > 0).all()
    assert {KINDS[k] for k in np.unique(chain.tx_kind)} >= {
        "coinjoin",
        "peel",
        "ad-payment",
        "payjoin",
    }
    transfers = generate_transfers(2000, seed=6)
    assert (transfers.value > 0).all() and (np.diff(transfers.time) >= 0).all()
    assert transfers.bad_addresses().size > 0
