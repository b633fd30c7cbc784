"""Bulk loading: many records of one tenant with BatchWriteItem, for imports and benchmarks.

The result is the stored state the repositories would have produced by creating
the same records one by one (``Repo.create``): every record item (``Codec.item``,
version 1), the refs item of each record others may point at (its ``refCount``
the number that do), and the search-term items. The aggregates follow from the
tables' streams as for any write (``dal/streams``): a load writes none, so a
restore into a tenant whose records were deleted adds to its counters (back at
zero), never overwrites them.
It costs about one write request per 25 items instead of one transaction per
record.

**Only for an EMPTY tenant.** BatchWriteItem has no conditions: a record or an
aggregate that is already stored is overwritten, not added to, and nothing is
checked against what the tenant holds. References must point at records in
the same load (as a create checks that they exist) and ids must be unique in
it; both are checked before the first write. The load is not atomic: if it
fails part way, the tenant holds part of the data (empty it before loading
again).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from dal.backoff import jittered_sleep
from dal.boto_errors import DYNAMODB, translated
from dal.derived import contributions
from dal.dynamodb.items import Item, serialize
from dal.dynamodb.tables import SEARCH_TERMS
from dal.errors import AlreadyExists, MissingReference, Throttled
from dal.models import Entity, Record
from dal.records import refs
from dal.records.codec import Codec
from dal.store import Repos
from dal.sync.pull import FULL_ORDER

BATCH_WRITE_MAX = 25  # DynamoDB's limit on requests per BatchWriteItem
Progress = Callable[[int, int], None]  # (items written so far, items in the load)


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """What a load wrote: items per table (full table names), and the requests it took."""

    records: int
    items: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0  # requests that resent items DynamoDB had left unprocessed

    @property
    def total_items(self) -> int:
        return sum(self.items.values())


@dataclass(frozen=True, slots=True)
class Plan:
    """Every item a load writes, as (table, item), records first."""

    records: int
    puts: list[tuple[str, Item]]


Loaded = dict[tuple[Entity, str], tuple[Codec[Any], Record]]


def plan(repos: Repos, records: Iterable[Record], *, as_stored: bool = False) -> Plan:
    """The items that creating ``records`` one by one would leave in an empty tenant
    (version 1 each), or, ``as_stored``, the records with their versions as given (a
    restore: a device that synced version 5 must not see the record go back to 1).

    Raises ``AlreadyExists`` for an id given twice (per entity), and
    ``MissingReference`` (naming the field) for a reference to a record that is
    not in ``records`` or not the right one (a contact of another customer).
    """
    loaded = _loaded(_codecs(repos), records, as_stored)
    referenced = _referenced(loaded)
    scope, puts, terms = repos.scope, [], []
    for codec, rec in loaded.values():
        table = scope.table(codec.table.entity)
        puts.append((table, codec.item(scope, rec)))
        if codec.referenced:
            for shard in range(refs.shards(codec.entity)):
                counter = refs.item(scope, codec.entity, rec.id, codec.carried(rec), shard)
                counted = referenced[(codec.entity, rec.id, shard)]
                puts.append((table, counter | {refs.REF_COUNT: counted}))
        terms += [contributions.term_item(scope, t) for t in codec.derived(scope, rec).terms]
    puts += [(scope.table(SEARCH_TERMS.entity), item) for item in terms]
    return Plan(len(loaded), puts)


def _loaded(
    codecs: dict[type[Record], Codec[Any]], records: Iterable[Record], as_stored: bool
) -> Loaded:
    loaded: Loaded = {}
    for given in records:
        codec = codecs.get(type(given))
        if codec is None:
            raise TypeError(f"cannot bulk-load a {type(given).__name__}")
        if (codec.entity, given.id) in loaded:
            raise AlreadyExists(given.id)
        loaded[(codec.entity, given.id)] = (
            codec,
            given if as_stored else replace(given, version=1),
        )
    return loaded


def _referenced(loaded: Loaded) -> Counter[tuple[Entity, str, int]]:
    """How many records of the load point at each refs item (a record and one of its
    shards); every reference checked as the transaction of a create checks it."""
    referenced: Counter[tuple[Entity, str, int]] = Counter()
    for codec, rec in loaded.values():
        for ref in codec.refs(rec):
            target = loaded.get((ref.entity, ref.id))
            carried = target[0].carried(target[1]) if target else {}
            if target is None or any(carried.get(a) != v for a, v in ref.where):
                raise MissingReference(ref.field, ref.message)
            if ref.counted:
                referenced[(ref.entity, ref.id, refs.shard_of(rec.id, ref.entity))] += 1
    return referenced


def _codecs(repos: Repos) -> dict[type[Record], Codec[Any]]:
    repositories = (repos.users, repos.customers, repos.contacts)
    codecs: list[Codec[Any]] = [r.codec for r in repositories]
    codecs += [repos.opportunities.codec, repos.activities.codec]
    return {c.record: c for c in codecs}


async def occupied(repos: Repos) -> Entity | None:
    """The first entity the tenant holds a record of; None when a load may go
    (one Query of a record per entity, by the tenant indexes)."""
    for entity in FULL_ORDER:
        repo = repos.of(entity)
        page = await repo.page(repo.listing("byTenant", repos.scope.key("all")), 1)
        if page.items:
            return entity
    return None


async def load(
    repos: Repos,
    records: Iterable[Record],
    *,
    concurrency: int = 4,
    attempts: int = 8,
    backoff: float = 0.05,
    progress: Progress | None = None,
    as_stored: bool = False,
) -> LoadSummary:
    """Write ``records`` (any mix of entities, any order) into ``repos``' EMPTY tenant.

    BatchWriteItem, 25 items a request, ``concurrency`` requests in flight;
    items DynamoDB leaves unprocessed are sent again after a jittered,
    exponentially growing pause, and after ``attempts`` requests for the same
    batch the load stops with ``Throttled``.
    """
    if concurrency < 1 or attempts < 1:
        raise ValueError("concurrency and attempts must be >= 1")
    planned = plan(repos, records, as_stored=as_stored)
    writer = _Writer(repos, attempts, backoff, len(planned.puts), progress)
    batches = iter(_batches(planned.puts))
    try:
        async with asyncio.TaskGroup() as tasks:
            for _ in range(concurrency):
                tasks.create_task(writer.drain(batches))
    except ExceptionGroup as failed:  # callers expect the DAL's errors, not a group
        first = failed.exceptions[0]
        raise first from first.__cause__
    counts = Counter(table for table, _ in planned.puts)
    return LoadSummary(planned.records, dict(counts), writer.requests, writer.retries)


def _batches(puts: list[tuple[str, Item]]) -> Iterator[list[tuple[str, Item]]]:
    for start in range(0, len(puts), BATCH_WRITE_MAX):
        yield puts[start : start + BATCH_WRITE_MAX]


class _Writer:
    def __init__(
        self, repos: Repos, attempts: int, backoff: float, total: int, progress: Progress | None
    ) -> None:
        self._client = repos.users.dynamo.client
        self._attempts = attempts
        self._backoff = backoff
        self._total = total
        self._progress = progress
        self.written = 0
        self.requests = 0
        self.retries = 0

    async def drain(self, batches: Iterator[list[tuple[str, Item]]]) -> None:
        # One shared iterator: each worker takes the next batch when it is free.
        for batch in batches:
            await self._write(batch)
            self.written += len(batch)
            if self._progress is not None:
                self._progress(self.written, self._total)

    async def _write(self, batch: list[tuple[str, Item]]) -> None:
        request: dict[str, Any] = {}
        for table, item in batch:
            request.setdefault(table, []).append({"PutRequest": {"Item": serialize(item)}})
        for attempt in range(self._attempts):
            if attempt:
                self.retries += 1
            self.requests += 1
            async with translated(DYNAMODB, "BatchWriteItem"):
                out = await self._client.batch_write_item(RequestItems=request)
            request = dict(out.get("UnprocessedItems") or {})
            if not request:
                return
            if attempt + 1 < self._attempts:
                await jittered_sleep(attempt, self._backoff)
        raise Throttled("BatchWriteItem: items still unprocessed after retries")
