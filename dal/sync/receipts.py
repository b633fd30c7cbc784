"""Receipts of pushed mutations: ``(clientId, clientMutationId)`` -> the first answer.

Written in the same transaction as the mutation's effect (a ``journal.Rider``),
so a push that committed has its receipt and one that did not has none: a
replay either finds the answer or applies the mutation, never both. The payload
digest tells a replay from a different mutation that reuses the id.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import absent
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.dynamodb.writes import put
from dal.errors import TransactionCancelled
from dal.tenancy.scope import TENANT_ATTR, TenantScope


@dataclass(frozen=True, slots=True)
class Receipt:
    digest: str
    result: dict[str, Any]


def digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Receipts:
    def __init__(self, dynamo: Dynamo, scope: TenantScope, retention_s: float) -> None:
        self._dynamo, self._scope, self._retention_s = dynamo, scope, retention_s
        self._table = scope.table(CHANGES.entity)

    def _pk(self, client_id: str) -> str:
        return self._scope.key("client", client_id)

    async def find(self, client_id: str, mutation_id: str) -> Receipt | None:
        item = await self._dynamo.get(self._table, self._pk(client_id), mutation_id)
        if item is None or not self._scope.owns(item):
            return None
        return Receipt(str(item["digest"]), json.loads(str(item["result"])))

    def put(
        self, client_id: str, mutation_id: str, payload_digest: str, result: dict[str, Any]
    ) -> dict[str, Any]:
        """The receipt's write: only if none is there (a racing replay loses)."""
        item = {
            KEY: self._pk(client_id),
            SORT: mutation_id,
            TENANT_ATTR: self._scope.tenant_id,
            "receiptKey": self._scope.key("receipts"),  # byReceipt: found by an erasure
            "digest": payload_digest,
            "result": json.dumps(result, separators=(",", ":"), default=str),
            "expiresAt": int(time.time() + self._retention_s),
        }
        return put(self._table, item, absent())

    async def store(
        self, client_id: str, mutation_id: str, payload_digest: str, result: dict[str, Any]
    ) -> bool:
        """A receipt for an answer with no effect to ride (a rejection, a conflict);
        False when another push of the same mutation stored one first."""
        try:
            await self._dynamo.write([self.put(client_id, mutation_id, payload_digest, result)])
        except TransactionCancelled:
            return False
        return True

    async def finish(self, client_id: str, mutation_id: str, result: dict[str, Any]) -> None:
        """The answer of a request whose claim rode its write (``edge.idempotency``)."""
        op = {
            "Update": {
                "TableName": self._table,
                "Key": {KEY: {"S": self._pk(client_id)}, SORT: {"S": mutation_id}},
                "UpdateExpression": "SET #r = :r",
                "ExpressionAttributeNames": {"#r": "result"},
                "ExpressionAttributeValues": {
                    ":r": {"S": json.dumps(result, separators=(",", ":"), default=str)}
                },
            }
        }
        await self._dynamo.write([op])
