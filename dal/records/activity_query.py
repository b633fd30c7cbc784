"""Activity list filters, and which index serves each combination."""

from __future__ import annotations

from dataclasses import dataclass, field

from dal.dynamodb.client import SortCondition
from dal.dynamodb.conditions import Condition, both, matching
from dal.models import ActivityType
from dal.tenancy.scope import TenantScope

SCHEDULED = Condition("attribute_exists(#sa)", {"#sa": "scheduledAt"}, {})


@dataclass(frozen=True, slots=True)
class Window:
    """Which scheduled times a list keeps (stored-format strings, see ``timefmt``):
    between two instants, either end open, or relative to now: ``upcoming`` True
    keeps from now on, False before now."""

    start: str | None = None
    end: str | None = None
    upcoming: bool | None = None

    def bounds(self, now: str) -> tuple[str | None, str | None]:
        if self.upcoming is None:
            return self.start, self.end
        return (now, self.end) if self.upcoming else (self.start, now)


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    owner_id: str | None = None
    related_id: str | None = None
    type: ActivityType | None = None
    window: Window = field(default_factory=Window)
    overdue: bool | None = None
    completed_since: str | None = None

    @property
    def relative(self) -> bool:
        """Whether what it selects depends on "now"."""
        return self.overdue is not None or self.window.upcoming is not None

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
        window = _between(*self.window.bounds(now))
        extra = _not_overdue(now) if self.overdue is False else None
        if window is not None:
            # Unscheduled activities sort by createdAt; a scheduled-time window excludes them.
            extra = SCHEDULED if extra is None else both(extra, SCHEDULED)
        if self.related_id:
            where = self._filter(equals, owner=True, extra=extra)
            return "byRelated", key(self.related_id), window, where
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


def _between(start: str | None, end: str | None) -> SortCondition | None:
    if start is None and end is None:
        return None
    # Key condition values may not be empty: "0" sorts before every ISO timestamp,
    # and "~" after every id that follows a timestamp in the sort key.
    return SortCondition("between", (start or "0", f"{end or '~'}~"))


def _not_overdue(now: str) -> Condition:
    return Condition(
        "attribute_exists(#c) OR attribute_not_exists(#s) OR #s >= :now",
        {"#c": "completedAt", "#s": "scheduledAt"},
        {":now": now},
    )
