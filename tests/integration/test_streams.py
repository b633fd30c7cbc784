"""The stream consumer applies each change exactly once, whatever is delivered.

The writes of a test are read back from the Opportunities stream as the consumer
read them, then delivered again: from the checkpoint before them (the worker's
path: its transaction's condition fails, nothing moves), as a Lambda batch (its
applied part skipped by sequence number), after a consumer died half way through
them, and to two consumers at once. Every time, once the consumer has settled,
each aggregate series equals the recomputation from the records. The dashboard
says as of when its figures are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from aws_lambda import StreamsLambda
from dal.loading import bulk
from dal.models import Contact, Entity, OpportunityStage
from dal.streams import checkpoints
from dal.streams.changes import parse
from dal.streams.checkpoints import Checkpoint, Moved
from dal.streams.consumer import Consumer
from dal.streams.events import deliver
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from services import Services
from settings import Settings
from tests.conftest import PREFIX, Gql, Settle, fresh_tenant
from tests.integration.test_aggregates import (
    OWNERS,
    ChangeDeal,
    NewCustomer,
    NewDeal,
    World,
    assert_exact,
    empty,
    new_world,
)

SOURCE = f"{PREFIX}Opportunities"
AGGREGATES = f"{PREFIX}Aggregates"


async def _shard(consumer: Consumer) -> tuple[str, str]:
    """The Opportunities stream and its open shard (DynamoDB Local keeps one)."""
    out = await consumer.streams.list_streams(TableName=SOURCE)
    arn = str(out["Streams"][0]["StreamArn"])
    shards = (await consumer.streams.describe_stream(StreamArn=arn))["StreamDescription"]
    open_ = [s for s in shards["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    return arn, str(open_[-1]["ShardId"])


async def _after(consumer: Consumer, arn: str, at: Checkpoint) -> list[dict[str, Any]]:
    """The shard's records after checkpoint ``at``, as GetRecords returns them."""
    args: dict[str, Any] = {"StreamArn": arn, "ShardId": at.shard}
    if at.seq is None:
        args["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        args |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": at.seq}
    iterator = (await consumer.streams.get_shard_iterator(**args))["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        out = await consumer.streams.get_records(ShardIterator=iterator)
        if not out["Records"]:
            return records
        records += out["Records"]
        iterator = out.get("NextShardIterator")
    return records


async def _deals(w: World) -> None:
    """A customer, six deals, and stage, value and owner changes of them."""
    await NewCustomer("u-1", 0).apply(w)
    for n in range(6):
        owner = OWNERS[n % len(OWNERS)]
        await NewDeal(
            0, OpportunityStage.LEAD, Decimal(f"{100 + n}.10"), None, owner, None, n
        ).apply(w)
    for n, stage in enumerate(OpportunityStage):
        await ChangeDeal(n, {"stage": stage, "value": Decimal("7.77")}, 10 + n).apply(w)


async def _written(
    db: Services, consumer: Consumer, settle: Settle
) -> tuple[World, str, Checkpoint, list[dict[str, Any]]]:
    """A tenant's deal writes, and the stream records they made, not yet applied."""
    await settle()
    arn, shard = await _shard(consumer)
    before = await checkpoints.read(consumer.applier.dynamo, AGGREGATES, SOURCE, shard)
    w = await new_world(db, Model.BRIDGE)
    await _deals(w)
    records = await _after(consumer, arn, before)
    assert len(records) >= 12  # not vacuous: the deals' creates and updates are there
    return w, arn, before, records


async def test_a_batch_delivered_again_counts_nothing_twice(
    db: Services, consumer: Consumer, settle: Settle
) -> None:
    w, arn, before, records = await _written(db, consumer, settle)
    await settle()
    await assert_exact(w.repos, settle)
    changes = [parse(r) for r in records]
    # The worker's path, from the old checkpoint: the condition fails, nothing moves.
    with pytest.raises(Moved):
        await consumer.applier.apply(before, Entity.OPPORTUNITY, changes, utcnow())
    # The Lambda's path: the whole batch again, and its second half again (a bisect).
    assert await deliver(consumer.applier, PREFIX, arn, before.shard, records) is None
    half = records[len(records) // 2 :]
    assert await deliver(consumer.applier, PREFIX, arn, before.shard, half) is None
    await assert_exact(w.repos, settle)


async def test_a_consumer_killed_half_way_is_resumed_from_its_checkpoint(
    db: Services, consumer: Consumer, settle: Settle
) -> None:
    """The first half applied (one transaction with its checkpoint), then the process
    died; the next consumer (here the suite's, whose iterator is still before the
    half: its first transaction fails and it re-reads the checkpoint) applies the rest."""
    w, arn, before, records = await _written(db, consumer, settle)
    changes = [parse(r) for r in records]
    half = len(changes) // 2
    await consumer.applier.apply(before, Entity.OPPORTUNITY, changes[:half], utcnow())
    await settle()
    await assert_exact(w.repos, settle)
    # The Lambda, handed the whole batch after that, applies nothing of it again.
    assert await deliver(consumer.applier, PREFIX, arn, before.shard, records) is None
    await assert_exact(w.repos, settle)


async def test_two_consumers_at_once_apply_each_change_once(
    db: Services, consumer: Consumer, settle: Settle
) -> None:
    """Two consumers (two processes: their own cursors) read the same shards at once;
    each batch commits for one of them, the other's condition fails and it moves on."""
    w, _, _, _ = await _written(db, consumer, settle)
    other = Consumer(consumer.streams, consumer.applier, PREFIX)
    third = Consumer(consumer.streams, consumer.applier, PREFIX)
    await asyncio.gather(other.settle(), third.settle())
    await assert_exact(w.repos, settle)


DASHBOARD = "{ dashboard { asOf pipeline { totalValue } } }"
DEAL = """mutation($c: ID!) { createOpportunity(input: {customerId: $c, title: "T",
  value: "10.00"}) { id } }"""
CUSTOMER = 'mutation { createCustomer(input: {companyName: "As Of"}) { id } }'


async def test_the_dashboard_says_as_of_when_its_figures_count_writes(
    gql: Gql, settle: Settle
) -> None:
    """Before the consumer applies a write, the dashboard's asOf is before the write
    and its pipeline leaves it out; after, asOf is past it and it is counted (the
    consumer bumped the cached dashboard too)."""
    customer = (await gql(CUSTOMER))["data"]["createCustomer"]["id"]
    await settle()
    written = utcnow()
    assert "errors" not in await gql(DEAL, {"c": customer})
    early = (await gql(DASHBOARD))["data"]["dashboard"]
    assert datetime.fromisoformat(early["asOf"]) < written
    assert early["pipeline"]["totalValue"] == "0.00"
    await settle()
    late = (await gql(DASHBOARD))["data"]["dashboard"]
    assert datetime.fromisoformat(late["asOf"]) > written
    assert late["pipeline"]["totalValue"] == "10.00"


async def test_a_hold_set_while_deletes_are_in_flight_keeps_every_later_delete(
    db: Services, consumer: Consumer, settle: Settle
) -> None:
    """A contact's delete is a purge without a hold and leaves a copy under one. Ten
    contacts are deleted and settled (purged: no copy); then twenty are deleted one
    after another while a consumer runs, and the hold is set part way: every delete
    that began after the hold was set has its copy, kept for good. No delete's
    transaction touched the hold item (a delete that raced the hold may keep a copy
    too: the consumer reads the hold after the delete, never before)."""
    w = await new_world(db, Model.BRIDGE)
    await NewCustomer("u-1", 0).apply(w)
    customer = w.live[Entity.CUSTOMER][0]
    now = utcnow()
    ids = [f"con_hold{n}" for n in range(30)]
    for id in ids:
        contact = Contact(
            id=id, created_at=now, updated_at=now, customer_id=customer, first_name="A",
            last_name=id,
        )  # fmt: skip
        await w.repos.contacts.create(contact)
    for id in ids[:10]:
        await w.repos.contacts.delete(id)
    await settle()
    spans: dict[str, tuple[float, float]] = {}
    held: list[float] = []

    hold_set = asyncio.Event()

    async def drop(n: int, id: str) -> None:
        # The first ten race the hold; the next ten begin once it is set (so the check
        # below is never vacuous, however slowly the machine runs), still in flight
        # together and with the consumer.
        if n >= 10:
            await hold_set.wait()
        await asyncio.sleep((n % 10) * 0.03)
        began = time.monotonic()
        await w.repos.contacts.delete(id)
        spans[id] = (began, time.monotonic())

    async def hold() -> None:
        await asyncio.sleep(0.1)
        await w.repos.archive.hold(True)
        held.append(time.monotonic())
        hold_set.set()

    other = Consumer(consumer.streams, consumer.applier, PREFIX)
    running = asyncio.create_task(other.run_forever())
    try:
        await asyncio.gather(*(drop(n, id) for n, id in enumerate(ids[10:])), hold())
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    await settle()
    copies, _ = await w.repos.archive.page(100)
    kept = {c.id for c in copies if c.entity is Entity.CONTACT}
    after = {id for id, (began, _) in spans.items() if began > held[0]}
    assert len(after) >= 5  # not vacuous: deletes well after the hold
    assert after <= kept
    assert not set(ids[:10]) & kept  # purged before the hold: nothing to keep
    assert all(c.expires_at is None for c in copies)


def _as_lambda(record: dict[str, Any], arn: str) -> dict[str, Any]:
    """A GetRecords record as a Lambda event carries it (JSON: the time in seconds)."""
    body = dict(record["dynamodb"])
    made = body.get("ApproximateCreationDateTime")
    if isinstance(made, datetime):
        body["ApproximateCreationDateTime"] = made.timestamp()
    return {**record, "dynamodb": body, "eventSourceARN": arn, "eventSource": "aws:dynamodb"}


async def test_the_streams_handler_applies_a_delivered_batch_once(
    db: Services, consumer: Consumer, settle: Settle, settings: Settings
) -> None:
    """`server.streams_handler` on a DynamoDB Streams event (a tumbling window's: it
    names the shard) applies the batch; the same event again applies nothing; an event
    that names no shard is refused rather than acknowledged."""
    w, arn, before, records = await _written(db, consumer, settle)
    batch = [_as_lambda(r, arn) for r in records]
    event = {"Records": batch, "shardId": before.shard, "eventSourceARN": arn, "state": {}}
    handler = StreamsLambda(lambda: settings)
    thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    try:
        first = await loop.run_in_executor(thread, handler, event, None)
        again = await loop.run_in_executor(thread, handler, event, None)
        with pytest.raises(RuntimeError, match="tumbling window"):
            await loop.run_in_executor(thread, handler, {"Records": batch}, None)
    finally:
        await loop.run_in_executor(thread, handler.close)
        thread.shutdown()
    assert first == again == {"state": {}, "batchItemFailures": []}
    await assert_exact(w.repos, settle)


async def test_a_restore_after_every_record_was_deleted_leaves_the_reports_exact(
    db: Services, settle: Settle
) -> None:
    """The records deleted (every counter back to zero, spread over shards), then loaded
    again in bulk, as a restore does: the counters are added to, never overwritten."""
    w = await new_world(db, Model.BRIDGE)
    await _deals(w)
    users = await w.repos.users.get_many(list(OWNERS))  # what the records point at
    customers = await w.repos.customers.get_many(w.live[Entity.CUSTOMER])
    deals = await w.repos.opportunities.get_many(w.live[Entity.OPPORTUNITY])
    await empty(w)
    await assert_exact(w.repos, settle)
    await bulk.load(w.repos, [r for r in (*users, *customers, *deals) if r is not None])
    await assert_exact(w.repos, settle)
    assert await w.repos.aggregates.pipeline()  # not vacuous: the deals count again


async def test_an_item_no_codec_reads_is_logged_and_the_stream_goes_on(
    db: Services, settle: Settle, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored customer the code cannot read (written by hand, or by a bug) must not
    stop its shard: it counts for nothing, is logged, and later changes are applied."""
    repos = db.store.for_tenant(fresh_tenant("poison"), Model.BRIDGE)
    item = {"pk": {"S": repos.scope.pk("cus_bad")}, "tenantId": {"S": repos.scope.tenant_id},
            "id": {"S": "cus_bad"}}  # fmt: skip
    await db.dynamo_client.put_item(TableName=repos.customers.table_name, Item=item)
    with caplog.at_level(logging.ERROR, logger="zebros.streams"):
        await settle()
    assert any("cus_bad" in r.getMessage() for r in caplog.records)
