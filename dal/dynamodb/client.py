"""A thin async layer over the DynamoDB client: typed items, batching, retries, errors.

Every ``ClientError`` is translated here into ``dal.errors``; nothing above this
module sees boto's exceptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dal.backoff import jittered_sleep
from dal.boto_errors import DYNAMODB, translated
from dal.dynamodb.conditions import Condition
from dal.dynamodb.items import Item, deserialize, serialize
from dal.dynamodb.tables import KEY, SORT
from dal.errors import (
    ConditionFailed,
    Throttled,
    TransactionCancelled,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

BATCH_GET_MAX = 100  # DynamoDB's limit on keys per BatchGetItem
MAX_PAUSE = 0.1  # seconds, the longest pause between two attempts
WRITE_BUDGET = 6.0  # seconds a write keeps retrying conflicts before giving up
Operations = Sequence[dict[str, Any]] | Callable[[], Sequence[dict[str, Any]]]
FAILED_CONDITION = "ConditionalCheckFailed"
WRITE_KINDS = ("Put", "Update", "Delete", "ConditionCheck")
# Cancellation reasons (and single-write errors) that mean "try again", not "no".
_TRANSIENT = {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"}


@dataclass(frozen=True, slots=True)
class SortCondition:
    """A key condition on an index's sort key: ``between``, ``begins_with``, ``<`` or ``>=``."""

    op: str
    values: tuple[str, ...]

    def expression(self) -> str:
        if self.op == "between":
            return "#sk BETWEEN :s0 AND :s1"
        if self.op == "begins_with":
            return "begins_with(#sk, :s0)"
        return f"#sk {self.op} :s0"


