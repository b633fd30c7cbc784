"""The DynamoDB side of an erasure: copies of a subject's values outside its records.

The records themselves are rewritten through their repositories (so the change
log, the aggregates and the cache hear of it); what is here rewrites the copies
in place: change-log snapshots, pushed mutations' and Idempotency-Key answers,
archived records and job records. Each finds its items with a Query (never a
Scan), re-reads them strongly consistent, and writes back only what changed,
conditioned on the item being the tenant's. Run twice, the second run finds
nothing to change: a resumed erasure redoes a step safely. Each works a Query page
(500 keys) at a time: a tenant's receipts and job records, or a subject's history,
never sit in memory whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import owned_by
from dal.dynamodb.items import Item
from dal.dynamodb.tables import ARCHIVE, CHANGES, JOBS, KEY, SORT
from dal.dynamodb.writes import set_attrs
from dal.privacy.scrub import Scrubber
from dal.tenancy.scope import TenantScope

CHUNK = 100  # keys per BatchGetItem
PAGE = 500


class Eraser:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self.dynamo, self.scope = dynamo, scope
        self.changes = scope.table(CHANGES.entity)
        self.archive = scope.table(ARCHIVE.entity)
        self.jobs = scope.table(JOBS.entity)

    async def history(self, record_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """The states of the record the change log still holds (API field names), a
        page at a time."""
        key = ("subjectKey", self._subject(record_id))
        async for keys in self._keys(self.changes, "bySubject", key):
            items = await self._items(self.changes, keys)
            yield [json.loads(str(i["record"])) for i in items if i.get("record")]

    async def scrub_log(self, records: Mapping[str, Mapping[str, Any]], scrubber: Scrubber) -> int:
        """The change-log entries of these records (id -> the fields each snapshot gets
        instead, None: dropped): their snapshots blanked so, then scrubbed."""
        changed = 0
        for record_id, blank in records.items():
            key = ("subjectKey", self._subject(record_id))
            keys = self._keys(self.changes, "bySubject", key)
            changed += await self._rewrite(self.changes, keys, ("record",), scrubber, _const(blank))
        return changed

    async def scrub_receipts(self, scrubber: Scrubber) -> int:
        """Stored answers of pushes and Idempotency-Key requests (they echo records)."""
        key = ("receiptKey", self.scope.key("receipts"))
        keys = self._keys(self.changes, "byReceipt", key)
        return await self._rewrite(self.changes, keys, ("result",), scrubber)

    async def scrub_archive(
        self, about: str, scrubber: Scrubber, blanks: Mapping[str, Mapping[str, Any]]
    ) -> int:
        """Archived copies about the subject (its deleted deals and activities), each
        blanked as its entity says (``blanks``: entity -> fields), then scrubbed."""
        key = ("relatedKey", self.scope.key("archive", about))
        keys = self._keys(self.archive, "byRelated", key)
        by_entity = lambda item: blanks.get(str(item.get("entity")))  # noqa: E731
        return await self._rewrite(self.archive, keys, ("record",), scrubber, by_entity)

    async def scrub_jobs(self, scrubber: Scrubber) -> int:
        """Job records: an import's file name, a message, a request's reason (the
        erasure's own too: only its params and message, never its checkpoint)."""
        keys = self._keys(self.jobs, None, (KEY, self.scope.key("jobs")))
        return await self._rewrite(self.jobs, keys, ("params", "message"), scrubber)

    def _subject(self, record_id: str) -> str:
        return self.scope.key("audit", record_id)

    async def _keys(
        self, table: str, index: str | None, key: tuple[str, str]
    ) -> AsyncIterator[list[tuple[str, str]]]:
        pages = self.dynamo.pages(table, index, key, page=PAGE, projection=(KEY, SORT))
        async for items in pages:
            yield [(str(i[KEY]), str(i[SORT])) for i in items]

    async def _items(self, table: str, keys: list[tuple[str, str]]) -> list[Item]:
        found: list[Item] = []
        for i in range(0, len(keys), CHUNK):
            got = await self.dynamo.get_sorted(table, keys[i : i + CHUNK])
            found += [item for item in got if item is not None and self.scope.owns(item)]
        return found

    async def _rewrite(
        self,
        table: str,
        pages: AsyncIterator[list[tuple[str, str]]],
        attrs: tuple[str, ...],
        scrubber: Scrubber,
        blank: Callable[[Item], Mapping[str, Any] | None] = lambda _: None,
    ) -> int:
        changed = 0
        async for keys in pages:
            for item in await self._items(table, keys):
                changed += await self._rewrite_one(table, item, attrs, scrubber, blank(item))
        return changed

    async def _rewrite_one(
        self,
        table: str,
        item: Item,
        attrs: tuple[str, ...],
        scrubber: Scrubber,
        blank: Mapping[str, Any] | None,
    ) -> int:
        given = {a: _blanked(item[a], blank) for a in attrs if item.get(a) is not None}
        new = {a: _scrubbed(v, scrubber) for a, v in given.items()}
        new = {a: v for a, v in new.items() if v != item[a]}
        if not new:
            return 0
        mine = owned_by(self.scope.tenant_id)
        await self.dynamo.update(set_attrs(table, str(item[KEY]), str(item[SORT]), new, mine))
        return 1


def _const(blank: Mapping[str, Any]) -> Callable[[Item], Mapping[str, Any] | None]:
    return lambda _: blank


def _blanked(value: Any, blank: Mapping[str, Any] | None) -> Any:
    """A JSON snapshot with ``blank``'s fields put in (None: taken out)."""
    if not blank or not isinstance(value, str):
        return value
    record = json.loads(value)
    for name, given in blank.items():
        if given is None:
            record.pop(name, None)
        else:
            record[name] = given
    return json.dumps(record, separators=(",", ":"), sort_keys=True)


def _scrubbed(value: Any, scrubber: Scrubber) -> Any:
    """A stored snapshot or answer (text) as a record; maps and lists value by value."""
    if isinstance(value, str):
        return scrubber.stored(value, record=True)
    return scrubber.value(value)
