"""The change log is complete under concurrency: a property test on DynamoDB Local.

Writers with their own view of the heads (as separate servers have), clocks
skewed against each other and delays between taking a number and committing;
readers polling deltas in small pages all the while. Every committed version
is delivered to every reader, none twice, each record's in version order.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dal.errors import AlreadyExists, NotFound, VersionConflict
from dal.store import Repos
from dal.sync.changes import Op
from dal.sync.journal import Journal
from dal.sync.reader import ChangeReader
from dal.sync.sequence import SHARDS
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from services import Services
from tests.conftest import Settle, Tenants
from tests.integration.records import customer

Version = tuple[str, int]


def _skewed(skew_s: float) -> datetime:
    return utcnow() + timedelta(seconds=skew_s)


def _writer_repo(repos: Repos, skew_s: float, delay_s: float, rng: random.Random) -> Repos:
    """The tenant's customers through a journal of its own: its own head guesses,
    its own clock, and a pause between stamping and committing."""
    journal = Journal(
        repos.journal.dynamo,
        repos.scope,
        clock=partial(_skewed, skew_s),
    )

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(0, delay_s))

    journal.stamped = pause
    repos.customers.journal = journal
    return repos


async def _write(repos: Repos, ids: list[str], ops: int, rng: random.Random) -> list[Version]:
    committed: list[Version] = []
    for n in range(ops):
        id = rng.choice(ids)
        try:
            kind = rng.random()
            if kind < 0.35:
                made = await repos.customers.create(customer(id))
                committed.append((id, made.version))
            elif kind < 0.85:
                new = await repos.customers.update(id, partial(replace, industry=f"i{n}"))
                committed.append((id, new.version))
            else:
                gone = await repos.customers.delete(id)
                committed.append((id, gone.version + 1))
        except (AlreadyExists, NotFound, VersionConflict):  # lost to another writer: no commit
            pass
    return committed


class Reader:
    """A device polling deltas in small pages until told the writers are done."""

    def __init__(self, reader: ChangeReader, start: tuple[int, ...], page: int) -> None:
        self.reader, self.positions, self.page = reader, start, page
        self.delivered: list[Version] = []
        self.ops: list[tuple[str, int, Op]] = []

    async def poll(self, done: asyncio.Event) -> None:
        while True:
            finished = done.is_set()  # read before the page: what follows it is complete
            delta = await self.reader.delta(self.positions, self.page, frozenset())
            self.delivered += [(c.id, c.version) for c in delta.changes]
            self.ops += [(c.id, c.version, c.op) for c in delta.changes]
            self.positions = delta.positions
            if finished and not delta.has_more:
                return
            await asyncio.sleep(0.002)


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its draw
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writers=st.integers(4, 10),
    records=st.integers(2, 12),
    delay_ms=st.sampled_from([0, 5, 25]),
    seed=st.integers(0, 2**16),
)
async def test_every_committed_version_reaches_every_reader_once_in_order(
    db: Services,
    tenants: Tenants,
    model: Model,
    repos: Repos,
    settle: Settle,
    writers: int,
    records: int,
    delay_ms: int,
    seed: int,
) -> None:
    rng = random.Random(seed)
    ids = [f"cus_log{seed}x{i}" for i in range(records)]
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    start = await reader.heads()
    readers = [Reader(reader, start, page) for page in (3, 11)]
    done = asyncio.Event()
    polling = [asyncio.ensure_future(r.poll(done)) for r in readers]
    jobs = []
    for _ in range(writers):
        own = db.store.for_tenant(tenants.acme, model)  # one server's request
        mine = _writer_repo(own, rng.uniform(-2, 2), delay_ms / 1000, random.Random(rng.random()))
        jobs.append(_write(mine, ids, 12, random.Random(rng.random())))
    # The sequencer numbers entries all the while the writers write and readers read.
    writing = asyncio.gather(*jobs)
    sequencing = asyncio.ensure_future(_sequence_until(writing, settle))
    committed = [v for batch in await writing for v in batch]
    await sequencing
    await settle()  # every committed entry numbered: what readers see from here is all
    done.set()
    await asyncio.gather(*polling)
    assert committed, "the writers committed nothing: the property is vacuous"
    for r in readers:
        assert Counter(r.delivered) == Counter(committed)  # each once, none missing
        _in_commit_order(r.ops)
    assert len(start) == SHARDS


async def _sequence_until(writing: asyncio.Future[list[list[Version]]], settle: Settle) -> None:
    while not writing.done():
        await settle()
        await asyncio.sleep(0.01)


def _in_commit_order(delivered: list[tuple[str, int, Op]]) -> None:
    """Per record, versions in the order they were committed: each one the last plus one,
    or 1 after a DELETE (an id created again starts a new life at version 1)."""
    last: dict[str, tuple[int, Op]] = {}
    for id, version, op in delivered:
        before = last.get(id)
        if before is None or before[1] is Op.DELETE:
            assert version == 1, (id, before, version)
        else:
            assert version == before[0] + 1, (id, before, version)
        last[id] = (version, op)


async def test_a_rewind_moves_before_the_entries_stamped_since(
    repos: Repos, settle: Settle
) -> None:
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    before = await reader.heads()
    started = time.time() - 0.001
    for n in range(3):
        await repos.customers.create(customer(f"cus_rw{n}"))
    await settle()
    after = await reader.heads()
    assert await reader.rewound(after, started) == before
    assert await reader.rewound(after, time.time() + 1) == after
