"""Ads, identifiers and links as FollowTheMoney entities (JSON lines), for Aleph and FtM tools.

- each ad is a ``Document`` (title, bodyText, sourceUrl, publisher = site, publishedAt, the
  phones and e-mails in ``phoneMentioned``/``emailMentioned``, its network and text cluster as
  ``keywords`` "ctip:network:..." and "ctip:cluster:...");
- each social handle is a ``UserAccount`` (service, username) and each wallet a
  ``CryptoWallet`` (cryptoAddress, currency); an ``UnknownLink`` with role "mentioned in ad"
  joins the ad's Document to each of them, so shared accounts and wallets connect ads in any
  FtM graph view the same way CTIP's networks do.

Entity ids are derived from stable keys (``make_id``), so exporting twice gives the same ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.util import make_entity_id

from ctip.engine.duckdb import DuckDBEngine

PREFIX = "ctip-ads"


def _entity(schema: str, *key: str) -> EntityProxy:
    proxy = model.make_entity(schema)
    proxy.id = make_entity_id(PREFIX, schema, *key)
    return proxy


def entities(engine: DuckDBEngine) -> Iterator[EntityProxy]:
    """Every FtM entity for the ads in the workspace (identifiers from the latest extract)."""
    identifiers: dict[str, list[tuple[str, str, str | None]]] = {}
    for key, kind, value, detail in engine.rows(
        "SELECT DISTINCT ad_key, kind, value, detail FROM ad_identifiers"
        " WHERE kind IN ('phone', 'email', 'handle', 'wallet') ORDER BY ALL"
    ):
        identifiers.setdefault(str(key), []).append((str(kind), str(value), detail))
    groups = {
        str(r[0]): (r[1], r[2])
        for r in engine.rows(
            "SELECT a.ad_key, n.network_id, c.cluster_id FROM ads a"
            " LEFT JOIN ad_networks n USING (ad_key) LEFT JOIN ad_clusters c USING (ad_key)"
        )
    }
    accounts: set[str] = set()
    offset = 0
    while True:
        ads = engine.records(
            "SELECT ad_key, id, title, body, url, site, location, posted_at FROM ads"
            " ORDER BY ad_key LIMIT 10000 OFFSET ?",
            [offset],
        )
        if not ads:
            break
        offset += len(ads)
        for ad in ads:
            yield from _ad_entities(ad, identifiers.get(ad["ad_key"], []), groups, accounts)


def _ad_entities(
    ad: dict[str, Any],
    found: list[tuple[str, str, str | None]],
    groups: dict[str, tuple[Any, Any]],
    accounts: set[str],
) -> Iterator[EntityProxy]:
    document = _entity("Document", ad["ad_key"])
    document.add("title", ad["title"] or ad["id"])
    document.add("bodyText", ad["body"])
    document.add("sourceUrl", ad["url"])
    document.add("publisher", ad["site"])
    document.add("fileName", ad["id"])
    if ad["posted_at"] is not None:
        document.add("publishedAt", ad["posted_at"].isoformat(timespec="seconds"))
    if ad["location"]:
        document.add("address", ad["location"])
    network, cluster = groups.get(ad["ad_key"], (None, None))
    if network:
        document.add("keywords", f"ctip:network:{network}")
    if cluster:
        document.add("keywords", f"ctip:cluster:{cluster}")
    linked: list[EntityProxy] = []
    for kind, value, detail in found:
        if kind == "phone":
            document.add("phoneMentioned", value)
        elif kind == "email":
            document.add("emailMentioned", value)
        elif kind == "handle":
            account = _entity("UserAccount", value)
            platform, _, name = value.partition(":")
            account.add("username", name or value)
            account.add("service", detail or platform)
            linked.append(account)
        elif kind == "wallet":
            wallet = _entity("CryptoWallet", value)
            wallet.add("cryptoAddress", value)
            wallet.add("currency", detail)
            linked.append(wallet)
    yield document
    for entity in linked:
        if entity.id not in accounts:
            accounts.add(str(entity.id))
            yield entity
        link = _entity("UnknownLink", ad["ad_key"], str(entity.id))
        link.add("subject", document.id)
        link.add("object", entity.id)
        link.add("role", "mentioned in ad")
        yield link


def write_entities(engine: DuckDBEngine, out: Path) -> int:
    """Write FtM JSON lines to ``out``; returns the number of entities."""
    count = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for entity in entities(engine):
            handle.write(json.dumps(entity.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count
