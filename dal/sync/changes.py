"""One change-log entry: what a device is told about one version of one record."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dal.dynamodb.items import Item
from dal.models import Entity
from dal.timefmt import dump_dt, load_dt


class Op(enum.StrEnum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"


# What a merge never compares: every write changes them.
UNCOMPARED = frozenset({"version", "updatedAt"})


@dataclass(frozen=True, slots=True)
class Change:
    entity: Entity
    id: str
    op: Op
    version: int
    changed_at: datetime  # when the server committed it
    record: dict[str, Any] | None  # API field names; None for a DELETE
    fields: tuple[str, ...] = ()  # the API fields this version changed
    made_at: datetime | None = None  # when the device made it (a push), else changed_at
    born: datetime | None = None  # the record's createdAt: an id created again is another life
    # The audit log's verb: "create" (no version a device saw before), "update", "delete"
    # ("erase" for an erasure's anonymising write: the fact stays, the values go).
    action: str = ""


def between(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    """The fields that differ from ``old`` to ``new`` (all of ``new``'s for a create)."""
    before, after = old or {}, new or {}
    names = sorted((before.keys() | after.keys()) - UNCOMPARED)
    return tuple(n for n in names if before.get(n) != after.get(n))


def attributes(change: Change, actor: str, request_id: str) -> Item:
    """The entry's attributes (keys and expiry are the journal's)."""
    item: Item = {
        "entity": change.entity.value,
        "id": change.id,
        "op": change.op.value,
        "version": change.version,
        "at": dump_dt(change.changed_at),
        "madeAt": dump_dt(change.made_at or change.changed_at),
        "actor": actor,
        "requestId": request_id,
    }
    if change.action:
        item["action"] = change.action
    if change.fields:
        item["fields"] = list(change.fields)
    if change.record is not None:
        # Text, not a map: the copy stays as written (no Decimal round trip), and small.
        item["record"] = json.dumps(change.record, separators=(",", ":"), sort_keys=True)
    return item


def from_item(item: Item) -> Change:
    raw = item.get("record")
    return Change(
        entity=Entity(str(item["entity"])),
        id=str(item["id"]),
        op=Op(str(item["op"])),
        version=int(str(item["version"])),
        changed_at=load_dt(str(item["at"])),
        record=None if raw is None else json.loads(str(raw)),
        fields=tuple(str(f) for f in item.get("fields") or ()),
        made_at=load_dt(str(item.get("madeAt") or item["at"])),
    )
