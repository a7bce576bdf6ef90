"""A synthetic account-chain (Ethereum-style) economy with known owners, for tests and the demo.

Users pay each other and withdraw from exchanges; exchanges give each customer a deposit
address that is swept into a hot wallet; a mixing pool takes fixed-denomination deposits and
pays out later to fresh addresses of the depositor (as Tornado-style pools do); ad networks
(the known-bad owners) receive customer payments at advertised addresses, forward them to
fresh collector addresses and cash out through exchange deposits and the pool. Addresses are
random 20-byte hex, transaction hashes random 32-byte hex: nothing is real.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ctip.crypto.generate import Owner


@dataclass
class GeneratedTransfers:
    owners: list[Owner]
    addr_owner: np.ndarray
    source: np.ndarray
    target: np.ndarray
    value: np.ndarray  # ETH
    time: np.ndarray  # Unix seconds
    ad_wallets: np.ndarray
    seed: int

    def addresses(self) -> list[str]:
        rng = np.random.default_rng(self.seed + 17)
        raw = rng.integers(0, 256, size=(self.addr_owner.shape[0], 20), dtype=np.uint8)
        return ["0x" + bytes(row).hex() for row in raw]

    def hashes(self) -> list[str]:
        rng = np.random.default_rng(self.seed + 23)
        raw = rng.integers(0, 256, size=(self.source.shape[0], 32), dtype=np.uint8)
        return ["0x" + bytes(row).hex() for row in raw]

    def bad_addresses(self) -> np.ndarray:
        bad = np.array([o.bad for o in self.owners], dtype=bool)
        return np.flatnonzero(bad[self.addr_owner])

    def write_csv(self, path: Path) -> Path:
        """An explorer-style export: Txhash, Blockno, UnixTimestamp, From, To, Value."""
        names, hashes = self.addresses(), self.hashes()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Txhash", "Blockno", "UnixTimestamp", "From", "To", "Value"])
            for k in range(self.source.shape[0]):
                writer.writerow(
                    [hashes[k], 14_000_000 + int(self.time[k] - self.time[0]) // 12, int(self.time[k]),
                     names[self.source[k]], names[self.target[k]], f"{self.value[k]:.9f}"]
                )  # fmt: skip
        return path


class _Uniform:
    """An endless supply of uniform numbers, drawn from NumPy in blocks."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.block: list[float] = []

    def __iter__(self) -> _Uniform:
        return self

    def __next__(self) -> float:
        if not self.block:
            self.block = self.rng.random(1 << 16).tolist()
        return self.block.pop()


def generate_transfers(
    transfers: int = 20_000,
    *,
    seed: int = 1,
    users: int | None = None,
    exchanges: int = 4,
    ad_networks: int = 3,
) -> GeneratedTransfers:
    """About ``transfers`` transfers; see the module docstring."""
    rng = np.random.default_rng(seed)
    uniform = _Uniform(rng)
    owners: list[Owner] = []
    addr_owner: list[int] = []
    balance: list[float] = []
    rows: list[tuple[int, int, float]] = []
    pending: list[tuple[int, float]] = []

    def owner(name: str, category: str, bad: bool = False) -> int:
        owners.append(Owner(name, category, bad))
        return len(owners) - 1

    def address(who: int) -> int:
        addr_owner.append(who)
        balance.append(0.0)
        return len(addr_owner) - 1

    def send(a: int, b: int, value: float) -> None:
        value = round(min(value, balance[a]), 9)
        if value <= 0:
            return
        balance[a] -= value
        balance[b] += value
        rows.append((a, b, value))

    def pick(items: list[int]) -> int:
        return items[int(next(uniform) * len(items))]

    user_count = users or max(100, transfers // 10)
    user_owners = [owner(f"user-{i}", "user") for i in range(user_count)]
    user_address = [address(u) for u in user_owners]
    exchange_owners = [owner(f"exchange-{i}", "exchange") for i in range(exchanges)]
    hot = [address(x) for x in exchange_owners]
    deposit: dict[tuple[int, int], int] = {}
    mixer = owner("mixing-pool", "mixer")
    pool = address(mixer)
    networks = [owner(f"ad-network-{i}", "ad-network", bad=True) for i in range(ad_networks)]
    advertised = {n: [address(n) for _ in range(2)] for n in networks}
    collectors = {n: [address(n)] for n in networks}
    for h in hot:
        balance[h] = 1e6  # exchanges hold customers' funds from before the export
    while len(rows) < transfers:
        draw = next(uniform)
        if draw < 0.15:  # exchange withdrawal to a user
            send(pick(hot), pick(user_address), 0.05 + next(uniform) * 3)
        elif draw < 0.45:  # user to user
            a = pick(user_address)
            send(a, pick(user_address), balance[a] * (0.1 + 0.5 * next(uniform)))
        elif draw < 0.55:  # user deposit at an exchange
            a = pick(user_address)
            x = int(next(uniform) * exchanges)
            key = (x, a)
            if key not in deposit:
                deposit[key] = address(exchange_owners[x])
            send(a, deposit[key], balance[a] * (0.3 + 0.6 * next(uniform)))
        elif draw < 0.62:  # sweep deposits into the hot wallet
            keys = list(deposit)
            for _ in range(1 + int(next(uniform) * 5)):
                if keys:
                    x, who = keys[int(next(uniform) * len(keys))]
                    send(deposit[(x, who)], hot[x], balance[deposit[(x, who)]])
        elif draw < 0.75:  # customer pays an ad network
            a = pick(user_address)
            n = pick(networks)
            send(a, pick(advertised[n]), min(balance[a], 0.02 + next(uniform) * 0.3))
        elif draw < 0.83:  # network forwards to a fresh collector
            n = pick(networks)
            source = pick(advertised[n])
            fresh = address(n)
            collectors[n].append(fresh)
            send(source, fresh, balance[source])
        elif draw < 0.93:  # collector cashes out: exchange deposit or mixing pool
            n = pick(networks)
            c = pick(collectors[n])
            if next(uniform) < 0.6:
                x = networks.index(n) % exchanges
                key = (x, -1 - n)
                if key not in deposit:
                    deposit[key] = address(exchange_owners[x])
                send(c, deposit[key], balance[c] * (0.5 + 0.5 * next(uniform)))
            elif balance[c] >= 0.1:
                amount = 1.0 if balance[c] >= 1.0 else 0.1
                send(c, pool, amount)
                pending.append((n, amount))
        else:  # pool pays out to a fresh address of an earlier depositor
            if pending:
                n, amount = pending.pop(int(next(uniform) * len(pending)))
                fresh = address(n)
                collectors[n].append(fresh)  # the withdrawn coins are cashed out later too
                send(pool, fresh, amount)
    count = len(rows)
    start = 1_650_000_000
    times = start + np.cumsum(rng.exponential(30.0, size=count)).astype(np.int64)
    ad = np.array(sorted(a for wallets in advertised.values() for a in wallets), dtype=np.int64)
    return GeneratedTransfers(
        owners=owners,
        addr_owner=np.array(addr_owner, dtype=np.int64),
        source=np.array([r[0] for r in rows], dtype=np.int64),
        target=np.array([r[1] for r in rows], dtype=np.int64),
        value=np.array([r[2] for r in rows]),
        time=times,
        ad_wallets=ad,
        seed=seed,
    )
