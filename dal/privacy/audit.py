"""The audit log: who wrote what, when, by which request, and which fields: never values.

It is the change log read another way. Every logged write's entry (``sync/journal``)
carries ``actorKey`` and ``subjectKey`` with a time-ordered ``auditKey``, and the
Changes table's ``byActor`` and ``bySubject`` indexes project the facts only. So an
audit event costs no write of its own, cannot disagree with the change log, and
expires with it (90 days, the system-log retention). A page is one Query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.items import Item
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.records.cursors import CursorCodec
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt, load_dt

LOW, HIGH = "0", "~"  # below and above every auditKey (they start with a digit)


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
    def __init__(self, dynamo: Dynamo, scope: TenantScope, cursors: CursorCodec) -> None:
        self.dynamo, self.scope, self.cursors = dynamo, scope, cursors
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
        start = None if after is None else self._start(key, after)
        low = LOW if window.start is None else dump_dt(window.start)
        high = HIGH if window.end is None else dump_dt(window.end) + HIGH
        sort = ("auditKey", SortCondition("between", (low, high)))
        items, _ = await self.dynamo.query(
            self.table, index, key, sort=sort, limit=first + 1, start=start, forward=False
        )
        kept = [i for i in items[:first] if self.scope.owns(i)]
        cursors = [self._cursor(key, i) for i in kept]
        return [_event(i) for i in kept], cursors, len(items) > first

    def _cursor(self, key: tuple[str, str], item: Item) -> str:
        at = {"pk": str(item[KEY]), "sk": str(item[SORT]), "k": str(item["auditKey"])}
        return self.cursors.encode(self.scope.tenant_id, "audit", at, bound=key[1])

    def _start(self, key: tuple[str, str], after: str) -> Item:
        at = self.cursors.decode(self.scope.tenant_id, "audit", after, bound=key[1]).position
        return {KEY: at["pk"], SORT: at["sk"], "auditKey": at["k"], key[0]: key[1]}


def _event(item: Item) -> AuditEvent:
    # The entry's own key is its id: shard partition and sequence number, opaque outside.
    shard = str(item[KEY]).rsplit("#", 1)[-1]
    return AuditEvent(
        id=f"evt_{shard}_{item[SORT]}",
        at=load_dt(str(item["at"])),
        actor_id=str(item["actor"]),
        action=str(item.get("action") or ("delete" if item.get("op") == "DELETE" else "update")),
        entity=str(item["entity"]),
        record_id=str(item["id"]),
        request_id=str(item["requestId"]) if item.get("requestId") else None,
        fields=tuple(str(f) for f in item.get("fields") or ()),
    )
