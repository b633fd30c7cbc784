"""Reading the change log: the heads, and the changes after a cursor's positions.

A delta costs one BatchGetItem of the heads, one strongly consistent Query per
shard that has news (its pointers), and one BatchGetItem (per 100) of the
entries they point at (an idle device's poll: one request). A shard's pointers
are gap-free (``sequence.py``): a hole after a position, or a pointer whose
entry is gone, means entries expired (TTL) before the device came back, and the
answer is ResyncRequired, never a silent full read.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from dataclasses import dataclass

from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.errors import ResyncRequired
from dal.models import Entity
from dal.sync import sequence
from dal.sync.changes import Change, from_item
from dal.tenancy.scope import TenantScope
from dal.timefmt import load_dt

log = logging.getLogger(__name__)
LAST = sequence.entry_key(10**sequence.DIGITS - 1)
REWIND_PAGE = 100
GET_MAX = 100  # keys per BatchGetItem


@dataclass(frozen=True, slots=True)
class Delta:
    changes: list[Change]
    positions: tuple[int, ...]
    has_more: bool
    requests: int  # DynamoDB requests it took (the benchmark's figures)
    read: int  # entries read (past a filter too)


class ChangeReader:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self._dynamo, self._scope = dynamo, scope
        self._table = scope.table(CHANGES.entity)

    async def heads(self) -> tuple[int, ...]:
        """The last number taken in every shard (strongly consistent)."""
        keys = [(sequence.partition(self._scope, s), sequence.HEAD) for s in range(sequence.SHARDS)]
        items = await self._dynamo.get_sorted(self._table, keys)
        return tuple(sequence.head_of(i if i and self._scope.owns(i) else None) for i in items)

    async def delta(
        self, positions: tuple[int, ...], first: int, entities: frozenset[Entity]
    ) -> Delta:
        """Up to ``first`` changes after ``positions``, oldest first across shards."""
        heads = await self.heads()
        pending = {s: heads[s] - positions[s] for s in range(sequence.SHARDS)}
        limits = _shares({s: n for s, n in pending.items() if n > 0}, first)
        read = await asyncio.gather(*(self._after(s, positions[s], n) for s, n in limits.items()))
        lists, gets = await self._entries(dict(zip(limits, read, strict=True)))
        cut = {s for s, entries in lists.items() if len(entries) < pending[s]}
        taken, moved = _merge(lists, cut, first, entities)
        new = tuple(moved.get(s, p) for s, p in enumerate(positions))
        more = any(h > p for h, p in zip(heads, new, strict=True))
        return Delta(taken, new, more, 1 + len(limits) + gets, 2 * sum(map(len, read)))

    async def rewound(self, positions: tuple[int, ...], since: float) -> tuple[int, ...]:
        """Each shard's position moved back before every entry stamped at ``since`` or
        later (epoch seconds)."""
        moved = await asyncio.gather(*(self._back(s, p, since) for s, p in enumerate(positions)))
        return tuple(moved)

    async def _back(self, shard: int, position: int, since: float) -> int:
        pk = sequence.partition(self._scope, shard)
        start: Item | None = None
        while position > 0:
            items, start = await self._dynamo.query(
                self._table,
                None,
                (KEY, pk),
                sort=(
                    SORT,
                    SortCondition("between", (sequence.entry_key(1), sequence.entry_key(position))),
                ),
                limit=REWIND_PAGE,
                forward=False,
                consistent=True,
                start=start,
            )
            for item in items:
                if load_dt(str(item["at"])).timestamp() < since:
                    return position
                position = sequence.seq_of(item) - 1
            if start is None:
                return position
        return position

    async def _after(self, shard: int, position: int, first: int) -> list[tuple[int, Item]]:
        """The shard's pointers after ``position`` (gap-free, or ResyncRequired)."""
        pk = sequence.partition(self._scope, shard)
        start = sequence.entry_key(position + 1)
        items, _ = await self._dynamo.query(
            self._table,
            None,
            (KEY, pk),
            sort=(SORT, SortCondition("between", (start, LAST))),
            limit=first,
            consistent=True,
        )
        pointers = [(sequence.seq_of(i), i) for i in items if self._owned(i)]
        for expected, (seq, _) in enumerate(pointers, start=position + 1):
            if seq != expected:  # a hole: entries expired before this device came back
                raise ResyncRequired("changes after this cursor have expired")
        if not pointers:
            raise ResyncRequired("changes after this cursor have expired")
        return pointers

    async def _entries(
        self, shards: dict[int, list[tuple[int, Item]]]
    ) -> tuple[dict[int, list[tuple[int, Change]]], int]:
        """The entries the shards' pointers name, in their order (strongly consistent,
        every shard's in one BatchGetItem per 100); and the BatchGetItems it took."""
        keys = [
            (str(p[sequence.REF_PK]), str(p[sequence.REF_SK]))
            for pointers in shards.values()
            for _, p in pointers
        ]
        chunks = [keys[i : i + GET_MAX] for i in range(0, len(keys), GET_MAX)]
        got = await asyncio.gather(*(self._dynamo.get_sorted(self._table, c) for c in chunks))
        entries = iter([e for chunk in got for e in chunk])
        out: dict[int, list[tuple[int, Change]]] = {}
        for shard, pointers in shards.items():
            out[shard] = [(seq, self._entry(next(entries))) for seq, _ in pointers]
        return out, len(chunks)

    def _entry(self, item: Item | None) -> Change:
        """A pointer's entry; gone (expired a moment before its pointer): resync."""
        if item is None or not self._owned(item):
            raise ResyncRequired("changes after this cursor have expired")
        return from_item(item)

    def _owned(self, item: Item) -> bool:
        if self._scope.owns(item):
            return True
        log.error("refused a change-log item of another tenant")
        return False


def _shares(pending: dict[int, int], first: int) -> dict[int, int]:
    """How many entries to read from each shard with news: all of them when they fit
    in a page, else shares of the page in proportion to what each has waiting
    (the heads say how much), so a page reads about what it delivers."""
    total = sum(pending.values())
    if total <= first:
        return pending
    return {s: max(1, min(n, math.ceil(first * n / total))) for s, n in pending.items()}


def _merge(
    shards: dict[int, list[tuple[int, Change]]],
    cut: set[int],
    first: int,
    entities: frozenset[Entity],
) -> tuple[list[Change], dict[int, int]]:
    """Shards' entries interleaved by commit time, each shard in its own order, so what
    is taken of a shard is a prefix of it (its new position leaves nothing behind).
    A page stops where a shard read only in part runs out: past that point its next
    entries might be older than the others'. Entries of entities not asked for are
    passed over (and passed)."""
    heap = [(entries[0][1].changed_at, s, 0) for s, entries in shards.items()]
    heapq.heapify(heap)
    taken: list[Change] = []
    moved: dict[int, int] = {}
    while heap and len(taken) < first:
        _, shard, at = heapq.heappop(heap)
        seq, change = shards[shard][at]
        moved[shard] = seq
        if not entities or change.entity in entities:
            taken.append(change)
        if at + 1 < len(shards[shard]):
            heapq.heappush(heap, (shards[shard][at + 1][1].changed_at, shard, at + 1))
        elif shard in cut:
            break
    return taken, moved
