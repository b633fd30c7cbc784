"""The generic tenant-bound repository: batch reads, index pages, versioned writes.

Writes keep referential integrity without scans: a record that others point
at carries ``refCount``, changed in the same transaction as the pointing
record, and a delete is conditioned on ``refCount`` being zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

from dal.derived import contributions
from dal.dynamodb import writes
from dal.dynamodb.client import FAILED_CONDITION, Dynamo, SortCondition
from dal.dynamodb.conditions import Condition, absent, at_version, both, owned_by
from dal.dynamodb.items import Item
from dal.dynamodb.tables import KEY, REF_COUNT
from dal.errors import (
    AlreadyExists,
    HasDependents,
    InvalidCursor,
    MissingReference,
    NotFound,
    StoreUnavailable,
    TransactionCancelled,
    VersionConflict,
)
from dal.models import Page, Record
from dal.records.codec import Codec, Ref
from dal.records.cursors import CursorCodec
from dal.tenancy.scope import TenantScope
from dal.timefmt import utcnow

R = TypeVar("R", bound=Record)
log = logging.getLogger(__name__)
FAILED = FAILED_CONDITION
MAX_ID_LENGTH = 256
WRITE_ATTEMPTS = 3  # re-reads after losing a race, when the caller gave no expectedVersion
MAX_FILTERED_CALLS = 10  # Query calls one filtered page may make
FILTERED_READ = 200  # items a filtered Query call may evaluate


class Repo(Generic[R]):
    def __init__(
        self, dynamo: Dynamo, scope: TenantScope, cursors: CursorCodec, codec: Codec[R]
    ) -> None:
        self.dynamo = dynamo
        self.scope = scope
        self._cursors = cursors
        self.codec = codec
        self.table_name = scope.table(codec.table.entity)
        self._owned = owned_by(scope.tenant_id)

    def _load(self, item: Item | None) -> R | None:
        """The read check: an item of another tenant is as good as missing."""
        if item is None:
            return None
        if not self.scope.owns(item):
            log.error("refused an item of another tenant in %s", self.table_name)
            return None
        return self.codec.load(item)

    # -- reads ---------------------------------------------------------------
    async def get(self, id: str) -> R | None:
        """A strongly consistent read, for read-modify-write."""
        if not plausible(id):
            return None
        return self._load(await self.dynamo.get(self.table_name, self.scope.pk(id)))

    async def get_many(self, ids: Sequence[str]) -> list[R | None]:
        wanted = [i for i in ids if plausible(i)]
        items = await self.dynamo.get_many(self.table_name, [self.scope.pk(i) for i in wanted])
        found = {i: item for i, item in zip(wanted, items, strict=True) if item is not None}
        return [self._load(found.get(i)) for i in ids]

    async def page(
        self,
        index_name: str,
        partition: str,
        first: int,
        after: str | None = None,
        *,
        forward: bool = True,
        sort: SortCondition | None = None,
        filter: Condition | None = None,
    ) -> Page[R]:
        """``first`` records of one index partition after the ``after`` cursor.

        With a ``filter`` DynamoDB reads past non-matching items; we stop after
        ``MAX_FILTERED_CALLS`` calls and hand back a cursor where reading stopped,
        so a sparse filter costs bounded work per page rather than a scan.
        """
        index = self.codec.table.index(index_name)
        name = f"{self.codec.table.entity}.{index.name}"
        start = self._open_cursor(name, index.pk, partition, after)
        items: list[Item] = []
        for _ in range(MAX_FILTERED_CALLS):
            limit = first + 1 - len(items) if filter is None else FILTERED_READ
            got, start = await self.dynamo.query(
                self.table_name,
                index.name,
                (index.pk, partition),
                sort=None if sort is None else (index.sk, sort),
                limit=limit,
                start=start,
                forward=forward,
                filter=filter,
            )
            items += got
            if start is None or len(items) > first:
                break
        keys = (KEY, index.pk, index.sk)
        positions = [{k: i[k] for k in keys} for i in items[:first]]
        cut_short = len(items) <= first and start is not None
        if cut_short and start is not None:
            positions.append({k: str(start[k]) for k in keys})
        cursors = [self._cursor(name, p) for p in positions]
        records = [r for r in map(self._load, items[:first]) if r is not None]
        return Page(records, cursors, has_next=len(items) > first or cut_short)

    def _cursor(self, name: str, position: dict[str, str]) -> str:
        return self._cursors.encode(self.scope.tenant_id, name, position)

    def _open_cursor(self, name: str, pk: str, partition: str, after: str | None) -> Item | None:
        if after is None:
            return None
        position = self._cursors.decode(self.scope.tenant_id, name, after)
        if position.get(pk) != partition:
            raise InvalidCursor("cursor belongs to another list")
        return dict(position)

    # -- writes --------------------------------------------------------------
    def _item(self, rec: R) -> Item:
        return self.codec.item(self.scope, rec)

    def _ref_op(self, ref: Ref, delta: int) -> dict[str, object]:
        table, pk = self.scope.table(ref.entity), self.scope.pk(ref.id)
        if ref.counted:
            return writes.adjust_refs(table, pk, delta, self._owned)
        return writes.check_exists(table, pk, self._owned)

    def _derived_ops(self, old: R | None, new: R | None) -> list[dict[str, Any]]:
        """Aggregates and search terms follow the record in the same transaction."""
        before = contributions.NOTHING if old is None else self.codec.derived(self.scope, old)
        after = contributions.NOTHING if new is None else self.codec.derived(self.scope, new)
        return contributions.operations(self.scope, before, after)

    async def create(self, rec: R) -> R:
        """Write a new record (version 1) with its timestamps as given."""
        rec = replace(rec, version=1)
        refs = self.codec.refs(rec)
        ops = [writes.put(self.table_name, self._item(rec), absent())]
        ops += [self._ref_op(ref, +1) for ref in refs]
        ops += self._derived_ops(None, rec)
        try:
            await self.dynamo.write(ops)
        except TransactionCancelled as exc:
            if exc.reasons[0] == FAILED:
                raise AlreadyExists(rec.id) from exc
            raise MissingReference(_failed_ref(exc, refs)) from exc
        return rec

    async def update(
        self, id: str, change: Callable[[R], R], expected_version: int | None = None
    ) -> R:
        """Apply ``change`` to the current record; conditional on the version read."""
        for _ in range(WRITE_ATTEMPTS):
            current = await self._current(id, expected_version)
            new = replace(change(current), version=current.version + 1, updated_at=utcnow())
            ops = [
                writes.replace(
                    self.table_name,
                    self._item(current),
                    self._item(new),
                    both(at_version(current.version), self._owned),
                )
            ]
            old_refs, new_refs = self.codec.refs(current), self.codec.refs(new)
            added = [r for r in new_refs if r not in old_refs]
            dropped = [r for r in old_refs if r not in new_refs and r.counted]
            ops += [self._ref_op(r, +1) for r in added] + [self._ref_op(r, -1) for r in dropped]
            ops += self._derived_ops(current, new)
            try:
                await self.dynamo.write(ops)
                return new
            except TransactionCancelled as exc:
                if exc.reasons[0] != FAILED:
                    raise MissingReference(_failed_ref(exc, added)) from exc
                await self._lost_race(id, exc, expected_version)
        raise VersionConflict(await self._version_now(id))

    async def delete(self, id: str, expected_version: int | None = None) -> R:
        for _ in range(WRITE_ATTEMPTS):
            current = await self._current(id, expected_version)
            unreferenced = Condition(
                "#v = :v AND (attribute_not_exists(#n) OR #n = :zero)",
                {"#v": "version", "#n": REF_COUNT},
                {":v": current.version, ":zero": 0},
            )
            condition = both(unreferenced, self._owned)
            refs = [r for r in self.codec.refs(current) if r.counted]
            ops = [writes.delete(self.table_name, self.scope.pk(id), condition)]
            ops += [self._ref_op(r, -1) for r in refs]
            ops += self._derived_ops(current, None)
            try:
                await self.dynamo.write(ops)
                return current
            except TransactionCancelled as exc:
                item = exc.items[0] if exc.items else None
                if item is not None and int(str(item.get(REF_COUNT, 0))) > 0:
                    raise HasDependents(int(str(item[REF_COUNT]))) from exc
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


def plausible(id: str) -> bool:
    """Whether ``id`` could name a record; others are missing without asking DynamoDB
    (which would refuse a key over 2 KB with an error, not an empty answer)."""
    return 0 < len(id) <= MAX_ID_LENGTH


def _failed_ref(exc: TransactionCancelled, refs: list[Ref]) -> str:
    """The input field behind the first failed reference operation (op 0 is the record)."""
    for i, reason in enumerate(exc.reasons[1:]):
        if reason == FAILED and i < len(refs):
            return refs[i].field
    # Not a failed condition (Dynamo.write already retried the transient kinds).
    raise StoreUnavailable(f"write cancelled: {exc.reasons}") from exc
