"""The change log's order: per tenant, SHARDS gap-free sequences.

Why a reader cannot miss a change. Each shard (a partition) has a head item
holding the last sequence number taken, n. A write takes n + 1 in the same
transaction as its record: the transaction sets the head from n to n + 1 under
the condition that it still holds n, and puts the entry at n + 1. So:

- numbers are taken one at a time, in commit order: entry k exists only once
  the transaction that moved the head to k has committed, and that transaction
  required the one that moved it to k - 1 to have committed before it;
- a writer that stamped n + 1 and was delayed (a slow request, a clock ahead or
  behind: clocks play no part) finds the head moved on, and its whole
  transaction fails: it re-stamps with what DynamoDB returned and tries again.
  Nothing commits out of order, so there are no holes a reader could pass;
- a reader at position p of a shard asks for entries after p with a strongly
  consistent Query: every entry committed so far above p is there, and every
  later one will get a number above the head it saw.

A record always lands in one shard (a hash of its id), so its versions are in
order within it. Shards keep one busy tenant's writes from queueing on one item:
writers of different records contend only when their records share a shard.
A cursor is one position per shard.
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
    return scope.key("changes", str(shard))


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


def advance(table: str, scope: TenantScope, pk: str, taken: int) -> dict[str, Any]:
    """Move the head from ``taken`` to ``taken + 1``; fails (returning the head) otherwise."""
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
                ":next": {"N": str(taken + 1)},
                ":t": {"S": scope.tenant_id},
            }
            | values,
            # The head as it is, when the guess was wrong: the next try needs no read.
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def entry(table: str, pk: str, seq: int, attributes: Item) -> dict[str, Any]:
    item = {KEY: pk, SORT: entry_key(seq), **attributes}
    return put(table, item, absent())


def head_of(item: Item | None) -> int:
    """The number a head item holds (0: none taken yet)."""
    return 0 if item is None else int(str(item.get(SEQ, 0)))
