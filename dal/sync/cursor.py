"""Sync cursors: a position in every shard, signed and bound to tenant and filter.

The body says where a device is: the last number it was given in each shard,
and, during a full sync, the entity and the page of it to read next (the
positions are then the high-water mark the full sync took before it started).
Bound to the ``entities`` filter: a cursor of a filtered sync has skipped the
others' changes, so it must not be read without that filter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from dal.errors import InvalidCursor, ResyncRequired
from dal.models import Entity
from dal.records.cursors import CursorCodec
from dal.sync.sequence import SHARDS

INDEX = "sync"


@dataclass(frozen=True, slots=True)
class SyncCursor:
    positions: tuple[int, ...]
    entities: tuple[Entity, ...]  # sorted; every entity when empty
    full_entity: int | None = None  # a full sync's entity (index in FULL_ORDER) to read
    full_after: str | None = None  # the page of it to read next
    issued: float = 0.0  # epoch seconds
    mark_at: float = 0.0  # when a full sync took its mark (epoch seconds)

    @property
    def full(self) -> bool:
        return self.full_entity is not None

    def moved(self, **changes: object) -> SyncCursor:
        return replace(self, issued=time.time(), **changes)  # type: ignore[arg-type]


def bound_of(entities: tuple[Entity, ...]) -> str:
    return ",".join(e.value for e in entities)


def encode(codec: CursorCodec, tenant: str, cursor: SyncCursor) -> str:
    position = {
        "p": ",".join(map(str, cursor.positions)),
        "t": str(int(cursor.issued)),
    }
    if cursor.full_entity is not None:
        position["f"] = str(cursor.full_entity)
    if cursor.full_after is not None:
        position["a"] = cursor.full_after
    if cursor.mark_at:
        position["m"] = str(cursor.mark_at)
    return codec.encode(tenant, INDEX, position, bound=bound_of(cursor.entities))


def decode(
    codec: CursorCodec, tenant: str, text: str, entities: tuple[Entity, ...], retention_s: float
) -> SyncCursor:
    """The cursor, or InvalidCursor (edited, another tenant's, another filter), or
    ResyncRequired (older than the log keeps, or of another shard count)."""
    at = codec.decode(tenant, INDEX, text, bound=bound_of(entities)).position
    try:
        positions = tuple(int(p) for p in at["p"].split(","))
        issued = float(at["t"])
        full = int(at["f"]) if "f" in at else None
        mark_at = float(at.get("m", "0"))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if len(positions) != SHARDS:
        raise ResyncRequired("the change log was re-sharded since this cursor")
    if time.time() - issued > retention_s:
        raise ResyncRequired("this cursor is older than the change log keeps")
    return SyncCursor(positions, entities, full, at.get("a"), issued, mark_at)
