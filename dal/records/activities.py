"""Activities: codec and repository.

An activity points at a customer, contact or opportunity; the related id's
prefix says which (``ids.py``), and ``relatedType`` keeps it on the item.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence

from dal.derived import series
from dal.derived.contributions import Count, Derived
from dal.dynamodb.client import SortCondition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import ACTIVITIES
from dal.models import Activity, ActivityType, Entity, Page
from dal.records.activity_query import SCHEDULED, ActivityQuery, Window
from dal.records.codec import Codec, choice, moment, text
from dal.records.pages import Listing
from dal.records.refs import Ref
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt

RELATABLE = (Entity.CUSTOMER, Entity.CONTACT, Entity.OPPORTUNITY)
COUNTING = 8  # COUNT Queries in flight for one report


def _index_keys(scope: TenantScope, a: Activity) -> dict[str, str | None]:
    when = dump_dt(a.scheduled_at or a.created_at)
    is_open = a.completed_at is None and a.scheduled_at is not None
    return {
        "tenantKey": scope.key("all"),
        "scheduleKey": f"{when}#{a.id}",
        "relatedKey": scope.key(a.related_id),
        "ownerKey": scope.key(a.owner_id) if a.owner_id else None,
        # Sparse: completing an activity drops it from the open (overdue) indexes.
        "openKey": scope.key("open") if is_open else None,
        "openOwnerKey": scope.key(a.owner_id) if is_open and a.owner_id else None,
        "completedKey": scope.key("completed") if a.completed_at else None,
        "completedSortKey": f"{dump_dt(a.completed_at)}#{a.id}" if a.completed_at else None,
    }


def _derived(scope: TenantScope, a: Activity) -> Derived:
    """Per tenant day and owner: planned (scheduled that day, also by type) and completed."""
    name, counts = series.daily(scope, "activity"), []
    if a.scheduled_at:
        day = series.day_of_owner(scope.day(a.scheduled_at), a.owner_id)
        counts += [Count(name, day, "planned", 1), Count(name, day, f"type:{a.type.value}", 1)]
    if a.completed_at:
        day = series.day_of_owner(scope.day(a.completed_at), a.owner_id)
        counts.append(Count(name, day, "completed", 1))
    return Derived(counts=tuple(counts))


def _refs(a: Activity) -> list[Ref]:
    refs = [Ref(a.related_type, a.related_id, "relatedId")]
    if a.owner_id:
        refs.append(Ref(Entity.USER, a.owner_id, "ownerId", counted=False))
    return refs


CODEC = Codec(
    Activity,
    ACTIVITIES,
    (
        text("relatedId", "related_id"),
        choice("relatedType", "related_type", Entity),
        choice("type", "type", ActivityType),
        text("subject", "subject"),
        text("description", "description"),
        moment("scheduledAt", "scheduled_at"),
        moment("completedAt", "completed_at"),
        text("ownerId", "owner_id"),
    ),
    _index_keys,
    _refs,
    _derived,
    archived=True,
    about=lambda a: a.related_id if a.related_type is Entity.CONTACT else None,
)


class ActivityRepo(Repo[Activity]):
    async def find(
        self, query: ActivityQuery, now: str, first: int, after: str | None = None
    ) -> Page[Activity]:
        """``query``'s activities; a window relative to ``now`` (overdue, upcoming)
        keeps the first page's "now" on later pages."""
        now = self.pinned_now(after, now) if query.relative else now
        return await self.page(self._planned(query, now), first, after)

    async def find_all(self, query: ActivityQuery, now: str) -> list[Activity]:
        """Every activity of ``query`` (all pages)."""
        return await self.every(self._planned(query, now))

    def _planned(self, query: ActivityQuery, now: str) -> Listing:
        index, partition, sort, where = query.plan(self.scope, now)
        # Completed: newest first; everything else by schedule, soonest first.
        return self.listing(
            index,
            partition,
            forward=index != "byCompleted",
            sort=sort,
            filter=where,
            now=now if query.relative else None,
        )

    async def overdue_count(self, owner_id: str, now: str) -> int:
        """A user's open activities scheduled before ``now``: one COUNT Query."""
        index = self.codec.table.index("byOwnerOpen")
        sort = (index.sk, SortCondition("<", (now,)))
        return await self.dynamo.count(
            self.table_name, index.name, (index.pk, self.scope.key(owner_id)), sort
        )

    async def overdue_of(self, owner_ids: Sequence[str], now: str) -> dict[str, int]:
        """How many open activities scheduled before ``now`` each of these owners has
        (those with none left out): a COUNT Query each on the sparse per-owner open
        index, ``COUNTING`` at a time. Nothing but the figure comes back, so neither
        the answer nor the memory grows with the tenant's overdue activities."""
        gate = asyncio.Semaphore(COUNTING)

        async def one(owner: str) -> int:
            async with gate:
                return await self.overdue_count(owner, now)

        counts = await asyncio.gather(*(one(o) for o in owner_ids))
        return {o: n for o, n in zip(owner_ids, counts, strict=True) if n}

    async def tally(self, start: str, end: str) -> dict[str | None, Counter[str]]:
        """Per owner (None: no owner), activities planned (scheduled) in [start, end],
        also by type, and completed in it: the records themselves, for the part of a
        report window that is not whole days (whole days come from the aggregates)."""
        counts: dict[str | None, Counter[str]] = defaultdict(Counter)
        window = SortCondition("between", (start, f"{end}~"))
        planned = self.listing("byTenant", self.scope.key("all"), sort=window, filter=SCHEDULED)
        async for items in self._pages(planned):
            for item in items:
                owner = counts[str(item["ownerId"]) if "ownerId" in item else None]
                owner.update(("planned", f"type:{item['type']}"))
        done = self.listing("byCompleted", self.scope.key("completed"), sort=window)
        async for items in self._pages(done):
            for item in items:
                counts[str(item["ownerId"]) if "ownerId" in item else None]["completed"] += 1
        return counts

    async def _pages(self, listing: Listing) -> AsyncIterator[list[Item]]:
        """A listing's items, a few attributes each (what ``tally`` counts), a page
        at a time: counted as they come, never all held."""
        index = listing.index
        pages = self.dynamo.pages(
            self.table_name,
            index.name,
            (index.pk, listing.partition),
            sort=(index.sk, listing.sort) if listing.sort else None,
            filter=listing.filter,
            projection=("ownerId", "type", "tenantId"),
        )
        async for items in pages:
            yield list(filter(self.scope.owns, items))

    async def by_related(
        self, related_id: str, now: str, first: int, after: str | None, window: Window
    ) -> Page[Activity]:
        return await self.find(
            ActivityQuery(related_id=related_id, window=window), now, first, after
        )

    async def by_owner(
        self, owner_id: str, now: str, first: int, after: str | None, window: Window
    ) -> Page[Activity]:
        return await self.find(ActivityQuery(owner_id=owner_id, window=window), now, first, after)
