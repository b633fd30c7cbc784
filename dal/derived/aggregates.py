"""Reading the aggregates that record writes keep (see ``derived.py``).

Each series is one partition of the Aggregates table, so a report costs one
Query (paged only past 1 MB) whatever the number of records behind it.
"""

from __future__ import annotations

from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import AGGREGATES, KEY, SORT
from dal.tenancy.scope import TenantScope

PAGE = 1000  # buckets per Query call; a year of days is one call


class Aggregates:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self._dynamo = dynamo
        self._scope = scope
        self._table = scope.table(AGGREGATES.entity)

    async def series(
        self, *name: str, start: str | None = None, end: str | None = None
    ) -> list[Item]:
        """The buckets of series ``name`` with sort keys in [start, end], in order.

        ``end`` is inclusive as a prefix: "2026-11-30" takes "2026-11-30#u-1" too."""
        sort = None
        if start is not None or end is not None:
            sort = (SORT, SortCondition("between", (start or "0", f"{end or ''}~")))
        pk, found, position = self._scope.key(*name), [], None
        while True:
            items, position = await self._dynamo.query(
                self._table, None, (KEY, pk), sort=sort, limit=PAGE, start=position
            )
            found += [i for i in items if self._scope.owns(i)]
            if position is None:
                return found
