"""The change log's order: per tenant, SHARDS gap-free sequences, numbered after
the commit by a sequencer, so no write's transaction holds an item others write.

A write puts its entry under a key of its record's own (``pending_pk``: the
record; ``pending_sk``: its life and version), in the record's transaction, with
no number.
The sequencer (``dal/streams/sequencer.py``, on the Changes table's stream) then
numbers the new entries of each shard in one transaction: it moves the shard's
head item from n to n + k *on condition that it still holds n*, puts k pointers
at n + 1 .. n + k (pk ``{t}#changes#{shard}``, sk the number, holding the
entry's key), and sets ``seq`` on each entry on condition that it has none. So:

- numbers are taken k at a time, in commit order: pointer m exists only once the
  transaction that moved the head past m has committed, after the one before it;
  two sequencers (a redelivery, the worker and a Lambda) cannot both commit
  the same numbers (the head condition), nor number one entry twice (``seq``);
- there are no holes a reader could pass: a reader at position p of a shard asks
  for the pointers after p with a strongly consistent Query; every pointer
  committed above p is there, and every later one gets a number above the head;
- a record's entries (all its lives) are one partition key, whose changes a
  stream delivers in order, one shard lineage read parents first; so they are
  numbered in order, within one log shard (a hash of the record's id).

Shards keep one sequencer transaction per batch and shard, and a cursor is one
position per shard.
"""

from __future__ import annotations

import hashlib
from typing import Any

from dal.dynamodb.conditions import absent
from dal.dynamodb.items import Item
from dal.dynamodb.tables import KEY, SORT
from dal.dynamodb.writes import put
from dal.tenancy.scope import TENANT_ATTR, TenantScope

SHARDS = 8
HEAD = "~head"  # sorts after every entry's zero-padded number
SEQ = "seq"
DIGITS = 12


def shard_of(record_id: str) -> int:
    digest = hashlib.blake2b(record_id.encode(), digest_size=2).digest()
    return int.from_bytes(digest, "big") % SHARDS


def partition(scope: TenantScope, shard: int) -> str:
    return shard_pk(scope.tenant_id, shard)


def shard_pk(tenant_id: str, shard: int) -> str:
    """A shard's partition (``TenantScope.key``'s shape): its head and pointers."""
    return f"{tenant_id}#changes#{shard}"


REF_PK, REF_SK = "refPk", "refSk"  # a pointer's entry
PENDING = "#changes#rec#"  # in an entry's partition key: ``{t}#changes#rec#{id}``


def pending_pk(scope: TenantScope, record_id: str) -> str:
    """A change-log entry's partition: its record's (every life of it), so no two
    writers of different records share it, and the stream keeps its order."""
    return scope.key(PENDING.strip("#"), record_id)


def pending_sk(born: str, version: int) -> str:
    """An entry in its record's partition: the life (an id created again starts at
    version 1 again), then the version."""
    return f"{born}#{version:010d}"


def entry_key(seq: int) -> str:
    return f"{seq:0{DIGITS}d}"


def seq_of(item: Item) -> int:
    return int(str(item[SORT]))


class Heads:
    """What this process last saw of each head: the first guess of a write's number
    (a wrong guess costs one failed transaction, which returns the right one)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}

    def guess(self, table: str, pk: str) -> int:
        return self._seen.get((table, pk), 0)

    def saw(self, table: str, pk: str, seq: int) -> None:
        """A number this process committed: the head is at least there."""
        key = (table, pk)
        self._seen[key] = max(seq, self._seen.get(key, 0))

    def set(self, table: str, pk: str, seq: int) -> None:
        """The head as DynamoDB returned it: the truth, lower too (a table re-created)."""
        self._seen[(table, pk)] = seq


def advance(table: str, tenant_id: str, pk: str, taken: int, by: int) -> dict[str, Any]:
    """Move the head from ``taken`` to ``taken + by``; fails (returning the head) otherwise."""
    if taken == 0:
        cond = "attribute_not_exists(#k)"
        values: dict[str, Any] = {}
    else:
        cond = "#s = :taken"
        values = {":taken": {"N": str(taken)}}
    return {
        "Update": {
            "TableName": table,
            "Key": {KEY: {"S": pk}, SORT: {"S": HEAD}},
            "UpdateExpression": "SET #s = :next, #t = :t",
            "ConditionExpression": cond,
            "ExpressionAttributeNames": {"#s": SEQ, "#t": TENANT_ATTR}
            | ({"#k": KEY} if taken == 0 else {}),
            "ExpressionAttributeValues": {
                ":next": {"N": str(taken + by)},
                ":t": {"S": tenant_id},
            }
            | values,
            # The head as it is, when the guess was wrong: the next try needs no read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def pointer(table: str, pk: str, seq: int, entry: Item) -> dict[str, Any]:
    """Number ``seq`` of a shard: the key of its entry, and what a rewind reads (``at``).
    No personal data: the entry holds the record's values."""
    item = {
        KEY: pk,
        SORT: entry_key(seq),
        REF_PK: entry[KEY],
        REF_SK: entry[SORT],
        TENANT_ATTR: entry[TENANT_ATTR],
        "at": entry["at"],
        "expiresAt": entry["expiresAt"],
    }
    return put(table, item, absent())


def stamp(table: str, entry: Item, seq: int) -> dict[str, Any]:
    """Give a pending entry its number, unless it has one (a batch sequenced before)
    or is gone (expired)."""
    return {
        "Update": {
            "TableName": table,
            "Key": {KEY: {"S": str(entry[KEY])}, SORT: {"S": str(entry[SORT])}},
            "UpdateExpression": "SET #s = :s",
            "ConditionExpression": "attribute_exists(#k) AND attribute_not_exists(#s)",
            "ExpressionAttributeNames": {"#s": SEQ, "#k": KEY},
            "ExpressionAttributeValues": {":s": {"N": str(seq)}},
        }
    }


def entry(table: str, attributes: Item) -> dict[str, Any]:
    """A write's entry, under its record's own key (``attributes`` holds it)."""
    return put(table, attributes, absent())


def head_of(item: Item | None) -> int:
    """The number a head item holds (0: none taken yet)."""
    return 0 if item is None else int(str(item.get(SEQ, 0)))
