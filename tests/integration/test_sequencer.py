"""The change log's sequencer (``dal/streams/sequencer.py``) on DynamoDB Local: a
write's transaction holds nothing another record's write holds, and the numbers the
sequencer gives are each entry's one number, whatever is delivered again."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from dal.dynamodb.tables import CHANGES
from dal.errors import ResyncRequired
from dal.store import Repos
from dal.streams import checkpoints
from dal.streams.changes import parse
from dal.streams.checkpoints import Checkpoint
from dal.streams.consumer import Consumer
from dal.streams.sequencer import Sequencer
from dal.sync import sequence
from dal.sync.reader import ChangeReader
from dal.timefmt import dump_dt, utcnow
from services import Services
from tests.conftest import PREFIX, Settle
from tests.integration.records import customer
from tests.integration.test_streams import _after

SOURCE = f"{PREFIX}{CHANGES.entity}"
AGGREGATES = f"{PREFIX}Aggregates"


async def _shard(consumer: Consumer) -> tuple[str, str]:
    """The Changes stream and its open shard (DynamoDB Local keeps one)."""
    out = await consumer.streams.list_streams(TableName=SOURCE)
    arn = str(out["Streams"][0]["StreamArn"])
    shards = (await consumer.streams.describe_stream(StreamArn=arn))["StreamDescription"]
    open_ = [s for s in shards["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    return arn, str(open_[-1]["ShardId"])


class Transactions:
    """The items of every TransactWriteItems the application's client sends."""

    def __init__(self) -> None:
        self.sent: list[set[tuple[str, str, str]]] = []

    def hook(self, params: dict[str, Any], **_: Any) -> None:
        keys = set()
        for op in params["TransactItems"]:
            body = next(iter(op.values()))
            key = body.get("Key") or body["Item"]
            keys.add((body["TableName"], key["pk"]["S"], key.get("sk", {}).get("S", "")))
        self.sent.append(keys)


async def test_a_write_shares_no_item_with_another_records_write(
    db: Services, repos: Repos
) -> None:
    seen = Transactions()
    event = "provide-client-params.dynamodb.TransactWriteItems"
    db.dynamo_client.meta.events.register(event, seen.hook)
    try:
        made = [await repos.customers.create(customer(f"cus_seq{n}")) for n in range(16)]
        for rec in made:
            await repos.customers.update(rec.id, lambda c: replace(c, industry="Retail"))
    finally:
        db.dynamo_client.meta.events.unregister(event, seen.hook)
    assert len(seen.sent) == 32  # one transaction each: none cancelled, none retried
    # Transaction n and n + 16 are one record's (its create, its update): no item is
    # in the transactions of two records.
    writers: dict[tuple[str, str, str], set[int]] = {}
    for n, keys in enumerate(seen.sent):
        for key in keys:
            writers.setdefault(key, set()).add(n % 16)
    assert {k: w for k, w in writers.items() if len(w) > 1} == {}
    logged = [k for keys in seen.sent for k in keys if k[0] == SOURCE]
    assert len(logged) == 32
    assert all(sequence.PENDING in pk for _, pk, _ in logged)


async def test_a_batch_numbered_again_numbers_nothing_twice(
    db: Services, repos: Repos, consumer: Consumer, settle: Settle
) -> None:
    await settle()
    arn, shard = await _shard(consumer)
    before = await checkpoints.read(consumer.applier.dynamo, AGGREGATES, SOURCE, shard)
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    start = await reader.heads()
    made = [await repos.customers.create(customer(f"cus_again{n}")) for n in range(6)]
    changes = [parse(r) for r in await _after(consumer, arn, before)]
    assert len(changes) >= 6  # not vacuous: the creates' entries are there
    # The worker's consumer numbers them; a second sequencer, from a checkpoint of its
    # own (the Lambda's, behind), gets the whole batch again, then its second half.
    await settle()
    other = Sequencer(consumer.applier.dynamo)
    for n, batch in enumerate((changes, changes[len(changes) // 2 :])):
        at = Checkpoint(AGGREGATES, SOURCE, f"{shard}-again-{repos.scope.tenant_id}-{n}")
        await other.apply(at, batch, utcnow(), False)
    assert other.transactions == 0  # every group cancelled on its entries: none numbered
    await settle()
    heads = await reader.heads()
    assert sum(heads) - sum(start) == 6  # six numbers taken, no more
    delta = await reader.delta(start, 100, frozenset())
    assert sorted((c.id, c.version) for c in delta.changes) == sorted((r.id, 1) for r in made)


async def test_entries_written_while_a_sequencer_is_behind_are_numbered_once_caught_up(
    repos: Repos, consumer: Consumer, settle: Settle
) -> None:
    """Nothing is numbered before the sequencer runs (the write holds no number), and
    a reader meanwhile sees nothing of it, then everything at once, in version order."""
    await settle()
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    start = await reader.heads()
    rec = await repos.customers.create(customer("cus_behind"))
    for n in range(3):
        rec = await repos.customers.update(rec.id, partial(replace, industry=f"i{n}"))
    assert await reader.heads() == start
    await settle()
    delta = await reader.delta(start, 100, frozenset())
    assert [c.version for c in delta.changes] == [1, 2, 3, 4]
    entry = await repos.journal.dynamo.get(
        repos.journal.table,
        sequence.pending_pk(repos.scope, rec.id),
        sequence.pending_sk(dump_dt(rec.created_at), 4),
    )
    assert entry is not None
    assert int(entry[sequence.SEQ]) == delta.positions[sequence.shard_of(rec.id)]


async def test_a_pointer_whose_entry_is_gone_answers_resync_required(
    db: Services, repos: Repos, settle: Settle
) -> None:
    reader = ChangeReader(repos.journal.dynamo, repos.scope)
    start = await reader.heads()
    rec = await repos.customers.create(customer("cus_gone"))
    await settle()
    # What TTL does: the entry expired a moment before its pointer.
    key = {
        "pk": {"S": sequence.pending_pk(repos.scope, rec.id)},
        "sk": {"S": sequence.pending_sk(dump_dt(rec.created_at), 1)},
    }
    await db.dynamo_client.delete_item(TableName=repos.journal.table, Key=key)
    with pytest.raises(ResyncRequired):
        await reader.delta(start, 100, frozenset())
