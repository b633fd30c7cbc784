"""Writing the change log: an entry in the same transaction as each record write.

Per request (it knows who writes, and why): the repositories hand it their
operations and the record before and after; it adds the entry, under the
record's own key and without a number (``sequence.py``: the sequencer numbers it
after the commit), and a pushed mutation's receipt when one rides. Nothing it
adds is written by another record's write.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from dal.dynamodb.client import FAILED_CONDITION, Dynamo
from dal.dynamodb.items import Item
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.errors import DryRun, DuplicateMutation, TransactionCancelled
from dal.models import Entity, Record
from dal.sync import sequence
from dal.sync.changes import Change, Op, attributes, between
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt, utcnow

R = TypeVar("R", bound=Record)
R_in = TypeVar("R_in", bound=Record, contravariant=True)
Ops = list[dict[str, Any]]
RETENTION_S = 90 * 86400  # system logs: 90 days (ARCHITECTURE, "Data Retention")


class Logged(Protocol[R_in]):
    """What the journal needs of a codec."""

    @property
    def entity(self) -> Entity: ...

    def public(self, rec: R_in) -> dict[str, Any]: ...

    def logged(self, rec: R_in) -> bool: ...


@dataclass(frozen=True, slots=True)
class Rider:
    """What a pushed mutation adds to its write: the receipt (built from the change,
    so the stored first answer is the committed one) and when the device made it."""

    receipt: Callable[[Change | None], dict[str, Any]]
    made_at: datetime | None = None


class Journal:
    def __init__(
        self,
        dynamo: Dynamo,
        scope: TenantScope,
        *,
        actor: str = "system",
        request_id: str = "",
        retention_s: float = RETENTION_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.dynamo, self.scope = dynamo, scope
        self._clock = clock  # the time a change says it was made (tests skew it)
        self.actor, self.request_id, self.retention_s = actor, request_id, retention_s
        self.table = scope.table(CHANGES.entity)
        self.rider: Rider | None = None  # set around one write (sync pushes)
        self.last: Change | None = None  # the change of the last write committed
        # A dry run (an import's): every check up to the write runs, then DryRun.
        self.dry_run = False
        # Tests: awaited between building the entry and committing (a slow writer).
        self.stamped: Callable[[], Awaitable[None]] | None = None

    def change(self, codec: Logged[R], old: R | None, new: R | None) -> Change | None:
        """What a device is told of this write; None when it sees neither side."""
        before = codec.public(old) if old is not None and codec.logged(old) else None
        after = codec.public(new) if new is not None and codec.logged(new) else None
        if new is not None and after is not None:
            fields = between(before, after)
            made = self._made(codec.entity, new.id, Op.UPSERT, new.version, after, fields)
            action = "create" if before is None else "update"
            return replace(made, born=new.created_at, action=action)
        if old is not None and before is not None:
            made = self._made(codec.entity, old.id, Op.DELETE, old.version + 1, None, ())
            # A record still there but no longer logged was erased (anonymised in place).
            action = "delete" if new is None else "erase"
            return replace(made, born=old.created_at, action=action)
        return None

    def _made(
        self, entity: Entity, id: str, op: Op, version: int, record: Any, fields: tuple[str, ...]
    ) -> Change:
        made_at = self.rider.made_at if self.rider else None
        return Change(entity, id, op, version, self._clock(), record, fields, made_at)

    async def commit(self, build: Callable[[], Ops], change: Change | None) -> None:
        """``build()``'s operations, with the change's entry and a rider's receipt."""
        if self.dry_run:
            raise DryRun()
        riding = [] if self.rider is None else [self.rider.receipt(change)]
        if change is None:
            await self._plain(build, riding)
        else:
            await self._stamped(build, change, riding)
        # A rider rides one write: a mutation that writes twice stores one receipt.
        self.rider, self.last = None, change

    async def _plain(self, build: Callable[[], Ops], riding: Ops) -> None:
        try:
            await self.dynamo.write(lambda: [*build(), *riding])
        except TransactionCancelled as exc:
            if riding and exc.reasons[-1] == FAILED_CONDITION:
                raise DuplicateMutation() from exc
            raise

    async def _stamped(self, build: Callable[[], Ops], change: Change, riding: Ops) -> None:
        logged = [sequence.entry(self.table, self._attributes(change))]
        if self.stamped is not None:
            await self.stamped()
        try:
            await self.dynamo.write(_joined(build, logged + riding))
        except TransactionCancelled as exc:
            own = exc.reasons[: -len(riding) - 1]  # the record's: the repository's to explain
            if riding and exc.reasons[-1] == FAILED_CONDITION and FAILED_CONDITION not in own:
                raise DuplicateMutation() from exc
            raise

    def _attributes(self, change: Change) -> Item:
        item = attributes(change, self.actor, self.request_id)
        born = "" if change.born is None else dump_dt(change.born)
        item |= {
            KEY: sequence.pending_pk(self.scope, change.id),
            SORT: sequence.pending_sk(born, change.version),
            "tenantId": self.scope.tenant_id,
            "recordKey": record_key(self.scope, change.id, change.born),
            "versionKey": f"{change.version:010d}",
            "expiresAt": int(time.time() + self.retention_s),
            "shard": sequence.shard_of(change.id),
        }
        return item | audit_keys(self.scope, change, self.actor)


def _joined(build: Callable[[], Ops], then: Ops) -> Callable[[], Ops]:
    """The write's own operations, built anew for each attempt, then ``then``."""
    return lambda: [*build(), *then]


def audit_keys(scope: TenantScope, change: Change, actor: str) -> Item:
    """The entry's places in the audit log (``audit.py``): by actor and by record, each
    in time order. ``#{id}#{version}`` makes the sort key unique where times tie."""
    at = f"{dump_dt(change.changed_at)}#{change.id}#{change.version:010d}"
    return {
        "actorKey": scope.key("actor", actor),
        "subjectKey": scope.key("audit", change.id),
        "auditKey": at,
    }


def record_key(scope: TenantScope, record_id: str, born: datetime | None) -> str:
    """A record's history partition: one per life (an id deleted and created again
    starts at version 1 again, in a partition of its own)."""
    return scope.key("record", record_id, "" if born is None else dump_dt(born))
