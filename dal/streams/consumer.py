"""The stream consumer of ``zebros worker`` and the in-process worker: it reads the
streams of the record tables itself, shard by shard, from each shard's checkpoint.

On AWS a Lambda on an event source mapping reads the same streams (``aws_lambda.py``);
both apply batches through ``Applier``, so they may even run together: a batch one
applied fails the other's checkpoint condition, which then re-reads the checkpoint.

Shards: DynamoDB splits and closes shards; a child is read only once its parent
(if the stream still lists it) has been read to its end, so each item's changes
are applied in order. Iterators are kept between polls: a caught-up poll costs
one GetRecords per shard.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dal.boto_errors import DYNAMODB, translated
from dal.dynamodb.tables import CHANGES, TABLES
from dal.errors import DalError, StoreUnavailable
from dal.streams import checkpoints
from dal.streams.apply import Applier
from dal.streams.changes import parse
from dal.streams.checkpoints import Checkpoint, Moved, aggregates_of
from dal.timefmt import utcnow

log = logging.getLogger("zebros.streams")
LIMIT = 1000  # records per GetRecords (DynamoDB's most)
IDLE_POLL_S = 0.1  # after a poll that found changes: the lag's floor
IDLE_MAX_S = 0.4  # after many that found none (an idle process polls 2.5 times a second)
DESCRIBE_S = 10.0  # how long a stream's shard list is trusted
AS_OF_REFRESH_S = 5.0  # an idle shard's asOf is moved on this often
# An iterator too old (15 min), or pointing before the oldest record kept: a new one
# from the checkpoint. (DynamoDB Local also says the latter of an iterator it dropped.)
RENEW = {"ExpiredIteratorException", "TrimmedDataAccessException"}
# The record tables (derived data) and the change log (its numbering).
STREAMED = {e.value for e, t in TABLES.items() if t.streamed} | {CHANGES.entity}


@dataclass
class Source:
    """One streamed table and its stream."""

    table: str
    entity: str  # an Entity's name, or the change log's (``CHANGES.entity``)
    arn: str
    shards: list[dict[str, Any]] = field(default_factory=list)
    described: float = 0.0


@dataclass
class Cursor:
    at: Checkpoint
    iterator: str | None = None


class Consumer:
    def __init__(
        self,
        streams: Any,  # aioboto3's dynamodbstreams client (no type stubs installed)
        applier: Applier,
        prefix: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.streams, self.applier, self.prefix, self._clock = streams, applier, prefix, clock
        self._sources: dict[str, Source] = {}
        self._cursors: dict[tuple[str, str], Cursor] = {}
        self._listed = -DESCRIBE_S
        self._vouch = False
        self.woken = asyncio.Event()
        self.seen = 0  # changes read (figures)

    async def poll(self) -> int:
        """Read every shard of every stream once to its current end; changes read."""
        sources = await self._streams()
        # Tables at once (their series barely overlap); a table's shards in order.
        return sum(await asyncio.gather(*(self._source(s) for s in sources)))

    async def _source(self, source: Source) -> int:
        read = 0
        for shard in await self._shards(source):
            read += await self._shard(source, shard)
        return read

    async def settle(self) -> None:
        """Poll until a poll finds nothing: every change committed before the call is
        applied when it returns (tests: "once writes settle"). Streams and shards are
        listed anew first: a silo tenant's tables made a moment ago are read too."""
        self._listed = self._clock() - DESCRIBE_S
        for source in self._sources.values():
            source.described = 0.0
        self._vouch = True  # every shard's asOf moves to this pass, idle ones' too
        try:
            while await self.poll():
                pass
        finally:
            self._vouch = False

    async def run_forever(self) -> None:
        idle = 0  # polls in a row that found nothing: the pause grows, to IDLE_MAX_S
        while True:
            try:
                if await self.poll():
                    idle = 0
                    continue
            except DalError as exc:  # DynamoDB away: wait, and go on
                log.warning("stream consumer: %s", exc)
            except Exception:  # a bug must not stop the worker of a whole process
                log.exception("stream consumer: unexpected failure")
            self.woken.clear()
            pause = min(IDLE_MAX_S, IDLE_POLL_S * 2 ** min(idle, 8))
            idle += 1
            with suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), pause)

    # -- streams and shards ----------------------------------------------------
    async def _streams(self) -> list[Source]:
        """The streams of this prefix's record tables (shared and silos'), listed anew
        every ``DESCRIBE_S`` (a silo tenant created meanwhile)."""
        if self._clock() - self._listed >= DESCRIBE_S:
            async with translated(DYNAMODB, "ListStreams"):
                found = await self._list()
            self._sources = {
                t: self._sources.get(t) or Source(t, e, arn) for t, (e, arn) in found.items()
            }
            self._listed = self._clock()
        return list(self._sources.values())

    async def _list(self) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        args: dict[str, Any] = {}
        while True:
            out = await self.streams.list_streams(**args)
            for stream in out.get("Streams", []):
                table = stream["TableName"]
                entity = entity_of(self.prefix, table)
                if entity is not None:
                    found[table] = (entity, stream["StreamArn"])  # the latest label wins
            if not out.get("LastEvaluatedStreamArn"):
                return found
            args = {"ExclusiveStartStreamArn": out["LastEvaluatedStreamArn"]}

    async def _shards(self, source: Source) -> list[dict[str, Any]]:
        """The stream's shards, parents before children."""
        if self._clock() - source.described < DESCRIBE_S and source.shards:
            return source.shards
        shards: list[dict[str, Any]] = []
        args: dict[str, Any] = {"StreamArn": source.arn}
        while True:
            async with translated(DYNAMODB, "DescribeStream"):
                out = (await self.streams.describe_stream(**args))["StreamDescription"]
            shards += out.get("Shards", [])
            if not out.get("LastEvaluatedShardId"):
                break
            args["ExclusiveStartShardId"] = out["LastEvaluatedShardId"]
        source.shards, source.described = _parents_first(shards), self._clock()
        return source.shards

    # -- reading one shard -----------------------------------------------------
    async def _shard(self, source: Source, shard: dict[str, Any]) -> int:
        cursor = await self._cursor(source, shard)
        if cursor is None or cursor.at.done:
            return 0
        try:
            return await self._read(source, cursor)
        except Moved:
            self._cursors.pop((source.table, cursor.at.shard), None)  # re-read it next poll
            return 1

    async def _cursor(self, source: Source, shard: dict[str, Any]) -> Cursor | None:
        key = (source.table, shard["ShardId"])
        if key not in self._cursors:
            parent = shard.get("ParentShardId")
            if parent and not await self._finished(source, parent):
                return None
            table = aggregates_of(source.table, source.entity)
            at = await checkpoints.read(self.applier.dynamo, table, source.table, key[1])
            self._cursors[key] = Cursor(at)
        return self._cursors[key]

    async def _finished(self, source: Source, shard: str) -> bool:
        """A parent is finished when read to its end, or no longer listed (trimmed)."""
        if not any(s["ShardId"] == shard for s in source.shards):
            return True
        cursor = self._cursors.get((source.table, shard))
        return cursor is not None and cursor.at.done

    async def _read(self, source: Source, cursor: Cursor) -> int:
        read, renewed = 0, 0
        while True:
            if cursor.iterator is None:
                cursor.iterator = await self._iterator(source, cursor.at)
            started = utcnow()
            out = await self._records(cursor)
            if out is None:  # a new iterator from the checkpoint, once
                renewed += 1
                if renewed > 1:
                    raise StoreUnavailable(f"stream {cursor.at.sk}: no readable iterator")
                continue
            changes = [parse(r) for r in out.get("Records", [])]
            nxt = out.get("NextShardIterator")
            tip = len(changes) < LIMIT
            as_of = started if tip else cursor.at.as_of
            if changes or nxt is None or self._stale(cursor.at, as_of):
                cursor.at = await self.applier.apply(
                    cursor.at, source.entity, changes, as_of, done=nxt is None
                )
            cursor.iterator = nxt
            read += len(changes)
            self.seen += len(changes)
            if tip or nxt is None:
                return read

    async def _records(self, cursor: Cursor) -> dict[str, Any] | None:
        """One GetRecords; None when the iterator must be made again (expired)."""
        try:
            got = await self.streams.get_records(ShardIterator=cursor.iterator, Limit=LIMIT)
            return dict(got)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in RENEW:
                raise StoreUnavailable(f"GetRecords: {exc}") from exc
            log.warning("stream %s: %s at %s; iterator renewed", cursor.at.sk, code, cursor.at.seq)
        except BotoCoreError as exc:
            raise StoreUnavailable(f"GetRecords: {exc}") from exc
        cursor.iterator = None
        return None

    def _stale(self, at: Checkpoint, as_of: Any) -> bool:
        """Whether an idle shard's asOf is moved on (a write, at most every few seconds)."""
        return self._vouch or (as_of - at.as_of).total_seconds() >= AS_OF_REFRESH_S

    async def _iterator(self, source: Source, at: Checkpoint) -> str:
        args: dict[str, Any] = {"StreamArn": source.arn, "ShardId": at.shard}
        if at.seq is None:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            args |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": at.seq}
        async with translated(DYNAMODB, "GetShardIterator"):
            out = await self.streams.get_shard_iterator(**args)
        return str(out["ShardIterator"])


def entity_of(prefix: str, table: str) -> str | None:
    """The streamed table's name without prefix: ``{prefix}{Entity}``, or a silo's
    ``{prefix}{tenant}-{Entity}``; None for any other table."""
    if not table.startswith(prefix):
        return None
    name = table[len(prefix) :].rsplit("-", 1)[-1]
    return name if name in STREAMED else None


def _parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {s["ShardId"] for s in shards}
    depth: dict[str, int] = {}

    def level(shard: dict[str, Any]) -> int:
        parent = shard.get("ParentShardId")
        if shard["ShardId"] not in depth:
            up = next((s for s in shards if s["ShardId"] == parent), None)
            depth[shard["ShardId"]] = 0 if parent not in ids or up is None else level(up) + 1
        return depth[shard["ShardId"]]

    return sorted(shards, key=lambda s: (level(s), s["ShardId"]))
