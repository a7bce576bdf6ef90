"""A synthetic UTXO economy with known ground truth, for tests, the demo and benchmarks.

Nothing here is real: addresses are valid bech32 (P2WPKH) strings over random 20-byte programs,
owners are numbered. The economy has the patterns an investigator meets:

- ordinary users paying each other and merchants, with a fresh change address per payment;
- exchanges with one deposit address per customer, consolidations of deposits into hot
  wallets, and batched withdrawals;
- a mining pool paying users in batches (the money supply);
- a custodial mixer (deposits at fresh addresses, payouts from a pool) and CoinJoin rounds
  (equal-value outputs for many participants, with change) - many owners in one transaction;
- PayJoins (sender and receiver both spend an input): multi-owner but deliberately invisible;
- ad networks (the known-bad actors): customers pay their advertised wallets, the network
  consolidates, then peels the proceeds off in long peel chains to exchange accounts, the
  mixer and CoinJoins.

Every address has an owner and every owner a category, so clustering precision/recall and
exposure rankings can be scored exactly. The generator is a loop over transactions writing into
compact arrays (a few microseconds per transaction), so ten million transactions are feasible.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

KINDS = (
    "coinbase",
    "payment",
    "deposit",
    "withdrawal",
    "consolidation",
    "coinjoin",
    "payjoin",
    "ad-payment",
    "peel",
    "mixer",
)
K = {name: i for i, name in enumerate(KINDS)}
CATEGORIES = ("user", "merchant", "exchange", "miner", "mixer", "coordinator", "ad-network")
SAT = 100_000_000
DUST = 546


@dataclass
class Owner:
    name: str
    category: str
    bad: bool = False


@dataclass
class GeneratedChain:
    """Transactions as arrays (values in satoshi), with the owner of every address."""

    chain: str
    owners: list[Owner]
    tx_kind: np.ndarray
    tx_time: np.ndarray  # Unix seconds
    tx_block: np.ndarray
    out_tx: np.ndarray
    out_n: np.ndarray
    out_addr: np.ndarray
    out_value: np.ndarray
    in_tx: np.ndarray
    in_n: np.ndarray
    in_prev: np.ndarray  # index into the out_* arrays
    addr_owner: np.ndarray
    ad_wallets: np.ndarray  # addresses published in ads
    seed: int
    _strings: np.ndarray | None = field(default=None, repr=False)

    @property
    def transactions(self) -> int:
        return int(self.tx_kind.shape[0])

    @property
    def in_addr(self) -> np.ndarray:
        addresses: np.ndarray = self.out_addr[self.in_prev]
        return addresses

    @property
    def in_value(self) -> np.ndarray:
        values: np.ndarray = self.out_value[self.in_prev]
        return values

    def owner_category(self) -> np.ndarray:
        codes = np.array([CATEGORIES.index(o.category) for o in self.owners], dtype=np.int8)
        categories: np.ndarray = codes[self.addr_owner]
        return categories

    def bad_addresses(self) -> np.ndarray:
        bad = np.array([o.bad for o in self.owners], dtype=bool)
        return np.flatnonzero(bad[self.addr_owner])

    def addresses(self) -> np.ndarray:
        """Address strings (numpy unicode array), made once from seeded random programs."""
        if self._strings is None:
            rng = np.random.default_rng(self.seed + 7919)
            programs = rng.integers(0, 256, size=(self.addr_owner.shape[0], 20), dtype=np.uint8)
            self._strings = bech32_p2wpkh(programs)
        return self._strings

    def txids(self) -> list[str]:
        rng = np.random.default_rng(self.seed + 104729)
        raw = rng.integers(0, 256, size=(self.transactions, 32), dtype=np.uint8)
        return [bytes(row).hex() for row in raw]


def bech32_p2wpkh(programs: np.ndarray, hrp: str = "bc") -> np.ndarray:
    """BIP-173 addresses for many 20-byte programs at once (the checksum is vectorised)."""
    count = programs.shape[0]
    groups = np.unpackbits(programs, axis=1).reshape(count, 32, 5)
    data = groups.astype(np.uint32) @ np.array([16, 8, 4, 2, 1], dtype=np.uint32)
    values = [np.uint32(ord(c) >> 5) for c in hrp] + [np.uint32(0)]
    values += [np.uint32(ord(c) & 31) for c in hrp]
    generators = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = np.ones(count, dtype=np.uint32)
    columns: list[np.ndarray] = [np.full(count, v, dtype=np.uint32) for v in values]
    columns.append(np.zeros(count, dtype=np.uint32))  # witness version 0
    columns.extend(data[:, i] for i in range(32))
    columns.extend(np.zeros(count, dtype=np.uint32) for _ in range(6))
    for value in columns:
        top = check >> 25
        check = ((check & 0x1FFFFFF) << 5) ^ value
        for index, generator in enumerate(generators):
            check ^= np.where((top >> index) & 1, np.uint32(generator), np.uint32(0))
    check ^= 1
    checksum = np.stack([(check >> (5 * (5 - i))) & 31 for i in range(6)], axis=1)
    symbols = np.concatenate([np.zeros((count, 1), dtype=np.uint32), data, checksum], axis=1)
    charset = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", dtype=np.uint8)
    body = charset[symbols]
    prefix = np.frombuffer((hrp + "1").encode(), dtype=np.uint8)
    raw = np.concatenate([np.tile(prefix, (count, 1)), body], axis=1)
    width = raw.shape[1]
    return raw.astype(np.uint8).view(f"S{width}").ravel().astype(f"U{width}")


class _Economy:
    """The transaction loop. Pockets: 0 = main (hot wallet, collection), 1 = incoming."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.owners: list[Owner] = []
        self.pockets: list[tuple[list[int], list[int]]] = []
        self.addr_owner = array("q")
        self.addr_pocket = array("b")
        self.out_tx, self.out_n, self.out_addr, self.out_value = (
            array("q"),
            array("i"),
            array("q"),
            array("q"),
        )
        self.in_tx, self.in_n, self.in_prev = array("q"), array("i"), array("q")
        self.tx_kind = array("b")
        self._random = rng.random(1 << 16)
        self._cursor = 0

    def uniform(self) -> float:
        if self._cursor == len(self._random):
            self._random, self._cursor = self.rng.random(1 << 16), 0
        self._cursor += 1
        return float(self._random[self._cursor - 1])

    def pick(self, items: list[int]) -> int:
        return items[int(self.uniform() * len(items))]

    def owner(self, name: str, category: str, bad: bool = False) -> int:
        self.owners.append(Owner(name, category, bad))
        self.pockets.append(([], []))
        return len(self.owners) - 1

    def address(self, owner: int, pocket: int = 0) -> int:
        self.addr_owner.append(owner)
        self.addr_pocket.append(pocket)
        return len(self.addr_owner) - 1

    def take(self, owner: int, pocket: int, count: int) -> list[int]:
        """Remove up to ``count`` random unspent outputs from an owner's pocket."""
        pool = self.pockets[owner][pocket]
        taken = []
        for _ in range(min(count, len(pool))):
            index = int(self.uniform() * len(pool))
            pool[index], pool[-1] = pool[-1], pool[index]
            taken.append(pool.pop())
        return taken

    def total(self, outputs: list[int]) -> int:
        return sum(self.out_value[o] for o in outputs)

    def tx(self, kind: str, inputs: list[int], outputs: list[tuple[int, int]]) -> int:
        tx = len(self.tx_kind)
        self.tx_kind.append(K[kind])
        for n, prev in enumerate(inputs):
            self.in_tx.append(tx)
            self.in_n.append(n)
            self.in_prev.append(prev)
        for n, (address, value) in enumerate(outputs):
            output = len(self.out_value)
            self.out_tx.append(tx)
            self.out_n.append(n)
            self.out_addr.append(address)
            self.out_value.append(value)
            owner = self.addr_owner[address]
            self.pockets[owner][self.addr_pocket[address]].append(output)
        return tx


