"""Numbering the change log's new entries, from the Changes table's stream.

A write's entry is committed without a number, under its record's own key
(``sync/sequence.py``). Here each batch's new entries are grouped by log shard,
in stream order, and each group is numbered by one transaction: the head moved
from n to n + k on condition that it holds n, k pointers, and ``seq`` set on each
entry on condition that it has none. So nothing is numbered twice (a redelivered
batch, two consumers at once: the entry's condition fails, it is dropped and the
rest go again), nothing is lost (the checkpoint moves only after every group
committed), and a record's versions keep their stream order (one partition).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from dal.dynamodb.client import FAILED_CONDITION, Dynamo
from dal.dynamodb.items import Item
from dal.dynamodb.tables import KEY
from dal.errors import Throttled, TransactionCancelled
from dal.streams import checkpoints
from dal.streams.changes import Change
from dal.streams.checkpoints import Checkpoint, Moved
from dal.sync import sequence
from dal.tenancy.scope import TENANT_ATTR

CHUNK = 49  # entries per transaction: a head, 49 pointers and 49 stamps (100 at most)
ATTEMPTS = 60  # a head moved by another sequencer (a redelivery running alongside)
Group = tuple[str, str]  # (tenant, the shard's partition)


class Sequencer:
    def __init__(self, dynamo: Dynamo) -> None:
        self.dynamo = dynamo
        self._heads = sequence.Heads()  # a first guess; a wrong one returns the head
        self.transactions = 0  # committed by this process (figures)

    async def apply(
        self, at: Checkpoint, changes: Sequence[Change], as_of: datetime, done: bool
    ) -> Checkpoint:
        """Number the new entries past ``at``; the checkpoint after them."""
        fresh = [c for c in changes if at.after(c.seq)]
        groups = _groups(fresh)
        # Groups at once: each moves its own head (a failed one leaves the checkpoint
        # where it was; the batch goes again, and what was numbered is dropped then).
        numbering = (self._number(at.source, t, pk, e) for (t, pk), e in groups.items())
        for failed in await asyncio.gather(*numbering, return_exceptions=True):
            if isinstance(failed, BaseException):
                raise failed  # once every group has finished
        last = fresh[-1].seq if fresh else at.seq
        to = replace(at, seq=last, as_of=max(as_of, at.as_of), done=done)
        if to != at:
            try:
                await self.dynamo.write([checkpoints.move(at, to)])
            except TransactionCancelled as exc:
                raise Moved(f"checkpoint of {at.sk} moved") from exc
        return to

    async def _number(self, table: str, tenant: str, pk: str, entries: list[Item]) -> None:
        left = entries
        for _ in range(ATTEMPTS):
            if not left:
                return
            chunk, taken = left[:CHUNK], self._heads.guess(table, pk)
            ops = [sequence.advance(table, tenant, pk, taken, len(chunk))]
            ops += [sequence.pointer(table, pk, taken + 1 + i, e) for i, e in enumerate(chunk)]
            ops += [sequence.stamp(table, e, taken + 1 + i) for i, e in enumerate(chunk)]
            try:
                await self.dynamo.write(ops)
            except TransactionCancelled as exc:
                left = self._learn(exc, table, pk, chunk) + left[len(chunk) :]
                continue
            self._heads.saw(table, pk, taken + len(chunk))
            self.transactions += 1
            left = left[len(chunk) :]
        if left:
            raise Throttled(f"change log {pk}: the head kept moving")

    def _learn(
        self, exc: TransactionCancelled, table: str, pk: str, chunk: list[Item]
    ) -> list[Item]:
        """What of ``chunk`` to number again: without the entries numbered before (or
        gone), with the head as DynamoDB returned it when the guess was wrong."""
        reasons = exc.reasons + [""] * (1 + 2 * len(chunk) - len(exc.reasons))
        stamps = reasons[1 + len(chunk) :]
        if FAILED_CONDITION in stamps:
            return [e for e, r in zip(chunk, stamps, strict=True) if r != FAILED_CONDITION]
        if FAILED_CONDITION not in reasons[: 1 + len(chunk)]:
            raise exc
        head = exc.items[0] if exc.items else None
        self._heads.set(table, pk, sequence.head_of(head))  # a pointer there: head too
        return chunk


def _groups(changes: Sequence[Change]) -> dict[Group, list[Item]]:
    """The new entries by tenant and log shard, each group in stream order."""
    groups: dict[Group, list[Item]] = {}
    for change in changes:
        if (item := pending(change)) is not None:
            tenant = str(item[TENANT_ATTR])
            pk = sequence.shard_pk(tenant, int(str(item["shard"])))
            groups.setdefault((tenant, pk), []).append(item)
    return groups


def pending(change: Change) -> Item | None:
    """A new entry waiting for its number (an insert of an entry; the stamps, the
    pointers, the heads and the receipts the stream carries too are not)."""
    new = change.new
    if change.old is not None or new is None or sequence.SEQ in new:
        return None
    if "shard" not in new or sequence.PENDING not in str(new.get(KEY, "")):
        return None
    return new
