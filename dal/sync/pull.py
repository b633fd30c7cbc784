"""What a device pulls: a full sync (the base tables) or a delta (the change log).

A full sync takes the high-water mark (every shard's head) before it reads a
record, then pages through the tenant indexes entity by entity; its last page
hands over a delta cursor at that mark. A change committed during a long full
sync is above the mark, so the delta delivers it: nothing falls between the two
(a record read in full and changed again is delivered again, newer, which a
device applies by version).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dal.models import Entity, Page
from dal.sync import cursor as cursors
from dal.sync.changes import Change, Op
from dal.sync.cursor import SyncCursor
from dal.sync.reader import ChangeReader

if TYPE_CHECKING:
    from dal.store import Repos

SETTLE_S = 10.0  # how far before its mark a full sync's delta starts (index lag, clocks)
# The order a full sync reads: what others point at first, so a device can
# insert each record after what it refers to.
FULL_ORDER = (
    Entity.USER,
    Entity.CUSTOMER,
    Entity.CONTACT,
    Entity.OPPORTUNITY,
    Entity.ACTIVITY,
    Entity.DOCUMENT,
)


@dataclass(frozen=True, slots=True)
class SyncPage:
    changes: list[Change]
    cursor: str
    has_more: bool
    full: bool


class Puller:
    def __init__(self, repos: Repos, retention_s: float) -> None:
        self._repos, self._retention_s = repos, retention_s
        self._reader = ChangeReader(repos.journal.dynamo, repos.scope)

    async def page(self, since: str | None, entities: tuple[Entity, ...], first: int) -> SyncPage:
        wanted = tuple(sorted(set(entities)))
        if since is None:
            taken_at = time.time()
            mark = await self._reader.heads()
            start = SyncCursor(mark, wanted, 0, mark_at=taken_at).moved()
            return await self._full(start, first)
        at = cursors.decode(self._repos.cursors, self._tenant, since, wanted, self._retention_s)
        if at.full:
            return await self._full(at, first)
        delta = await self._reader.delta(at.positions, first, frozenset(wanted))
        nxt = at.moved(positions=delta.positions)
        return SyncPage(delta.changes, self._encode(nxt), delta.has_more, False)

    @property
    def _tenant(self) -> str:
        return self._repos.scope.tenant_id

    def _encode(self, at: SyncCursor) -> str:
        return cursors.encode(self._repos.cursors, self._tenant, at)

    async def _full(self, at: SyncCursor, first: int) -> SyncPage:
        index = _next_wanted(at.full_entity or 0, at.entities)
        if index == len(FULL_ORDER):  # nothing (more) to read in full: over to the delta
            # From a little before the mark: the tenant indexes the full sync read are
            # eventually consistent, so a change just before the mark may have been
            # missing from them. Delivering it again is harmless (applied in order).
            back = await self._reader.rewound(at.positions, at.mark_at - SETTLE_S)
            heads = await self._reader.heads()
            done = at.moved(full_entity=None, full_after=None, positions=back)
            more = any(h > p for h, p in zip(heads, back, strict=True))
            return SyncPage([], self._encode(done), more, True)
        entity = FULL_ORDER[index]
        page = await self._records(entity, first, at.full_after)
        # What a device is never told of (an erased contact) is not in a full sync either.
        codec = self._repos.of(entity).codec
        changes = [_upsert(self._repos, entity, r) for r in page.items if codec.logged(r)]
        if page.has_next:
            nxt = at.moved(full_entity=index, full_after=page.cursors[-1])
        else:
            nxt = at.moved(full_entity=index + 1, full_after=None)
        return SyncPage(changes, self._encode(nxt), True, True)

    async def _records(self, entity: Entity, first: int, after: str | None) -> Page[Any]:
        repo = self._repos.of(entity)
        listing = repo.listing("byTenant", self._repos.scope.key("all"))
        return await repo.page(listing, first, after)


def _next_wanted(index: int, entities: tuple[Entity, ...]) -> int:
    while index < len(FULL_ORDER) and entities and FULL_ORDER[index] not in entities:
        index += 1
    return index


def _upsert(repos: Repos, entity: Entity, record: Any) -> Change:
    codec = repos.of(entity).codec
    return Change(
        entity, record.id, Op.UPSERT, record.version, record.updated_at, codec.public(record)
    )
