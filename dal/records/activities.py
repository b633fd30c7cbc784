"""Activities: codec and repository.

An activity points at a customer, contact or opportunity (``relatedType``
records which table), so its key attributes and references follow that.
"""

from __future__ import annotations

from dataclasses import dataclass

from dal.derived.contributions import Count, Derived
from dal.dynamodb.client import SortCondition
from dal.dynamodb.conditions import Condition, both, matching
from dal.dynamodb.tables import ACTIVITIES
from dal.models import Activity, ActivityType, Entity, Page
from dal.records.codec import Codec, Ref, choice, moment, text
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt

NO_OWNER = "-"  # the owner key of activities without one
RELATABLE = (Entity.CUSTOMER, Entity.CONTACT, Entity.OPPORTUNITY)


def _index_keys(scope: TenantScope, a: Activity) -> dict[str, str | None]:
    when = dump_dt(a.scheduled_at or a.created_at)
    scheduled = dump_dt(a.scheduled_at) if a.scheduled_at else None
    is_open = a.completed_at is None and scheduled is not None
    return {
        "tenantKey": scope.key("all"),
        "scheduleKey": f"{when}#{a.id}",
        "relatedKey": scope.key(a.related_id),
        "ownerKey": scope.key(a.owner_id) if a.owner_id else None,
        "dateKey": scope.key(scheduled[:10]) if scheduled else None,
        "typeKey": f"{a.type.value}#{scheduled}#{a.id}" if scheduled else None,
        # Sparse: completing an activity drops it from the open (overdue) indexes.
        "openKey": scope.key("open") if is_open else None,
        "openOwnerKey": scope.key(a.owner_id) if is_open and a.owner_id else None,
        "completedKey": scope.key("completed") if a.completed_at else None,
        "completedSortKey": f"{dump_dt(a.completed_at)}#{a.id}" if a.completed_at else None,
    }


def _derived(scope: TenantScope, a: Activity) -> Derived:
    """Per day and owner: planned (scheduled that day, also by type) and completed."""
    owner, series, counts = a.owner_id or NO_OWNER, scope.key("activity"), []
    if a.scheduled_at:
        day = f"{dump_dt(a.scheduled_at)[:10]}#{owner}"
        counts += [Count(series, day, "planned", 1), Count(series, day, f"type:{a.type.value}", 1)]
    if a.completed_at:
        counts.append(Count(series, f"{dump_dt(a.completed_at)[:10]}#{owner}", "completed", 1))
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
)


def _window(start: str | None, end: str | None) -> SortCondition | None:
    if start is None and end is None:
        return None
    # Key condition values may not be empty: "0" sorts before every ISO timestamp.
    return SortCondition("between", (start or "0", f"{end or '~'}~"))


