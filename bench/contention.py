"""Contention: one tenant's writers at once, through the API, against a plain put.

DynamoDB's conflict rule sits in front of DynamoDB Local (``tests/conflict_proxy.py``:
a transaction on an item another one holds is cancelled, as on DynamoDB). For 1, 4
and 16 writers (asyncio tasks over one pooled client), each for ``--seconds``:

- plain put/s: a one-item conditional TransactWriteItems put per call, straight to
  the store through the same proxy (the baseline of the same run);
- createCustomer/s: the mutation over the ASGI app (one process);
- transactions per create: write requests the proxy saw per create (1.00: never
  retried); errors: answers with errors.

Then the lag: while 16 writers create customers, the stream consumer runs in the
same process; for each create, the time from its response to the consumer's
commit of its aggregates, and to the numbering of its change-log entry (when a
delta sync sees it) (p50, p99, max). And 16 concurrent deletes: transactions
each, and the slowest.

    .venv/bin/python -m bench.contention [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bench.stack import dynamodb_local_stack
from dal.dynamodb.tables import CHANGES
from dal.streams.apply import Applier
from dal.streams.changes import Change
from dal.streams.checkpoints import Checkpoint
from services import Services, stream_consumer
from tests.contention import CREATE_CUSTOMER, Crowd, crowd

WRITERS = (1, 4, 16)
PER = "transactions per create"
DELETE_CUSTOMER = "mutation($id: ID!) { deleteCustomer(id: $id) }"


@dataclass
class Cell:
    done: int = 0
    errors: int = 0
    requests: int = 0
    seconds: float = 0.0
    answered: dict[str, float] = field(default_factory=dict)  # id -> when answered

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


async def _for(
    seconds: float, writers: int, one: Callable[[int, int], Awaitable[str | None]]
) -> Cell:
    """``writers`` tasks calling ``one(writer, n)`` until ``seconds`` have passed."""
    cell, stop = Cell(), time.perf_counter() + seconds

    async def loop(w: int) -> None:
        n = 0
        while time.perf_counter() < stop:
            made = await one(w, n)
            n += 1
            if made is None:
                cell.errors += 1
                continue
            cell.done += 1
            cell.answered[made] = time.monotonic()

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(writers)))
    cell.seconds = time.perf_counter() - started
    return cell


async def plain(c: Crowd, table: str, seconds: float, writers: int, tag: str) -> Cell:
    client = c.services.dynamo_client

    async def put(w: int, n: int) -> str | None:
        pk = f"plain-{tag}-{writers}-{w}-{n}"
        item = {"TableName": table, "Item": {"pk": {"S": pk}}}
        op = {"Put": item | {"ConditionExpression": "attribute_not_exists(pk)"}}
        try:
            await client.transact_write_items(TransactItems=[op])  # type: ignore[list-item]
        except Exception:  # a refused put: an error of the baseline
            return None
        return pk

    return await _counted(c, _for(seconds, writers, put))


async def creates(c: Crowd, seconds: float, writers: int, tag: str) -> Cell:
    async def create(w: int, n: int) -> str | None:
        answer = await c.ask(CREATE_CUSTOMER, n=f"Bench {tag} {writers} {w} {n}")
        if answer.get("errors"):
            return None
        return str(answer["data"]["createCustomer"]["id"])

    return await _counted(c, _for(seconds, writers, create))


async def _counted(c: Crowd, running: Awaitable[Cell]) -> Cell:
    seen, _ = c.proxy.counts()
    cell = await running
    cell.requests = c.proxy.counts()[0] - seen
    return cell


class Timed(Applier):
    """The consumer's applier, noting when each record's change was committed to the
    aggregates, and when its change-log entry was numbered (delta sync sees it)."""

    def __init__(self, base: Applier) -> None:
        super().__init__(base.dynamo, base.scopes, base.cache, base._extra)
        self.applied: dict[str, float] = {}
        self.sequenced: dict[str, float] = {}

    async def apply(
        self,
        at: Checkpoint,
        name: str,
        changes: Sequence[Change],
        as_of: datetime,
        done: bool = False,
    ) -> Checkpoint:
        moved = await super().apply(at, name, changes, as_of, done)
        now = time.monotonic()
        noted = self.sequenced if name == CHANGES.entity else self.applied
        for change in changes:
            noted.setdefault(str(change.item.get("id", "")), now)
        return moved


async def lag(
    c: Crowd, direct: Services, seconds: float, writers: int
) -> tuple[list[float], list[float]]:
    """Seconds from each create's response to its aggregates' commit, and to its
    change-log entry's number (what a delta sync reads)."""
    consumer = stream_consumer(direct)
    await consumer.settle()  # what the earlier runs wrote: not this run's lag
    timed = Timed(consumer.applier)
    consumer.applier = timed
    running = asyncio.create_task(consumer.run_forever())
    try:
        cell = await creates(c, seconds, writers, "lag")
        await _caught_up(cell, timed)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    return _since(cell, timed.applied), _since(cell, timed.sequenced)


