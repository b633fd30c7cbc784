"""Where the consumer is in each stream shard: one item per (source table, shard).

A checkpoint holds the sequence number of the last change applied. It is moved in
the same transaction as what the changes up to it derive (aggregate ADDs, archive
copies), conditioned on still holding the number the batch started after: a batch
applied once moves it, so the same batch again (a redelivery, a second consumer, a
restart from an older position) fails the condition and changes nothing.

``asOf``: every change committed to the shard before this instant is applied (the
time of a read that reached the end of the shard). Reports say the least of these.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dal.dynamodb.client import Dynamo
from dal.dynamodb.items import Item, serialize
from dal.dynamodb.tables import AGGREGATES, KEY, SORT
from dal.errors import DalError
from dal.timefmt import dump_dt, load_dt

PK = "~streams"  # no tenant id starts with "~": no tenant's key can spell it
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # asOf before the consumer has read a shard


@dataclass(frozen=True, slots=True)
class Checkpoint:
    table: str  # the Aggregates table it lives in (the source's family: shared or a silo's)
    source: str  # the streamed table
    shard: str
    seq: str | None = None  # None: nothing applied yet
    as_of: datetime = NEVER
    done: bool = False  # a closed shard read to its end

    @property
    def sk(self) -> str:
        return f"{self.source}#{self.shard}"

    def after(self, seq: str | None) -> bool:
        """Whether a change numbered ``seq`` is past this checkpoint (not applied yet)."""
        return self.seq is None or seq is None or int(seq) > int(self.seq)


class Moved(DalError):
    """The checkpoint is not where this batch started: another consumer applied it."""


def aggregates_of(source: str, name: str) -> str:
    """``{prefix}Customers`` -> ``{prefix}Aggregates``; a silo's tables alike."""
    return source[: -len(name)] + AGGREGATES.entity


async def read(dynamo: Dynamo, table: str, source: str, shard: str) -> Checkpoint:
    blank = Checkpoint(table, source, shard)
    return _loaded(blank, await dynamo.get(table, PK, blank.sk))


def _loaded(blank: Checkpoint, item: Item | None) -> Checkpoint:
    if item is None:
        return blank
    seq = item.get("seq")
    at = item.get("asOf")
    return replace(
        blank,
        seq=None if seq is None else str(seq),
        as_of=NEVER if at is None else load_dt(str(at)),
        done=bool(item.get("done", False)),
    )


def move(at: Checkpoint, to: Checkpoint) -> dict[str, Any]:
    """The Update moving checkpoint ``at`` to ``to``, failing unless it still holds ``at``."""
    values: dict[str, Any] = {":a": dump_dt(to.as_of), ":d": to.done}
    sets = "#a = :a, #d = :d"
    if to.seq is not None:
        values[":s"] = to.seq
        sets += ", #s = :s"
    if at.seq is None:
        condition = "attribute_not_exists(#s)"
    else:
        values[":was"] = at.seq
        condition = "#s = :was"
    return {
        "Update": {
            "TableName": at.table,
            "Key": {KEY: {"S": PK}, SORT: {"S": at.sk}},
            "UpdateExpression": f"SET {sets}",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#s": "seq", "#a": "asOf", "#d": "done"},
            "ExpressionAttributeValues": serialize(values),
        }
    }


async def as_of(dynamo: Dynamo, table: str, sources: tuple[str, ...]) -> datetime:
    """The least ``asOf`` of the open shards of ``sources`` (their checkpoints in
    ``table``): every change to them committed before it is counted."""
    found: list[datetime] = []
    start: Item | None = None
    while True:
        items, start = await dynamo.query(table, None, (KEY, PK), limit=100, start=start)
        for item in items:
            source = str(item[SORT]).rsplit("#", 1)[0]
            if source in sources and not item.get("done"):
                found.append(load_dt(str(item["asOf"])) if "asOf" in item else NEVER)
        if start is None:
            return min(found, default=NEVER)
