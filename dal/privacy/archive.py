"""The archive: business records kept after their delete, for the 7-year retention.

A deleted customer, opportunity or activity leaves its last state (API field
names, as the change log keeps it) in the Archive table: the stream consumer
writes the copy from the delete's REMOVE record (``dal/streams/archive.py``), so
the delete's own transaction touches nothing the tenant's deletes share. DynamoDB's
TTL removes a copy ``ARCHIVE_S`` after the delete, unless the tenant is under
legal hold: then copies get no expiry, and turning the hold on takes the expiry
off those already there (``hold``), turning it off puts it back.

The hold (an item ``{t}#hold`` of the Archive table) is read, strongly
consistent, when the consumer archives a delete (after it committed), and the
consumer's transaction checks it is still what was read: a hold turned on
meanwhile fails it, and the batch goes again with the copy kept for good.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import Condition, absent
from dal.dynamodb.items import Item
from dal.dynamodb.tables import ARCHIVE, KEY, SORT
from dal.dynamodb.writes import put, set_attrs
from dal.models import Entity
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_dt, load_dt, utcnow

ARCHIVE_S = 7 * 366 * 86_400  # business records: 7 years (ARCHITECTURE, "Data Retention")
HOLD = "legalHold"  # the Tenants item's attribute


@dataclass(frozen=True, slots=True)
class Archived:
    entity: Entity
    id: str
    deleted_at: datetime
    deleted_by: str
    record: dict[str, Any]
    expires_at: int | None


def held_now(hold: bool) -> Condition:
    """The hold item still says ``hold`` (no item: no hold)."""
    if hold:
        return Condition("#h = :on", {"#h": HOLD}, {":on": True})
    return Condition("attribute_not_exists(#h) OR #h = :on", {"#h": HOLD}, {":on": False})


class Archive:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self.dynamo, self.scope = dynamo, scope
        self.table = scope.table(ARCHIVE.entity)
        self.pk = scope.key("archive")
        # The hold lives under the tenant's own key (not in the registry, which is keyed
        # by bare tenant id): a role limited to the tenant's keys may read and check it.
        self.hold_key = (scope.key("hold"), "hold")

    async def on_hold(self) -> bool:
        item = await self.dynamo.get(self.table, *self.hold_key)
        return bool(item and self.scope.owns(item) and item.get(HOLD))

    def _still(self, hold: bool) -> dict[str, Any]:
        pk, sk = self.hold_key
        args = held_now(hold).arguments()
        key = {KEY: {"S": pk}, SORT: {"S": sk}}
        return {"ConditionCheck": {"TableName": self.table, "Key": key, **args}}

    async def ops(
        self,
        entity: Entity,
        record: dict[str, Any],
        related: str | None,
        actor: str,
        *,
        held_only: bool = False,
    ) -> list[dict[str, Any]]:
        """The copy's put, and the check that the hold read is still the tenant's (the
        check alone when ``held_only`` and no hold: a hold turned on meanwhile fails the
        consumer's transaction, which goes again and keeps a copy)."""
        hold, now = await self.on_hold(), utcnow()
        if held_only and not hold:
            return [self._still(False)]
        item: Item = {
            KEY: self.pk,
            SORT: f"{entity.value}#{record['id']}#{dump_dt(now)}",
            TENANT_ATTR: self.scope.tenant_id,
            "entity": entity.value,
            "id": str(record["id"]),
            "deletedAt": dump_dt(now),
            "deletedBy": actor,
            "record": json.dumps(record, separators=(",", ":"), sort_keys=True),
        }
        if related is not None:  # a contact's deal or activity: erasure finds it
            item["relatedKey"] = self.scope.key("archive", related)
        if not hold:
            item["expiresAt"] = int(time.time() + ARCHIVE_S)
        return [put(self.table, item, absent()), self._still(hold)]

    async def page(
        self, first: int, start: Item | None = None
    ) -> tuple[list[Archived], Item | None]:
        items, last = await self.dynamo.query(
            self.table, None, (KEY, self.pk), limit=first, start=start, consistent=True
        )
        return [_archived(i) for i in items if self.scope.owns(i)], last

    async def about(self, related: str) -> list[Item]:
        """The archived copies about ``related`` (its keys: an erasure re-reads them)."""
        found: list[Item] = []
        start: Item | None = None
        while True:
            key = ("relatedKey", self.scope.key("archive", related))
            items, start = await self.dynamo.query(
                self.table, "byRelated", key, limit=500, start=start
            )
            found += items
            if start is None:
                return found

    async def records_about(self, related: str) -> list[tuple[Entity, str]]:
        """(entity, id) of each archived record about ``related``."""
        out = []
        for item in await self.about(related):
            entity, id, _ = str(item[SORT]).split("#", 2)
            out.append((Entity(entity), id))
        return out

    async def hold(self, on: bool) -> int:
        """Set the tenant's hold; the copies' expiry off (on) or back (off). How many."""
        attrs = {HOLD: on, TENANT_ATTR: self.scope.tenant_id}
        mine = Condition(
            "attribute_not_exists(#k) OR #tid = :tid",
            {"#k": KEY, "#tid": TENANT_ATTR},
            {":tid": self.scope.tenant_id},
        )
        await self.dynamo.update(set_attrs(self.table, *self.hold_key, attrs, mine))
        changed, start = 0, None
        while True:
            copies, start = await self.page(500, start)
            for copy in copies:
                await self._expire(copy, None if on else _expiry(copy))
                changed += 1
            if start is None:
                return changed

    async def _expire(self, copy: Archived, at: int | None) -> None:
        sk = f"{copy.entity.value}#{copy.id}#{dump_dt(copy.deleted_at)}"
        mine = Condition("#tid = :tid", {"#tid": TENANT_ATTR}, {":tid": self.scope.tenant_id})
        await self.dynamo.update(set_attrs(self.table, self.pk, sk, {"expiresAt": at}, mine))


def _expiry(copy: Archived) -> int:
    """A business record's copy: 7 years after its delete. A contact's, kept only for
    the hold: now (DynamoDB's TTL removes it within days)."""
    if copy.entity is Entity.CONTACT:
        return int(time.time())
    return int(copy.deleted_at.timestamp() + ARCHIVE_S)


def _archived(item: Item) -> Archived:
    expires = item.get("expiresAt")
    return Archived(
        entity=Entity(str(item["entity"])),
        id=str(item["id"]),
        deleted_at=load_dt(str(item["deletedAt"])),
        deleted_by=str(item.get("deletedBy", "")),
        record=json.loads(str(item["record"])),
        expires_at=None if expires is None else int(expires),
    )
