"""Contention: N deal writers at once in one tenant, and N contacts of one customer,
through the API, with DynamoDB's conflict rule in front of DynamoDB Local
(``tests/conflict_proxy.py``).

Each scenario runs twice in the same process: as the data layer is (aggregate
buckets over ``series.SHARDS`` shards, a customer's reference count over
``refs.SHARDS`` items), and with both set back to one item, the layout before
sharding, as the baseline. Printed per run: client-visible errors, write
requests, of those refused as conflicting, retries, wall time.

    .venv/bin/python -m bench.contention [--writers 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.stack import dynamodb_local_stack
from dal.derived import series
from dal.models import Entity
from dal.records import refs
from settings import Settings
from tests.contention import CREATE_CONTACT, CREATE_DEAL, Outcome, crowd, deal, deal_writes


@dataclass
class Tally:
    runs: int = 0
    errors: int = 0
    writes: int = 0
    refused: int = 0
    retried: int = 0
    seconds: float = 0.0

    def add(self, o: Outcome) -> None:
        self.runs += 1
        self.errors += len(o.errors)
        self.writes += o.requests
        self.refused += o.refused
        self.retried += o.retried
        self.seconds += o.seconds

    def line(self, label: str) -> str:
        n = max(self.runs, 1)
        return (
            f"{label:<46} {self.errors:>6} {self.writes / n:>8.0f} {self.refused / n:>8.0f}"
            f" {self.retried / n:>8.0f} {self.seconds / n:>8.2f}"
        )


@contextmanager
def unsharded() -> Iterator[None]:
    """The layout before sharding: one item per aggregate bucket and per count."""
    saved = series.SHARDS, dict(refs.SHARDS)
    series.SHARDS, refs.SHARDS[Entity.CUSTOMER] = 1, 1
    try:
        yield
    finally:
        series.SHARDS, refs.SHARDS[Entity.CUSTOMER] = saved[0], saved[1][Entity.CUSTOMER]


async def deals_round(settings: Settings, url: str, tenant: str, writers: int) -> Outcome:
    async with crowd(settings, url) as c:
        customers = await c.setup(tenant, customers=10)
        made = [await c.ask(CREATE_DEAL, i=deal(customers[n], 1000 + n)) for n in range(10)]
        deals = [str(m["data"]["createOpportunity"]["id"]) for m in made]
        return await c.at_once(deal_writes(customers, deals, writers - len(deals)))


async def children_round(settings: Settings, url: str, tenant: str, writers: int) -> Outcome:
    async with crowd(settings, url) as c:
        (customer,) = await c.setup(tenant, customers=1)
        writes = [(CREATE_CONTACT, {"c": customer, "n": f"L{n}"}) for n in range(writers)]
        return await c.at_once(writes)


async def main(writers: int, rounds: int) -> None:
    async with dynamodb_local_stack("bench-contention-") as (settings, _):
        url = str(settings.aws.dynamodb_endpoint)
        print(f"{writers} writers at once, {rounds} rounds each; figures per round\n")
        head = ("errors", "writes", "refused", "retried", "s")
        print(f"{'scenario':<46} {head[0]:>6} " + " ".join(f"{h:>8}" for h in head[1:]))
        scenarios = (
            ("deals in one tenant", deals_round),
            ("contacts of one customer", children_round),
        )
        for name, scenario in scenarios:
            for label, layout in (("unsharded (baseline)", unsharded), ("sharded", _as_is)):
                tally = Tally()
                with layout():
                    for r in range(rounds):
                        tenant = f"bench-{name.split()[0]}-{label.split()[0]}-{r}"
                        tally.add(await scenario(settings, url, tenant, writers))
                print(tally.line(f"{name}, {label}"))


@contextmanager
def _as_is() -> Iterator[None]:
    yield


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.writers, args.rounds))