class Dynamo:
    """The DynamoDB operations the repos need, on one shared client."""

    def __init__(
        self, client: DynamoDBClient, *, attempts: int = 30, backoff: float = 0.01
    ) -> None:
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self.conflicts = 0  # transient cancellations retried so far (contention figures)

    @property
    def client(self) -> DynamoDBClient:
        return self._client

    async def get(self, table: str, pk: str, sk: str | None = None) -> Item | None:
        key = {KEY: {"S": pk}} | ({SORT: {"S": sk}} if sk is not None else {})
        async with translated(DYNAMODB, "GetItem"):
            out = await self._client.get_item(TableName=table, Key=key, ConsistentRead=True)
        raw = out.get("Item")
        return deserialize(raw) if raw else None

    async def get_many(self, table: str, pks: Sequence[str]) -> list[Item | None]:
        """Items for ``pks`` in the order given, ``None`` where missing."""
        found = await self.batch_get({table: list(pks)})
        by_pk = found.get(table, {})
        return [by_pk.get(pk) for pk in pks]

    async def batch_get(self, wanted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Item]]:
        """BatchGetItem over several tables, 100 keys a call, calls run concurrently."""
        pairs = [(t, pk) for t, pks in wanted.items() for pk in dict.fromkeys(pks)]
        chunks = [pairs[i : i + BATCH_GET_MAX] for i in range(0, len(pairs), BATCH_GET_MAX)]
        results = await asyncio.gather(*(self._batch_get_chunk(c) for c in chunks))
        merged: dict[str, dict[str, Item]] = {}
        for result in results:
            for table, items in result.items():
                merged.setdefault(table, {}).update(items)
        return merged

    async def get_sorted(self, table: str, keys: Sequence[tuple[str, str]]) -> list[Item | None]:
        """Strongly consistent reads of (pk, sk) keys, one BatchGetItem (at most 100),
        in the order given, ``None`` where missing."""
        wanted = [{KEY: {"S": pk}, SORT: {"S": sk}} for pk, sk in keys]
        request = {table: {"Keys": wanted, "ConsistentRead": True}}
        found = await self._batch_get_request(request)
        by_key = {(i[KEY], i[SORT]): i for i in found.get(table, {}).values()}
        return [by_key.get(k) for k in keys]

    async def _batch_get_chunk(self, pairs: list[tuple[str, str]]) -> dict[str, dict[str, Item]]:
        request: dict[str, Any] = {}
        for table, pk in pairs:
            request.setdefault(table, {"Keys": []})["Keys"].append({KEY: {"S": pk}})
        return await self._batch_get_request(request)

    async def _batch_get_request(self, request: dict[str, Any]) -> dict[str, dict[str, Item]]:
        """Items by table and by a key of their own (pk, or pk and sk), unprocessed
        keys retried with jittered backoff."""
        found: dict[str, dict[str, Item]] = {}
        for attempt in range(self._attempts):
            async with translated(DYNAMODB, "BatchGetItem"):
                out = await self._client.batch_get_item(RequestItems=request)
            for table, raws in out.get("Responses", {}).items():
                for raw in raws:
                    item = deserialize(raw)
                    found.setdefault(table, {})[_own_key(item)] = item
            request = dict(out.get("UnprocessedKeys") or {})
            if not request:
                return found
            if attempt + 1 < self._attempts:
                await self._sleep(attempt)
        raise Throttled("BatchGetItem: keys still unprocessed after retries")

    async def _sleep(self, attempt: int) -> None:
        await jittered_sleep(attempt, self._backoff, MAX_PAUSE)

    async def query(
        self,
        table: str,
        index: str | None,
        key: tuple[str, str],
        *,
        sort: tuple[str, SortCondition] | None = None,
        limit: int,
        start: Item | None = None,
        forward: bool = True,
        filter: Condition | None = None,
        projection: tuple[str, ...] = (),
        consistent: bool = False,
    ) -> tuple[list[Item], Item | None]:
        """One Query call: at most ``limit`` items from one partition, and where it stopped."""
        args = _query_args(table, index, key, sort, filter, projection)
        args.update(Limit=limit, ScanIndexForward=forward)
        if consistent:
            args["ConsistentRead"] = True
        if start is not None:
            args["ExclusiveStartKey"] = serialize(start)
        out = await self._query(args)
        last = out.get("LastEvaluatedKey")
        return [deserialize(r) for r in out.get("Items", [])], deserialize(last) if last else None

    async def pages(
        self,
        table: str,
        index: str | None,
        key: tuple[str, str],
        *,
        sort: tuple[str, SortCondition] | None = None,
        page: int = 1000,
        filter: Condition | None = None,
        projection: tuple[str, ...] = (),
        consistent: bool = False,
        forward: bool = True,
    ) -> AsyncIterator[list[Item]]:
        """Every page of a Query, ``page`` items a call at most (and 1 MB), in order."""
        args = _query_args(table, index, key, sort, filter, projection)
        args.update(Limit=page, ScanIndexForward=forward)
        if consistent:
            args["ConsistentRead"] = True
        async for out in self._responses(args):
            yield [deserialize(r) for r in out.get("Items", [])]

    async def count(
        self, table: str, index: str, key: tuple[str, str], sort: tuple[str, SortCondition]
    ) -> int:
        """How many items a key condition selects (Select=COUNT, paged past 1 MB)."""
        args = _query_args(table, index, key, sort, None, ()) | {"Select": "COUNT"}
        return sum([out.get("Count", 0) async for out in self._responses(args)])

    async def _responses(self, args: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The answers of a Query, each call resuming where the last stopped: the one
        "read every page" loop."""
        while True:
            out = await self._query(args)
            yield out
            if "LastEvaluatedKey" not in out:
                return
            args = {**args, "ExclusiveStartKey": out["LastEvaluatedKey"]}

    async def _query(self, args: dict[str, Any]) -> dict[str, Any]:
        async with translated(DYNAMODB, "Query"):
            return dict(await self._client.query(**args))

    async def write(self, operations: Operations) -> None:
        """Apply write operations atomically: one plain call for one, else a transaction.

        Either way a failed condition raises :class:`TransactionCancelled` with a
        reason (and the current item, where DynamoDB returns it) per operation.
        ``operations`` may be a function building them: it is called again for
        each attempt, so a retry can pick other aggregate shards.

        A transaction cancelled because another was in flight on one of its items
        (or for capacity) wrote nothing and may simply go again: it is retried with
        jittered backoff for up to ``WRITE_BUDGET`` seconds, then Throttled.
        """
        started = time.monotonic()
        for attempt in range(self._attempts):
            ops = operations() if callable(operations) else operations
            try:
                await self._write_once(ops)
                return
            except TransactionCancelled as exc:
                if not set(exc.reasons) & _TRANSIENT or FAILED_CONDITION in exc.reasons:
                    raise
                self.conflicts += 1
                if time.monotonic() - started > WRITE_BUDGET:
                    break
                if attempt + 1 < self._attempts:
                    await self._sleep(attempt)
        raise Throttled("write: transaction conflicts persisted after retries")

    async def update(self, operation: dict[str, Any]) -> Item:
        """One Update (``writes``' shape) that returns the item as it now is: a job's
        checkpoint reads back whether it was cancelled meanwhile, in the same call."""
        args = {**operation["Update"], "ReturnValues": "ALL_NEW"}
        async with translated(DYNAMODB, "UpdateItem"):
            out = await self._client.update_item(**args)
        return deserialize(out.get("Attributes", {}))

    async def _write_once(self, operations: Sequence[dict[str, Any]]) -> None:
        kinds = [_kind(op) for op in operations]
        if kinds == ["Put"] or kinds == ["Update"] or kinds == ["Delete"]:
            await self._write_one(kinds[0], operations[0][kinds[0]])
            return
        # A ConditionCheck alone goes as a transaction too: no single-item call
        # checks a condition without writing.
        async with translated(DYNAMODB, "TransactWriteItems"):
            await self._client.transact_write_items(TransactItems=list(operations))  # type: ignore[arg-type]

    async def _write_one(self, kind: str, args: dict[str, Any]) -> None:
        try:
            async with translated(DYNAMODB, f"{kind}Item"):
                if kind == "Put":
                    await self._client.put_item(**args)
                elif kind == "Update":
                    await self._client.update_item(**args)
                else:
                    await self._client.delete_item(**args)
        except ConditionFailed as exc:
            raise TransactionCancelled(["ConditionalCheckFailed"], [exc.item]) from exc


def _query_args(
    table: str,
    index: str | None,
    key: tuple[str, str],
    sort: tuple[str, SortCondition] | None,
    filter: Condition | None,
    projection: tuple[str, ...],
) -> dict[str, Any]:
    """A Query's request, bar its paging: the key condition, filter and projection."""
    names = {"#pk": key[0]}
    values: dict[str, Any] = {":pk": {"S": key[1]}}
    condition = "#pk = :pk"
    if sort is not None:
        names["#sk"] = sort[0]
        values.update({f":s{i}": {"S": v} for i, v in enumerate(sort[1].values)})
        condition += " AND " + sort[1].expression()
    args: dict[str, Any] = {"TableName": table, "KeyConditionExpression": condition}
    if index is not None:
        args["IndexName"] = index
    if projection:
        names.update({f"#p{i}": attr for i, attr in enumerate(projection)})
        args["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(projection)))
    if filter is not None:
        args["FilterExpression"] = filter.expression
        names.update(filter.names)
        values.update(serialize(filter.values))
    return args | {"ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def _kind(operation: dict[str, Any]) -> str:
    """The operation's kind; anything but TransactWriteItems' four is our bug (an
    unknown one used to go out as a DeleteItem)."""
    kinds = list(operation)
    if len(kinds) != 1 or kinds[0] not in WRITE_KINDS:
        raise ValueError(f"not a write operation: {kinds}")
    return str(kinds[0])


def _own_key(item: Item) -> str:
    """An item's key as one string: its pk, with its sk where the table has one."""
    return str(item[KEY]) if SORT not in item else f"{item[KEY]}\x00{item[SORT]}"
