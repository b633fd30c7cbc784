"""The audit log: who wrote what, when, by which request, and which fields: never values.

It is the change log read another way. Every logged write's entry (``sync/journal``)
carries ``actorKey`` and ``subjectKey`` with a time-ordered ``auditKey``, and the
Changes table's ``byActor`` and ``bySubject`` indexes project the facts only. So an
audit event of a write costs no write of its own, cannot disagree with the change
log, and expires with it (90 days, the system-log retention). A page is one Query.

Reads of personal fields, for a tenant that audits them (``auditReads`` on its
Tenants item), are items of their own in the same table and indexes: one per
record and request (``{t}#reads#{ulid}``, sort key the record), written at the
end of the request, one BatchWriteItem per 25 records, all at once. Nothing reads their
partition but the indexes: the change log's readers never see them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dal import ids
from dal.backoff import jittered_sleep
from dal.boto_errors import DYNAMODB, translated
from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.items import Item, serialize
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.errors import Throttled
from dal.models import Entity
from dal.records.cursors import CursorCodec
from dal.sync.journal import RETENTION_S
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_dt, load_dt, utcnow

LOW, HIGH = "0", "~"  # below and above every auditKey (they start with a digit)
BATCH = 25  # BatchWriteItem's most
ATTEMPTS = 5
PAUSE = 0.05  # seconds, the base of the backoff between attempts


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: str
    at: datetime
    actor_id: str
    action: str
    entity: str
    record_id: str
    request_id: str | None
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """Whose events (one of the two), and between which times (either end open)."""

    record_id: str | None = None
    actor_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class AuditLog:
    def __init__(
        self,
        dynamo: Dynamo,
        scope: TenantScope,
        cursors: CursorCodec,
        retention_s: float = RETENTION_S,
    ) -> None:
        self.dynamo, self.scope, self.cursors = dynamo, scope, cursors
        self.retention_s = retention_s
        self.table = scope.table(CHANGES.entity)

    def _index(self, window: Window) -> tuple[str, tuple[str, str]]:
        if window.record_id is not None:
            return "bySubject", ("subjectKey", self.scope.key("audit", window.record_id))
        return "byActor", ("actorKey", self.scope.key("actor", window.actor_id or ""))

    async def page(
        self, window: Window, first: int, after: str | None
    ) -> tuple[list[AuditEvent], list[str], bool]:
        """Newest first; each event's cursor, bound to this tenant, index and partition."""
        index, key = self._index(window)
        bound = f"{key[1]}|{window.start}|{window.end}"  # a cursor resumes its own list only
        start = None if after is None else self._start(key, after, bound)
        items, _ = await self.dynamo.query(
            self.table, index, key, sort=_sort(window), limit=first + 1, start=start, forward=False
        )
        kept = [i for i in items[:first] if self.scope.owns(i)]
        cursors = [self._cursor(bound, i) for i in kept]
        return [_event(i) for i in kept], cursors, len(items) > first

    async def every(self, window: Window) -> list[AuditEvent]:
        """Every event of ``window``, newest first (what a data subject's export holds)."""
        index, key = self._index(window)
        pages = self.dynamo.pages(self.table, index, key, sort=_sort(window), forward=False)
        return [_event(i) async for items in pages for i in items if self.scope.owns(i)]

    async def record_reads(
        self, actor: str, request_id: str, reads: dict[tuple[str, str], set[str]]
    ) -> None:
        """One "read" event per record read: the fields read, never their values."""
        at = dump_dt(utcnow())
        items = [self._read(actor, request_id, at, e, i, f) for (e, i), f in reads.items()]
        # The batches at once: a page of 100 contacts is 4 calls, not 4 round trips.
        await asyncio.gather(
            *(self._put_many(items[n : n + BATCH]) for n in range(0, len(items), BATCH))
        )

    def _read(
        self, actor: str, request_id: str, at: str, entity: str, id: str, fields: set[str]
    ) -> Item:
        return {
            # The server's own id: a client's X-Request-Id must not name (and so overwrite)
            # another request's events.
            KEY: self.scope.key("reads", ids.ulid()),
            SORT: f"{entity}#{id}",
            TENANT_ATTR: self.scope.tenant_id,
            "entity": entity, "id": id, "action": "read", "op": "READ", "actor": actor,
            "requestId": request_id, "fields": sorted(fields), "at": at,
            "actorKey": self.scope.key("actor", actor),
            "subjectKey": self.scope.key("audit", id),
            "auditKey": f"{at}#{id}#read",
            "expiresAt": int(time.time() + self.retention_s),
        }  # fmt: skip

    async def _put_many(self, items: list[Item]) -> None:
        request: dict[str, Any] = {
            self.table: [{"PutRequest": {"Item": serialize(i)}} for i in items]
        }
        for attempt in range(ATTEMPTS):
            async with translated(DYNAMODB, "BatchWriteItem"):
                out = await self.dynamo.client.batch_write_item(RequestItems=request)
            request = dict(out.get("UnprocessedItems") or {})
            if not request:
                return
            await jittered_sleep(attempt, PAUSE)
        raise Throttled("audit: read events still unprocessed after retries")

    def _cursor(self, bound: str, item: Item) -> str:
        at = {"pk": str(item[KEY]), "sk": str(item[SORT]), "k": str(item["auditKey"])}
        return self.cursors.encode(self.scope.tenant_id, "audit", at, bound=bound)

    def _start(self, key: tuple[str, str], after: str, bound: str) -> Item:
        at = self.cursors.decode(self.scope.tenant_id, "audit", after, bound=bound).position
        return {KEY: at["pk"], SORT: at["sk"], "auditKey": at["k"], key[0]: key[1]}


def _sort(window: Window) -> tuple[str, SortCondition]:
    low = LOW if window.start is None else dump_dt(window.start)
    high = HIGH if window.end is None else dump_dt(window.end) + HIGH
    return "auditKey", SortCondition("between", (low, high))


def _event(item: Item) -> AuditEvent:
    # An opaque id of the item's own key (a change-log entry's, or a read's).
    digest = hashlib.sha256(f"{item[KEY]}\x00{item[SORT]}".encode()).hexdigest()[:26]
    return AuditEvent(
        id=f"evt_{digest}",
        at=load_dt(str(item["at"])),
        actor_id=str(item["actor"]),
        action=str(item.get("action") or ("delete" if item.get("op") == "DELETE" else "update")),
        entity=Entity(str(item["entity"])).name.capitalize(),  # the GraphQL type's name
        record_id=str(item["id"]),
        request_id=str(item["requestId"]) if item.get("requestId") else None,
        fields=tuple(str(f) for f in item.get("fields") or ()),
    )