class ActivityRepo(Repo[Activity]):
    async def find(
        self, query: ActivityQuery, now: str, first: int, after: str | None = None
    ) -> Page[Activity]:
        index, partition, sort, filter = query.plan(self.scope, now)
        # Completed: newest first; everything else by schedule, soonest first.
        forward = index != "byCompleted"
        return await self.page(
            index, partition, first, after, forward=forward, sort=sort, filter=filter
        )

    async def related_type(self, related_id: str) -> Entity | None:
        """Which table holds ``related_id``: one BatchGetItem over the three."""
        tables = {e: self.scope.table(e) for e in RELATABLE}
        pk = self.scope.pk(related_id)
        found = await self.dynamo.batch_get({t: [pk] for t in tables.values()})
        return next((e for e, t in tables.items() if pk in found.get(t, {})), None)

    async def overdue_count(self, owner_id: str, now: str) -> int:
        """A user's open activities scheduled before ``now``: one COUNT Query."""
        index = self.codec.table.index("byOwnerOpen")
        sort = (index.sk, SortCondition("<", (now,)))
        return await self.dynamo.count(
            self.table_name, index.name, (index.pk, self.scope.key(owner_id)), sort
        )

    async def overdue_by_owner(self, now: str) -> dict[str, int]:
        """How many open activities scheduled before ``now`` each owner has.

        One Query on the sparse open index reading only ``ownerId`` (and the
        tenant, for the read check), 1,000 a call: the cost is the overdue
        backlog, in few requests and small answers."""
        index = self.codec.table.index("byOpen")
        key, sort = (index.pk, self.scope.key("open")), (index.sk, SortCondition("<", (now,)))
        counts: dict[str, int] = {}
        position = None
        while True:
            items, position = await self.dynamo.query(
                self.table_name,
                index.name,
                key,
                sort=sort,
                limit=1000,
                start=position,
                projection=("ownerId", "tenantId"),
            )
            for item in filter(self.scope.owns, items):
                owner = str(item.get("ownerId", NO_OWNER))
                counts[owner] = counts.get(owner, 0) + 1
            if position is None:
                return counts

    async def all(
        self,
        first: int,
        after: str | None = None,
        window: tuple[str | None, str | None] = (None, None),
    ) -> Page[Activity]:
        partition = self.scope.key("all")
        sort, scheduled = _window(*window), _scheduled_in(window)
        return await self.page("byTenant", partition, first, after, sort=sort, filter=scheduled)

    async def by_related(
        self,
        related_id: str,
        first: int,
        after: str | None = None,
        window: tuple[str | None, str | None] = (None, None),
    ) -> Page[Activity]:
        partition = self.scope.key(related_id)
        return await self.page(
            "byRelated",
            partition,
            first,
            after,
            sort=_window(*window),
            filter=_scheduled_in(window),
        )

    async def by_owner(
        self,
        owner_id: str,
        first: int,
        after: str | None = None,
        window: tuple[str | None, str | None] = (None, None),
    ) -> Page[Activity]:
        partition = self.scope.key(owner_id)
        sort, scheduled = _window(*window), _scheduled_in(window)
        return await self.page("byOwner", partition, first, after, sort=sort, filter=scheduled)


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """An activity list filter; times are stored-format strings (see ``timefmt``)."""

    owner_id: str | None = None
    related_id: str | None = None
    type: ActivityType | None = None
    scheduled: tuple[str | None, str | None] = (None, None)
    overdue: bool | None = None
    completed_since: str | None = None

    def plan(
        self, scope: TenantScope, now: str
    ) -> tuple[str, str, SortCondition | None, Condition | None]:
        """(index, partition, sort condition, filter): the narrowest index first."""
        key = scope.key
        equals: dict[str, str] = {"type": self.type.value} if self.type else {}
        if self.overdue:
            sort = SortCondition("<", (now,))
            if self.owner_id:
                return "byOwnerOpen", key(self.owner_id), sort, self._filter(equals, related=True)
            return "byOpen", key("open"), sort, self._filter(equals, related=True, owner=True)
        if self.completed_since:
            sort = SortCondition(">=", (self.completed_since,))
            return "byCompleted", key("completed"), sort, self._filter(equals, True, True)
        window = _window(*self.scheduled)
        extra = _not_overdue(now) if self.overdue is False else None
        if window is not None:
            # Unscheduled activities sort by createdAt; a scheduled-time window excludes them.
            extra = _and(extra, SCHEDULED)
        if self.related_id:
            return (
                "byRelated",
                key(self.related_id),
                window,
                self._filter(equals, owner=True, extra=extra),
            )
        if self.owner_id:
            return "byOwner", key(self.owner_id), window, self._filter(equals, extra=extra)
        return "byTenant", key("all"), window, self._filter(equals, extra=extra)

    def _filter(
        self,
        equals: dict[str, str],
        related: bool = False,
        owner: bool = False,
        extra: Condition | None = None,
    ) -> Condition | None:
        if related and self.related_id:
            equals = equals | {"relatedId": self.related_id}
        if owner and self.owner_id:
            equals = equals | {"ownerId": self.owner_id}
        return matching(equals, extra=extra)


SCHEDULED = Condition("attribute_exists(#sa)", {"#sa": "scheduledAt"}, {})


def _scheduled_in(window: tuple[str | None, str | None]) -> Condition | None:
    return None if window == (None, None) else SCHEDULED


def _and(first: Condition | None, second: Condition) -> Condition:
    return second if first is None else both(first, second)


def _not_overdue(now: str) -> Condition:
    return Condition(
        "attribute_exists(#c) OR attribute_not_exists(#s) OR #s >= :now",
        {"#c": "completedAt", "#s": "scheduledAt"},
        {":now": now},
    )
