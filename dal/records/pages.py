"""One page of one index partition: the Query loop, cursors bound to the query,
and the re-read of records from indexes that do not project them whole."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.conditions import Condition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import KEY, Index
from dal.errors import InvalidCursor
from dal.records.cursors import CursorCodec

MAX_FILTERED_CALLS = 10  # Query calls one filtered page may make
FILTERED_READ = 200  # items a filtered Query call may evaluate


@dataclass(frozen=True, slots=True)
class Listing:
    """What one list reads: an index partition, a direction, a key condition on the
    sort key and a filter. Its fingerprint binds the cursors of its pages."""

    index: Index
    partition: str
    forward: bool = True
    sort: SortCondition | None = None
    filter: Condition | None = None
    now: str | None = None  # the "now" the sort or filter was built with, if any

    def fingerprint(self) -> str:
        sort = None if self.sort is None else [self.sort.op, *self.sort.values]
        filter = None
        if self.filter is not None:
            names, values = sorted(self.filter.names.items()), sorted(self.filter.values.items())
            filter = [self.filter.expression, names, [[k, str(v)] for k, v in values]]
        parts = [self.index.name, self.partition, self.forward, sort, filter, self.now]
        canonical = json.dumps(parts, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Raw:
    """A page as DynamoDB gave it: items, each one's position, and where to resume."""

    items: list[Item]
    positions: list[dict[str, str]]
    has_next: bool


class Pager:
    """Reads pages of one table's indexes for one tenant."""

    def __init__(self, dynamo: Dynamo, table: str, tenant: str, cursors: CursorCodec) -> None:
        self._dynamo, self._table = dynamo, table
        self._tenant, self._cursors = tenant, cursors

    def cursor(self, name: str, listing: Listing, position: dict[str, str]) -> str:
        return self._cursors.encode(
            self._tenant, name, position, bound=listing.fingerprint(), now=listing.now
        )

    def start(self, name: str, listing: Listing, after: str | None) -> Item | None:
        """Where the page after ``after`` starts; InvalidCursor for a cursor of any
        other list, filter or window (or tenant), or one edited by hand."""
        if after is None:
            return None
        opened = self._cursors.decode(self._tenant, name, after, bound=listing.fingerprint())
        if opened.position.get(listing.index.pk) != listing.partition:
            raise InvalidCursor("cursor belongs to another list")
        return dict(opened.position)

    async def read(self, listing: Listing, first: int, start: Item | None) -> Raw:
        """``first`` items (one more to know whether more follow), or fewer when a
        filtered read stops after ``MAX_FILTERED_CALLS`` calls: then the last
        position is where it stopped, so a sparse filter costs bounded work."""
        index, items = listing.index, list[Item]()
        for _ in range(MAX_FILTERED_CALLS):
            limit = first + 1 - len(items) if listing.filter is None else FILTERED_READ
            got, start = await self._query(listing, limit, start)
            items += got
            if start is None or len(items) > first:
                break
        keys = (KEY, index.pk, index.sk)
        positions = [{k: str(i[k]) for k in keys} for i in items[:first]]
        cut_short = len(items) <= first and start is not None
        if cut_short and start is not None:
            positions.append({k: str(start[k]) for k in keys})
        return Raw(items[:first], positions, len(items) > first or cut_short)

    async def _query(
        self, listing: Listing, limit: int, start: Item | None
    ) -> tuple[list[Item], Item | None]:
        index = listing.index
        return await self._dynamo.query(
            self._table,
            index.name,
            (index.pk, listing.partition),
            sort=None if listing.sort is None else (index.sk, listing.sort),
            limit=limit,
            start=start,
            forward=listing.forward,
            filter=listing.filter,
        )


async def whole(
    index: Index, items: list[Item], by_key: Callable[[Sequence[str]], Awaitable[list[Item | None]]]
) -> list[Item | None]:
    """The records of a page: as the index gave them, or re-read by key (one
    BatchGetItem) when it projects only part of them."""
    if index.complete or not items:
        return list(items)
    return await by_key([str(i[KEY]) for i in items])
