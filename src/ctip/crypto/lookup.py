"""Finding what a command names: an address (any spelling of it) or a cluster, and the
addresses that carry an attribution."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ctip.crypto.addresses import ACCOUNT_CHAINS, UTXO_CHAINS, check_address
from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError

CLUSTER = re.compile(r"^(?:cluster:|c)(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class StartSet:
    addresses: np.ndarray
    chain: str
    kind: str  # "address" or "cluster"
    cluster: int | None


def chains(engine: DuckDBEngine) -> list[str]:
    return [
        str(r[0]) for r in engine.rows("SELECT DISTINCT chain FROM crypto_addresses ORDER BY 1")
    ]


def find_address(engine: DuckDBEngine, text: str, chain: str | None = None) -> tuple[int, str]:
    """(address id, chain) of an address string, in its canonical spelling."""
    # every canonical spelling the text could have, looked up in one pass over the addresses
    rules = [chain] if chain else [*UTXO_CHAINS, *ACCOUNT_CHAINS, "other"]
    spellings = {text.strip()}
    for name in rules:
        checked = check_address(name, text)
        if checked is not None:
            spellings.add(checked.address)
    rows = engine.rows(
        "SELECT address_id, chain, address FROM crypto_addresses"
        " WHERE address IN (SELECT unnest($1::VARCHAR[]))" + (" AND chain = $2" if chain else ""),
        [sorted(spellings), chain] if chain else [sorted(spellings)],
    )
    found: list[tuple[int, str]] = [
        (int(r[0]), str(r[1]))
        for r in rows
        if (checked := check_address(str(r[1]), text)) is not None and checked.address == r[2]
    ]
    if not found:
        raise NotFoundError(
            f"address {text} is not in the workspace" + (f" for {chain}" if chain else ""),
            hint="import transactions that involve it ('ctip crypto import')",
        )
    if len(found) > 1:
        raise BadInputError(
            f"address {text} exists on several chains ({', '.join(c for _, c in found)})",
            hint="choose one with --chain",
        )
    return found[0]


def resolve_start(engine: DuckDBEngine, text: str, chain: str | None = None) -> StartSet:
    """An address, or a cluster written ``cluster:ID`` (or ``cID``), as a set of address ids."""
    text = text.strip()
    match = CLUSTER.match(text)
    if match:
        cluster = int(match[1])
        rows = engine.rows(
            "SELECT c.address_id, a.chain FROM crypto_clusters c JOIN crypto_addresses a"
            " USING (address_id) WHERE c.cluster_id = ? ORDER BY 1",
            [cluster],
        )
        if not rows:
            hint = "run 'ctip crypto cluster' first" if not engine.scalar(
                "SELECT count(*) FROM crypto_clusters") else "see 'ctip crypto clusters'"  # fmt: skip
            raise NotFoundError(f"no cluster {cluster}", hint=hint)
        return StartSet(
            np.array([r[0] for r in rows], dtype=np.int64), str(rows[0][1]), "cluster", cluster
        )
    address_id, found_chain = find_address(engine, text, chain)
    cluster_id = engine.scalar(
        "SELECT cluster_id FROM crypto_clusters WHERE address_id = ?", [address_id]
    )
    return StartSet(
        np.array([address_id], dtype=np.int64),
        found_chain,
        "address",
        int(cluster_id) if cluster_id is not None else None,
    )


def tagged_addresses(engine: DuckDBEngine, chain: str) -> np.ndarray:
    """Ids of addresses with a tag of their own or in a cluster that has one."""
    rows = engine.to_arrow(
        "WITH own AS (SELECT a.address_id FROM crypto_tags t JOIN crypto_addresses a"
        "   ON a.chain = t.chain AND a.address = t.address WHERE t.chain = $1),"
        " clusters AS (SELECT DISTINCT c.cluster_id FROM crypto_clusters c SEMI JOIN own USING (address_id))"
        " SELECT address_id FROM own UNION"
        " SELECT c.address_id FROM crypto_clusters c SEMI JOIN clusters USING (cluster_id)",
        [chain],
    )
    return np.sort(rows["address_id"].to_numpy())


def seed_entries(path: Path) -> list[tuple[str, str | None]]:
    """The (address, chain or None) entries listed in a seeds file, blanks left out.

    Accepted: a TagPack (YAML with ``tags``), a table with an ``address`` column (CSV, JSON
    Lines ...; a ``chain`` or ``currency`` column is used when present), or plain text with one
    address (or ``cluster:ID``) per line, ``#`` starting a comment.
    """
    from ctip.ingest.readers import decompress, read_bytes, read_table

    data, _ = decompress(path, read_bytes(path))
    entries: list[tuple[str, str | None]] = []
    suffixes = [s.lower() for s in path.suffixes]
    if ".yaml" in suffixes or ".yml" in suffixes:
        import yaml

        document = yaml.safe_load(data.decode("utf-8-sig"))
        tags = document.get("tags") if isinstance(document, dict) else None
        if not isinstance(tags, list):
            raise BadInputError(f"{path} is not a TagPack (no 'tags' list)")
        entries = [(str(t.get("address", "")), None) for t in tags if isinstance(t, dict)]
    else:
        text = data.decode("utf-8-sig", errors="replace")
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if "address" in first.lower() and ("," in first or "\t" in first or first.startswith("{")):
            table = read_table(path)
            column = next(
                (c for c in table.columns if c.strip().lower() in ("address", "wallet")), None
            )
            if column is None:
                raise BadInputError(f"{path}: no 'address' column")
            chain_column = next(
                (c for c in table.columns if c.strip().lower() in ("chain", "currency", "network")),
                None,
            )
            for row in table.table.to_pylist():
                entries.append(
                    (
                        str(row[column] or ""),
                        str(row[chain_column]).lower()
                        if chain_column and row[chain_column]
                        else None,
                    )
                )
        else:
            entries = [(line.split("#")[0].strip(), None) for line in text.splitlines()]
    return [(text, row_chain) for text, row_chain in entries if text]


def read_seeds(
    engine: DuckDBEngine, path: Path, chain: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Address ids of the seeds listed in ``path`` (see ``seed_entries``), and the entries
    not found in the workspace."""
    ids: list[int] = []
    missing: list[str] = []
    for text, row_chain in seed_entries(path):
        try:
            ids.extend(resolve_start(engine, text, row_chain or chain).addresses.tolist())
        except (NotFoundError, BadInputError):
            missing.append(text)
    if not ids:
        raise NotFoundError(
            f"none of the {len(missing)} seeds in {path} is in the workspace",
            hint="import the transactions that involve them first",
        )
    return np.unique(np.array(ids, dtype=np.int64)), missing
