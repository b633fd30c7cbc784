"""Applying one shard's changes: aggregate ADDs, summed, with the checkpoint move.

Each transaction holds the summed ADDs of a run of consecutive changes and the
move of the shard's checkpoint from the change before the run to its last one
(``checkpoints.py``), so it commits all of the run or none of it, and only once.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dal.cache.client import Cache
from dal.cache.keys import Layer
from dal.derived import series
from dal.dynamodb.client import FAILED_CONDITION, Dynamo
from dal.dynamodb.tables import CHANGES
from dal.errors import TransactionCancelled
from dal.models import Entity
from dal.records import activities, contacts, customers, opportunities
from dal.records.codec import Codec
from dal.streams import checkpoints
from dal.streams.changes import Change, Scopes, Sums, counts, is_record
from dal.streams.checkpoints import Checkpoint, Moved
from dal.streams.sequencer import Sequencer

TRANSACTION_MAX = 100  # DynamoDB's limit on items per TransactWriteItems
CHANGE_MAX = 16  # aggregate items one record's change may touch (a deal's: 14)
CODECS: dict[Entity, Codec[Any]] = {
    c.entity: c for c in (customers.CODEC, contacts.CODEC, opportunities.CODEC, activities.CODEC)
}
# Operations a change brings besides its counts (``archive.py``): (source, entity, change).
Extra = Callable[[str, Entity, Change], Awaitable[list[dict[str, Any]]]]


class Applier:
    def __init__(
        self, dynamo: Dynamo, scopes: Scopes, cache: Cache | None, extra: Extra | None = None
    ) -> None:
        self.dynamo, self.scopes, self.cache, self._extra = dynamo, scopes, cache, extra
        self.sequencer = Sequencer(dynamo)  # the Changes table's stream
        self.transactions = 0  # committed by this process (figures)

    async def apply(
        self,
        at: Checkpoint,
        name: str,
        changes: Sequence[Change],
        as_of: datetime,
        done: bool = False,
    ) -> Checkpoint:
        """Apply the changes past ``at`` of a table named ``name`` (an entity's, or the
        change log's); the checkpoint after them (``as_of`` and ``done`` go with the
        last run). Raises ``Moved`` when it is not at ``at``."""
        if name == CHANGES.entity:
            return await self.sequencer.apply(at, changes, as_of, done)
        return await self._records(at, Entity(name), changes, as_of, done)

    async def _records(
        self, at: Checkpoint, entity: Entity, changes: Sequence[Change], as_of: datetime, done: bool
    ) -> Checkpoint:
        codec, as_of = CODECS.get(entity), max(as_of, at.as_of)  # asOf never goes back
        sums, last = Sums(), at.seq
        extra: list[dict[str, Any]] = []
        for change in (c for c in changes if at.after(c.seq)):
            if len(sums) + len(extra) > TRANSACTION_MAX - 1 - CHANGE_MAX:
                at = await self._commit(at, replace(at, seq=last), sums, extra)
                sums, extra = Sums(), []
            if codec is not None and is_record(change.item):
                await self._count(sums, codec, at.source, change)
            if self._extra is not None:
                extra = _once(extra, await self._extra(at.source, entity, change))
            last = change.seq
        return await self._commit(at, replace(at, seq=last, as_of=as_of, done=done), sums, extra)

    async def _count(self, sums: Sums, codec: Codec[Any], source: str, change: Change) -> None:
        scope = await self.scopes.of(source, codec.entity, change.item)
        sums.add(scope, counts(codec, scope, change.old), -1)
        sums.add(scope, counts(codec, scope, change.new), +1)

    async def _commit(
        self, at: Checkpoint, to: Checkpoint, sums: Sums, extra: list[dict[str, Any]]
    ) -> Checkpoint:
        if to == at:
            return at
        ops = [*sums.operations(_shard(at.shard)), *extra, checkpoints.move(at, to)]
        try:
            await self.dynamo.write(ops)
        except TransactionCancelled as exc:
            # The checkpoint moved, or a check of what was read (a hold) no longer
            # holds: the batch goes again from the checkpoint, read anew.
            if FAILED_CONDITION in exc.reasons:
                raise Moved(f"checkpoint of {at.sk} moved, or a hold changed") from exc
            raise
        self.transactions += 1
        await self._invalidate(sums.tenants)
        return to

    async def _invalidate(self, tenants: set[str]) -> None:
        """Cached reports and dashboards were built on the aggregates just changed."""
        if self.cache is None or not self.cache.enabled:
            return
        for tenant in sorted(tenants):
            await self.cache.bump(tenant, (Layer.REPORTS, Layer.DASHBOARD))


def _once(ops: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ops`` and ``more``, each ConditionCheck once (a transaction may name an item
    only once: many deletes of a tenant check its one hold item)."""
    seen = {json.dumps(op, sort_keys=True) for op in ops if "ConditionCheck" in op}
    out = list(ops)
    for op in more:
        key = json.dumps(op, sort_keys=True)
        if "ConditionCheck" not in op or key not in seen:
            out.append(op)
            seen.add(key)
    return out


def _shard(stream_shard: str) -> int:
    """The aggregate shard a stream shard adds to: consumers of different stream shards
    mostly touch different items, so their transactions rarely collide."""
    return zlib.crc32(stream_shard.encode()) % series.SHARDS
