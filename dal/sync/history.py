"""A record's versions in the change log, for merging a device's stale edit.

The byRecord index is eventually consistent: the caller asks for versions
(base, current] and gets them only when every one came back; otherwise None,
and the push answers CONFLICT rather than merge against an incomplete history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dal.dynamodb.client import Dynamo, SortCondition
from dal.dynamodb.tables import CHANGES
from dal.sync.changes import Op
from dal.sync.journal import record_key
from dal.tenancy.scope import TenantScope
from dal.timefmt import load_dt

MAX_VERSIONS = 200  # a device further behind than this on one record gets CONFLICT


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    op: Op
    fields: tuple[str, ...]
    made_at: datetime


class History:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self._dynamo, self._scope = dynamo, scope
        self._table = scope.table(CHANGES.entity)

    async def since(
        self, record_id: str, born: datetime, base: int, current: int
    ) -> list[Version] | None:
        """Versions base+1 .. current of the record's life that began at ``born``, in
        order; None if incomplete."""
        if current - base > MAX_VERSIONS:
            return None
        bounds = (f"{base + 1:010d}", f"{current:010d}")
        items, _ = await self._dynamo.query(
            self._table,
            "byRecord",
            ("recordKey", record_key(self._scope, record_id, born)),
            sort=("versionKey", SortCondition("between", bounds)),
            limit=MAX_VERSIONS,
        )
        found = [
            Version(
                int(str(i["version"])),
                Op(str(i["op"])),
                tuple(str(f) for f in i.get("fields") or ()),
                load_dt(str(i["madeAt"])),
            )
            for i in items
            if self._scope.owns(i)
        ]
        if [v.version for v in found] != list(range(base + 1, current + 1)):
            return None
        return found
