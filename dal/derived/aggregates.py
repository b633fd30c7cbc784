"""Reading the aggregates the stream consumer keeps (``dal/streams``).

Each series is one partition of the Aggregates table, so a report costs one
Query (paged past 1,000 buckets) whatever the number of records behind it.
The shards of a bucket are summed here: callers see one row per bucket, by
meaning (a stage, a day, a day and an owner), never a sort key.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from dal.derived import series
from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.tables import AGGREGATES, KEY, SORT, TABLES
from dal.streams import checkpoints
from dal.tenancy.scope import TenantScope

PAGE = 1000  # buckets per Query call
Counters = dict[str, Decimal]


class Aggregates:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self._dynamo = dynamo
        self._scope = scope
        self._table = scope.table(AGGREGATES.entity)

    async def as_of(self) -> datetime:
        """Every write to the tables reports count committed before this instant is
        counted (the least ``asOf`` of their stream shards' checkpoints)."""
        sources = tuple(self._scope.table(e) for e, t in TABLES.items() if t.streamed)
        return await checkpoints.as_of(self._dynamo, self._table, sources)

    async def pipeline(self, owner_id: str | None = None) -> dict[str, Counters]:
        """Per stage: count, total, weighted; tenant-wide, or one owner's."""
        who = series.ALL if owner_id is None else series.owner(owner_id)
        return await self.buckets(series.pipeline(self._scope, who))

    async def forecast(
        self, start: date, end: date, owner_id: str | None = None
    ) -> dict[date, Counters]:
        """Per expected close date, open deals: count, total, weighted."""
        who = series.ALL if owner_id is None else series.owner(owner_id)
        found = await self.buckets(series.forecast(self._scope, who), start, end)
        return {date.fromisoformat(day): counters for day, counters in found.items()}

    async def daily(self, name: str, start: date, end: date) -> dict[date, Counters]:
        """``sales``, ``leads`` or ``acquisition`` per tenant day in [start, end]."""
        found = await self.buckets(series.daily(self._scope, name), start, end)
        return {date.fromisoformat(day): counters for day, counters in found.items()}

    async def activity(self, start: date, end: date) -> dict[tuple[date, str | None], Counters]:
        """Per tenant day and owner (None: no owner): planned, completed, type:*."""
        found = await self.buckets(series.daily(self._scope, "activity"), start, end)
        return {series.split_day_owner(bucket): c for bucket, c in found.items()}

    async def buckets(
        self, partition: str, start: date | None = None, end: date | None = None
    ) -> dict[str, Counters]:
        """Every bucket of one series (days in [start, end] when given), shards summed."""
        sort = None
        if start is not None and end is not None:
            sort = (SORT, SortCondition("between", (start.isoformat(), f"{end.isoformat()}~")))
        totals: dict[str, Counters] = defaultdict(dict)
        position = None
        while True:
            items, position = await self._dynamo.query(
                self._table, None, (KEY, partition), sort=sort, limit=PAGE, start=position
            )
            for item in filter(self._scope.owns, items):
                bucket = totals[series.unsharded(str(item[SORT]))]
                for attr, value in item.items():
                    if isinstance(value, Decimal):
                        bucket[attr] = bucket.get(attr, Decimal(0)) + value
            if position is None:
                return {k: v for k, v in sorted(totals.items())}