def generate_chain(
    transactions: int = 20_000,
    *,
    seed: int = 1,
    users: int | None = None,
    exchanges: int = 6,
    merchants: int | None = None,
    ad_networks: int = 4,
    coinjoin_share: float = 0.01,
    payjoin_share: float = 0.001,
    txs_per_block: int = 200,
    start_time: int = 1_640_995_200,
    chain: str = "btc",
) -> GeneratedChain:
    """Generate about ``transactions`` transactions; see the module docstring."""
    from ctip.crypto.generate_steps import run_economy

    rng = np.random.default_rng(seed)
    economy = _Economy(rng)
    ad_wallets = run_economy(
        economy,
        transactions,
        users=users or max(200, transactions // 8),
        exchanges=exchanges,
        merchants=merchants or max(20, transactions // 400),
        ad_networks=ad_networks,
        coinjoin_share=coinjoin_share,
        payjoin_share=payjoin_share,
    )
    count = len(economy.tx_kind)
    spacing = 600.0 / txs_per_block
    tx_time = start_time + np.arange(count) * spacing + rng.random(count) * spacing
    return GeneratedChain(
        chain=chain,
        owners=economy.owners,
        tx_kind=np.frombuffer(economy.tx_kind, dtype=np.int8).copy(),
        tx_time=tx_time.astype(np.int64),
        tx_block=(np.arange(count) // txs_per_block).astype(np.int64),
        out_tx=np.frombuffer(economy.out_tx, dtype=np.int64).copy(),
        out_n=np.frombuffer(economy.out_n, dtype=np.int32).copy(),
        out_addr=np.frombuffer(economy.out_addr, dtype=np.int64).copy(),
        out_value=np.frombuffer(economy.out_value, dtype=np.int64).copy(),
        in_tx=np.frombuffer(economy.in_tx, dtype=np.int64).copy(),
        in_n=np.frombuffer(economy.in_n, dtype=np.int32).copy(),
        in_prev=np.frombuffer(economy.in_prev, dtype=np.int64).copy(),
        addr_owner=np.frombuffer(economy.addr_owner, dtype=np.int64).copy(),
        ad_wallets=np.array(sorted(ad_wallets), dtype=np.int64),
        seed=seed,
    )
