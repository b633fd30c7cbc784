"""The generic tenant-bound repository: batch reads, index pages, versioned writes.

Every write is one transaction of what belongs to the record: the record, the
references it adds or drops (``refs.py``), its search terms (``derived``), its
change-log entry and a rider. Nothing every write of a tenant shares: aggregates
and archive copies follow from the table's stream (``dal/streams``). A write is
conditioned on the version it read, so concurrent writers never lose each
other's changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar

from dal import ids
from dal.derived import contributions
from dal.dynamodb import writes
from dal.dynamodb.client import FAILED_CONDITION, Dynamo
from dal.dynamodb.conditions import absent, at_version, both, owned_by
from dal.dynamodb.items import Item
from dal.errors import (
    AlreadyExists,
    HasDependents,
    InvalidId,
    MissingReference,
    NotFound,
    StoreUnavailable,
    TransactionCancelled,
    VersionConflict,
)
from dal.models import Entity, Page, Record
from dal.privacy.archive import Archive
from dal.records import refs
from dal.records.codec import Codec
from dal.records.cursors import CursorCodec
from dal.records.pages import Listing, Pager, whole
from dal.records.refs import Ref
from dal.sync.journal import Journal
from dal.tenancy.scope import TenantScope
from dal.timefmt import utcnow

R = TypeVar("R", bound=Record)
log = logging.getLogger(__name__)
FAILED = FAILED_CONDITION
WRITE_ATTEMPTS = 3  # re-reads after losing a race, when the caller gave no expectedVersion


class WriteListener(Protocol):
    """Told of every write once it is committed, before the write returns (the cache)."""

    async def written(self, entity: Entity, old: Record | None, new: Record | None) -> None: ...


class Repo(Generic[R]):
    def __init__(
        self,
        dynamo: Dynamo,
        scope: TenantScope,
        cursors: CursorCodec,
        codec: Codec[R],
        listener: WriteListener | None = None,
        journal: Journal | None = None,
        archive: Archive | None = None,
    ) -> None:
        self.dynamo = dynamo
        self.archive = archive  # the archive deletes' copies go to (by the stream consumer)
        self.listener = listener
        self.journal = journal  # None: no change log (bulk loads, bare tests)
        self.scope = scope
        self._cursors = cursors
        self.codec = codec
        self.table_name = scope.table(codec.table.entity)
        self._owned = owned_by(scope.tenant_id)
        self._pager = Pager(dynamo, self.table_name, scope.tenant_id, cursors)

    def _load(self, item: Item | None) -> R | None:
        """The read check: an item of another tenant is as good as missing."""
        if item is None:
            return None
        if not self.scope.owns(item):
            log.error("refused an item of another tenant in %s", self.table_name)
            return None
        return self.codec.load(item)

    # -- reads ---------------------------------------------------------------
    def plausible(self, id: str) -> bool:
        """Whether ``id`` could name a record here; others are missing without asking
        DynamoDB (an id of another entity cannot be in this table)."""
        return ids.names(self.codec.entity, id)

    async def get(self, id: str) -> R | None:
        """A strongly consistent read, for read-modify-write and permission checks."""
        if not self.plausible(id):
            return None
        return self._load(await self.dynamo.get(self.table_name, self.scope.pk(id)))

    async def get_many(self, wanted: Sequence[str]) -> list[R | None]:
        """One value per id, in order, None where missing (BatchGetItem, eventually
        consistent: the dataloaders' read)."""
        asked = [i for i in wanted if self.plausible(i)]
        items = await self.dynamo.get_many(self.table_name, [self.scope.pk(i) for i in asked])
        found = {i: item for i, item in zip(asked, items, strict=True) if item is not None}
        return [self._load(found.get(i)) for i in wanted]

    async def page(self, listing: Listing, first: int, after: str | None = None) -> Page[R]:
        """``first`` records of ``listing`` after the ``after`` cursor (see ``pages``)."""
        name = f"{self.codec.table.entity}.{listing.index.name}"
        start = self._pager.start(name, listing, after)
        raw = await self._pager.read(listing, first, start)
        fetch = self.dynamo.get_many
        items = await whole(listing.index, raw.items, lambda pks: fetch(self.table_name, pks))
        kept = [(r, p) for r, p in zip(map(self._load, items), raw.positions, strict=False) if r]
        cursors = [self._pager.cursor(name, listing, p) for _, p in kept]
        # Cut short, or its last items gone by the re-read: resume where reading stopped.
        dropped = bool(raw.positions) and (not kept or kept[-1][1] is not raw.positions[-1])
        if len(raw.positions) > len(raw.items) or (raw.has_next and dropped):
            cursors.append(self._pager.cursor(name, listing, raw.positions[-1]))
        return Page([r for r, _ in kept], cursors, has_next=raw.has_next)

    async def every(self, listing: Listing) -> list[R]:
        """Every record of ``listing``, all its pages (a data subject's export)."""
        index, found = listing.index, list[R]()
        pages = self.dynamo.pages(
            self.table_name,
            index.name,
            (index.pk, listing.partition),
            sort=None if listing.sort is None else (index.sk, listing.sort),
            filter=listing.filter,
            forward=listing.forward,
        )
        async for items in pages:
            got = await whole(index, items, lambda pks: self.dynamo.get_many(self.table_name, pks))
            found += [r for r in map(self._load, got) if r is not None]
        return found

    def listing(self, index: str, partition: str, **options: Any) -> Listing:
        return Listing(self.codec.table.index(index), partition, **options)

    def pinned_now(self, after: str | None, now: str) -> str:
        """The "now" of a window relative to it: the first page's, for later pages."""
        return self._cursors.pinned_now(after) or now

    # -- writes --------------------------------------------------------------
    def _item(self, rec: R) -> Item:
        return self.codec.item(self.scope, rec)

    def _derived_ops(self, old: R | None, new: R | None) -> list[dict[str, Any]]:
        """Search terms follow the record in the same transaction (aggregates: the stream)."""
        before = contributions.NOTHING if old is None else self.codec.derived(self.scope, old)
        after = contributions.NOTHING if new is None else self.codec.derived(self.scope, new)
        return contributions.operations(self.scope, before, after)

    def _with_derived(
        self, ops: list[dict[str, Any]], old: R | None, new: R | None
    ) -> Callable[[], list[dict[str, Any]]]:
        """The write's operations, with its search terms'."""
        return lambda: [*ops, *self._derived_ops(old, new)]

    def _refs_item_ops(self, rec: R, create: bool) -> list[dict[str, Any]]:
        if not self.codec.referenced:
            return []
        entity, table = self.codec.entity, self.table_name
        if create:
            return refs.create(self.scope, entity, table, rec.id, self.codec.carried(rec))
        return refs.delete(self.scope, entity, table, rec.id)

    async def create(self, rec: R) -> R:
        """Write a new record (version 1) with its timestamps as given."""
        if not self.plausible(rec.id):  # it could never be read back by id
            raise InvalidId(f"{rec.id!r} is not an id of {self.codec.entity.value}")
        rec = replace(rec, version=1)
        pointed = self.codec.refs(rec)
        await refs.check_owners(self.dynamo, self.scope, pointed)
        pointed = [r for r in pointed if r.counted]
        own = [writes.put(self.table_name, self._item(rec), absent())]
        own += self._refs_item_ops(rec, create=True)
        pointing = [refs.point(self.scope, ref, +1, rec.id) for ref in pointed]
        try:
            await self._commit(self._with_derived([*own, *pointing], None, rec), None, rec)
        except TransactionCancelled as exc:
            if FAILED in exc.reasons[: len(own)]:
                raise AlreadyExists(rec.id) from exc
            raise _missing(exc, pointed, len(own)) from exc
        await self._written(None, rec)
        return rec

    async def _commit(
        self, build: Callable[[], list[dict[str, Any]]], old: R | None, new: R | None
    ) -> None:
        """The write, with its change-log entry when this repository keeps one."""
        if self.journal is None:
            await self.dynamo.write(build)
        else:
            await self.journal.commit(build, self.journal.change(self.codec, old, new))

    async def _written(self, old: R | None, new: R | None) -> None:
        if self.listener is not None:
            await self.listener.written(self.codec.entity, old, new)

    async def update(
        self, id: str, change: Callable[[R], R], expected_version: int | None = None
    ) -> R:
        """Apply ``change`` to the current record; conditional on the version read."""
        for _ in range(WRITE_ATTEMPTS):
            current = await self._current(id, expected_version)
            new = replace(change(current), version=current.version + 1, updated_at=utcnow())
            at = both(at_version(current.version), self._owned)
            record = writes.replace(self.table_name, self._item(current), self._item(new), at)
            added, pointing = self._moved_refs(current, new)
            await refs.check_owners(self.dynamo, self.scope, added)
            added = [r for r in added if r.counted]
            try:
                await self._commit(
                    self._with_derived([record, *pointing], current, new), current, new
                )
            except TransactionCancelled as exc:
                if exc.reasons[0] != FAILED:
                    raise _missing(exc, added, 1) from exc
                await self._lost_race(id, exc, expected_version)
            else:
                await self._written(current, new)
                return new
        raise VersionConflict(await self._version_now(id))

    def _moved_refs(self, old: R, new: R) -> tuple[list[Ref], list[dict[str, Any]]]:
        """References the change adds (first, so a failure names its field) and drops."""
        before, after = self.codec.refs(old), self.codec.refs(new)
        added = [r for r in after if r not in before]
        dropped = [r for r in before if r not in after and r.counted]
        ops = [refs.point(self.scope, r, +1, new.id) for r in added if r.counted]
        return added, ops + [refs.point(self.scope, r, -1, old.id) for r in dropped]

    async def delete(self, id: str, expected_version: int | None = None) -> R:
        for _ in range(WRITE_ATTEMPTS):
            current = await self._current(id, expected_version)
            at = both(at_version(current.version), self._owned)
            own = [writes.delete(self.table_name, self.scope.pk(id), at)]
            own += self._refs_item_ops(current, create=False)
            released = [
                refs.point(self.scope, r, -1, id) for r in self.codec.refs(current) if r.counted
            ]
            # No archive copy here: the stream consumer writes it (dal/streams/archive.py).
            try:
                await self._commit(
                    self._with_derived([*own, *released], current, None), current, None
                )
                await self._written(current, None)
                return current
            except TransactionCancelled as exc:
                # Ops 1.. of its own are its refs items: one refused means a dependent,
                # unless the record's own condition failed too (another writer changed or
                # deleted it first, refs item and all: a lost race, not a dependent).
                lost = exc.reasons[0] == FAILED
                held = [n for n in range(1, len(own)) if exc.reasons[n] == FAILED and not lost]
                if held:
                    items = [exc.items[n] if n < len(exc.items) else None for n in held]
                    raise HasDependents(refs.count_of(items)) from exc
                await self._lost_race(id, exc, expected_version)
        raise VersionConflict(await self._version_now(id))

    async def _current(self, id: str, expected_version: int | None) -> R:
        current = await self.get(id)
        if current is None:
            raise NotFound(id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(current.version)
        return current

    async def _lost_race(
        self, id: str, exc: TransactionCancelled, expected_version: int | None
    ) -> None:
        """Another writer got in between our read and write: conflict, or try again."""
        item = exc.items[0] if exc.items else None
        # DynamoDB returns the current item with the failure; without it, read it.
        version = int(str(item["version"])) if item else await self._version_now(id)
        if expected_version is not None:
            raise VersionConflict(version) from exc

    async def _version_now(self, id: str) -> int:
        current = await self.get(id)
        if current is None:
            raise NotFound(id)
        return current.version


def _missing(exc: TransactionCancelled, pointed: list[Ref], offset: int) -> Exception:
    """The error for the first failed reference (the ops after the record's own)."""
    for i, reason in enumerate(exc.reasons[offset:]):
        if reason == FAILED and i < len(pointed):
            return MissingReference(pointed[i].field, pointed[i].message)
    # Not a failed condition (Dynamo.write already retried the transient kinds).
    return StoreUnavailable(f"write cancelled: {exc.reasons}")
