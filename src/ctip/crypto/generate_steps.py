"""The steps of the synthetic economy (see ``generate``): who pays whom, and how.

Each step writes at most one transaction. Step probabilities are fixed shares of all steps;
a step whose actor has no coins returns without writing, so the mix of transaction kinds is
close to, not exactly, those shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ctip.crypto.generate import DUST, SAT

if TYPE_CHECKING:
    from ctip.crypto.generate import _Economy

REWARD = int(6.25 * SAT)


class _World:
    def __init__(
        self, e: _Economy, users: int, exchanges: int, merchants: int, networks: int
    ) -> None:
        self.e = e
        self.pool = e.owner("mining-pool", "miner")
        self.pool_address = e.address(self.pool)
        self.users = [e.owner(f"user-{i}", "user") for i in range(users)]
        self.receive: dict[int, int] = {}
        self.merchants = [e.owner(f"merchant-{i}", "merchant") for i in range(merchants)]
        self.merchant_addresses = {m: [e.address(m) for _ in range(2)] for m in self.merchants}
        self.exchanges = [e.owner(f"exchange-{i}", "exchange") for i in range(exchanges)]
        self.hot = {x: e.address(x) for x in self.exchanges}
        self.deposit: dict[tuple[int, int], int] = {}
        self.mixer = e.owner("mixer-0", "mixer")
        self.mixer_pool = e.address(self.mixer)
        self.pending: list[tuple[int, int]] = []  # mixer payouts owed: (owner, amount)
        self.coordinator = e.owner("coinjoin-coordinator", "coordinator")
        self.coordinator_address = e.address(self.coordinator)
        self.networks = [
            e.owner(f"ad-network-{i}", "ad-network", bad=True) for i in range(networks)
        ]
        self.ad_wallets = {n: [e.address(n, 1) for _ in range(3)] for n in self.networks}
        self.cashout = {
            n: self.exchanges[i % len(self.exchanges)] for i, n in enumerate(self.networks)
        }

    def fee(self) -> int:
        return 500 + int(self.e.uniform() * 4000)

    def user_address(self, user: int) -> int:
        """A user's receiving address: reused 30% of the time, else fresh."""
        if user in self.receive and self.e.uniform() < 0.3:
            return self.receive[user]
        address = self.e.address(user)
        self.receive[user] = address
        return address

    def deposit_address(self, exchange: int, customer: int) -> int:
        key = (exchange, customer)
        if key not in self.deposit:
            self.deposit[key] = self.e.address(exchange, 1)
        return self.deposit[key]

    def funded_user(self, tries: int = 4) -> int | None:
        for _ in range(tries):
            user = self.e.pick(self.users)
            if self.e.pockets[user][0]:
                return user
        return None

    def spend(
        self, kind: str, payer: int, pocket: int, count: int, to: int, share: tuple[float, float]
    ) -> bool:
        """Pay a share of ``count`` coins to ``to``, change to a fresh payer address."""
        e = self.e
        inputs = e.take(payer, pocket, count)
        if not inputs:
            return False
        total, fee = e.total(inputs), self.fee()
        if total < fee + 2 * DUST:
            e.pockets[payer][pocket].extend(inputs)
            return False
        amount = max(DUST, int(total * (share[0] + e.uniform() * (share[1] - share[0]))))
        change = total - amount - fee
        outputs = [(to, amount)]
        if change > DUST:
            outputs.append((e.address(payer, 0), change))
        else:
            outputs = [(to, total - fee)]
        if e.uniform() < 0.5:
            outputs.reverse()
        e.tx(kind, inputs, outputs)
        return True

    # --- steps --------------------------------------------------------------------------------

    def coinbase(self) -> None:
        self.e.tx("coinbase", [], [(self.pool_address, REWARD)])

    def pool_payout(self) -> None:
        e = self.e
        inputs = e.take(self.pool, 0, 1 + int(e.uniform() * 2))
        if not inputs:
            self.coinbase()
            return
        total = e.total(inputs) - self.fee()
        payees = 10 + int(e.uniform() * 30)
        each = total // (payees * 2)
        if each < DUST * 4:
            e.pockets[self.pool][0].extend(inputs)
            self.coinbase()
            return
        outputs = [
            (self.user_address(e.pick(self.users)), int(each * (0.5 + e.uniform())))
            for _ in range(payees)
        ]
        change = total - sum(v for _, v in outputs)
        outputs.append((self.pool_address, change))
        e.tx("withdrawal", inputs, outputs)

    def payment(self) -> None:
        e = self.e
        if e.uniform() < 0.15:
            payer = e.pick(self.merchants)
        else:
            found = self.funded_user()
            if found is None:
                return
            payer = found
        count = 1 if e.uniform() < 0.6 else (2 if e.uniform() < 0.75 else 3)
        if e.uniform() < 0.4:
            merchant = e.pick(self.merchants)
            to = e.pick(self.merchant_addresses[merchant])
        else:
            to = self.user_address(e.pick(self.users))
        self.spend("payment", payer, 0, count, to, (0.1, 0.9))

    def deposit_step(self) -> None:
        user = self.funded_user()
        if user is not None:
            exchange = self.e.pick(self.exchanges)
            self.spend("deposit", user, 0, 1, self.deposit_address(exchange, user), (0.2, 0.95))

    def consolidation(self, owner: int, to: int, low: int, high: int) -> None:
        e = self.e
        inputs = e.take(owner, 1, low + int(e.uniform() * (high - low)))
        fee = self.fee()
        if len(inputs) < 2 or e.total(inputs) < fee + DUST:
            e.pockets[owner][1].extend(inputs)
            return
        e.tx("consolidation", inputs, [(to, e.total(inputs) - fee)])

    def withdrawal(self) -> None:
        e = self.e
        exchange = e.pick(self.exchanges)
        inputs = e.take(exchange, 0, 1 + int(e.uniform() * 2))
        if not inputs:
            return
        total = e.total(inputs) - self.fee()
        payees = 3 + int(e.uniform() * 17)
        each = total // (payees * 3)
        if each < DUST * 4:
            e.pockets[exchange][0].extend(inputs)
            return
        outputs = [
            (self.user_address(e.pick(self.users)), int(each * (0.3 + e.uniform())))
            for _ in range(payees)
        ]
        outputs.append((self.hot[exchange], total - sum(v for _, v in outputs)))
        e.tx("withdrawal", inputs, outputs)

    def coinjoin(self) -> None:
        e = self.e
        style = e.uniform()
        participants = (
            5
            if style < 0.3
            else (3 + int(e.uniform() * 6) if style < 0.6 else 20 + int(e.uniform() * 40))
        )
        chosen: dict[int, list[int]] = {}
        for _ in range(participants * 2):
            if len(chosen) == participants:
                break
            owner = e.pick(self.networks) if e.uniform() < 0.08 else self.funded_user()
            if owner is None or owner in chosen or not e.pockets[owner][0]:
                continue
            chosen[owner] = e.take(owner, 0, 1 if participants == 5 else 1 + int(e.uniform() * 2))
        totals = {owner: e.total(inputs) for owner, inputs in chosen.items()}
        ranked = sorted(totals.values())
        median = ranked[len(ranked) // 2] if ranked else 0
        denomination = (median * 9 // 10) // 100_000 * 100_000
        for owner in [o for o, total in totals.items() if total < denomination + 5000 + DUST]:
            e.pockets[owner][0].extend(chosen.pop(owner))
        if len(chosen) < 3 or denomination < 100_000:
            for owner, inputs in chosen.items():
                e.pockets[owner][0].extend(inputs)
            return
        inputs, outputs = [], []
        coordinator_fee = denomination // 1000 + DUST if participants > 10 else 0
        for owner, own in chosen.items():
            inputs.extend(own)
            outputs.append((e.address(owner), denomination))
            change = totals[owner] - denomination - self.fee() - coordinator_fee
            if change > DUST:
                outputs.append((e.address(owner), change))
        if coordinator_fee:
            outputs.append((self.coordinator_address, coordinator_fee * len(chosen)))
        order = sorted(range(len(inputs)), key=lambda _: e.uniform())
        e.tx("coinjoin", [inputs[i] for i in order], sorted(outputs, key=lambda _: e.uniform()))

    def payjoin(self) -> None:
        e = self.e
        payer = self.funded_user()
        merchant = e.pick(self.merchants)
        if payer is None or not e.pockets[merchant][0]:
            return
        sent, received = e.take(payer, 0, 1), e.take(merchant, 0, 1)
        total_sent, total_received = e.total(sent), e.total(received)
        amount = int(total_sent * (0.2 + 0.6 * e.uniform()))
        change = total_sent - amount - self.fee()
        if change <= DUST:
            e.pockets[payer][0].extend(sent)
            e.pockets[merchant][0].extend(received)
            return
        outputs = [(e.address(merchant), amount + total_received), (e.address(payer), change)]
        e.tx("payjoin", sent + received, sorted(outputs, key=lambda _: e.uniform()))

    def ad_payment(self) -> None:
        user = self.funded_user()
        if user is not None:
            network = self.e.pick(self.networks)
            self.spend("ad-payment", user, 0, 1, self.e.pick(self.ad_wallets[network]), (0.05, 0.5))

    def ad_consolidation(self) -> None:
        network = self.e.pick(self.networks)
        self.consolidation(network, self.e.address(network, 0), 3, 30)

    def peel(self) -> None:
        e = self.e
        network = e.pick(self.networks)
        pool = e.pockets[network][0]
        if not pool:
            return
        choice = e.uniform()
        if choice < 0.4:
            to = self.deposit_address(self.cashout[network], network)
        elif choice < 0.65:
            to = e.address(self.mixer, 1)
            value = e.out_value[pool[-1]]
            self.pending.append((network, int(value * 0.05)))
        else:
            to = self.user_address(e.pick(self.users))
        self.spend("peel", network, 0, 1, to, (0.02, 0.15))

    def mixer_step(self) -> None:
        e = self.e
        choice = e.uniform()
        if choice < 0.4:
            user = self.funded_user()
            if user is not None:
                to = e.address(self.mixer, 1)
                if self.spend("mixer", user, 0, 1, to, (0.2, 0.8)):
                    self.pending.append((user, int(e.out_value[len(e.out_value) - 1] * 0.3)))
        elif choice < 0.8 and self.pending:
            owner, amount = self.pending.pop(0)
            inputs = e.take(self.mixer, 0, 2)
            total, fee = e.total(inputs), self.fee()
            amount = min(amount, total - fee - DUST)
            if amount <= DUST:
                e.pockets[self.mixer][0].extend(inputs)
                self.pending.append((owner, amount))
                return
            outputs = [(e.address(owner), amount), (self.mixer_pool, total - amount - fee)]
            e.tx("mixer", inputs, outputs)
        else:
            self.consolidation(self.mixer, self.mixer_pool, 2, 15)


def run_economy(
    e: _Economy,
    transactions: int,
    *,
    users: int,
    exchanges: int,
    merchants: int,
    ad_networks: int,
    coinjoin_share: float,
    payjoin_share: float,
) -> set[int]:
    """Run steps until ``transactions`` exist; return the advertised ad-network addresses."""
    world = _World(e, users, exchanges, merchants, ad_networks)
    for _ in range(min(50, max(5, transactions // 200))):
        world.coinbase()
        world.pool_payout()
    steps = [
        (0.01, world.coinbase),
        (0.04, world.pool_payout),
        (0.10, world.deposit_step),
        (0.025, lambda: world.consolidation(x := e.pick(world.exchanges), world.hot[x], 5, 40)),
        (0.05, world.withdrawal),
        (coinjoin_share, world.coinjoin),
        (payjoin_share, world.payjoin),
        (0.08, world.ad_payment),
        (0.01, world.ad_consolidation),
        (0.12, world.peel),
        (0.05, world.mixer_step),
    ]
    thresholds, total = [], 0.0
    for share, step in steps:
        total += share
        thresholds.append((total, step))
    attempts = 0
    while len(e.tx_kind) < transactions and attempts < transactions * 20:
        attempts += 1
        draw = e.uniform()
        for threshold, step in thresholds:
            if draw < threshold:
                step()
                break
        else:
            world.payment()
    return {a for wallets in world.ad_wallets.values() for a in wallets}