def _since(cell: Cell, at: dict[str, float]) -> list[float]:
    return sorted(at[i] - t for i, t in cell.answered.items() if i in at)


async def _caught_up(cell: Cell, timed: Timed, wait_s: float = 30) -> None:
    """Until the consumer has applied every create of ``cell`` (or ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    for _ in range(int(wait_s / 0.05)):
        done = set(cell.answered) <= set(timed.applied) & set(timed.sequenced)
        if done or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)


async def deletes(c: Crowd, n: int) -> tuple[float, float, int]:
    """``n`` customers deleted at once: (transactions each, slowest s, errors)."""
    made = [await c.ask(CREATE_CUSTOMER, n=f"Doomed {i}") for i in range(n)]
    ids = [str(m["data"]["createCustomer"]["id"]) for m in made]
    seen, _ = c.proxy.counts()

    async def drop(id: str) -> tuple[float, bool]:
        began = time.perf_counter()
        answer = await c.ask(DELETE_CUSTOMER, id=id)
        return time.perf_counter() - began, bool(answer.get("errors"))

    timings = await asyncio.gather(*(drop(i) for i in ids))
    requests = c.proxy.counts()[0] - seen
    return requests / n, max(t for t, _ in timings), sum(e for _, e in timings)


def _lag(what: str, lags: list[float]) -> str:
    return (
        f"lag, response to {what}, 16 writers, {len(lags)} creates:"
        f" p50 {_pct(lags, 0.5) * 1000:.0f} ms, p99 {_pct(lags, 0.99) * 1000:.0f} ms,"
        f" max {max(lags, default=float('nan')) * 1000:.0f} ms"
        f" (mean {statistics.fmean(lags) * 1000 if lags else float('nan'):.0f} ms)"
    )


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


async def main(seconds: float) -> None:
    async with dynamodb_local_stack("bench-contention-") as (settings, direct):
        url = str(settings.aws.dynamodb_endpoint)
        table = f"{settings.dynamo.table_prefix}Customers"
        async with crowd(settings, url) as c:
            await c.setup("bench-contention", customers=0)
            await creates(c, 1.0, 4, "warm")  # first requests: imports, connections
            print(
                f"one tenant, {seconds:.0f} s per cell, DynamoDB Local behind the conflict proxy\n"
            )
            print(f"| writers | plain put/s | createCustomer/s | ratio | {PER} | errors |")
            print("|---|---|---|---|---|---|")
            rates: dict[int, float] = {}
            refusals: dict[int, dict[str, int]] = {}
            for n in WRITERS:
                base = await plain(c, table, seconds, n, "t")
                met = dict(c.proxy.stats()["on"])
                made = await creates(c, seconds, n, "t")
                now_met = c.proxy.stats()["on"]
                refusals[n] = {
                    k: v - met.get(k, 0) for k, v in now_met.items() if v > met.get(k, 0)
                }
                rates[n] = made.rate
                ratio = made.rate / base.rate if base.rate else float("nan")
                per = made.requests / made.done if made.done else float("nan")
                print(
                    f"| {n} | {base.rate:.1f} | {made.rate:.1f} | {ratio:.2f}x | {per:.2f} |"
                    f" {made.errors} |"
                )
            print(f"\n16 writers: {rates[16] / rates[1]:.1f}x the one-writer rate")
            for n, met in refusals.items():
                print(f"  creates cancelled by conflicts, {n} writers, on: {met or 'nothing'}")
            lags, synced = await lag(c, direct, seconds, 16)
            print(_lag("aggregates committed", lags))
            print(_lag("change-log entry numbered (delta sync sees it)", synced))
            per, slowest, errors = await deletes(c, 16)
            print(f"16 deletes at once: {per:.2f} transactions each, slowest {slowest:.2f} s,")
            print(f"  {errors} errors")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    asyncio.run(main(args.seconds))
