"""Receipts of pushed mutations: ``(user, clientId, clientMutationId)`` -> the first answer.

Written in the same transaction as the mutation's effect (a ``journal.Rider``),
so a push that committed has its receipt and one that did not has none: a
replay either finds the answer or applies the mutation, never both. The payload
digest tells a replay from a different mutation that reuses the id. Each user's
receipts are their own: a colleague whose device picked the same ids gets an
answer of their own push, never the first user's (it may hold what they wrote).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import absent, owned_by
from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.dynamodb.writes import put, set_attrs
from dal.errors import TransactionCancelled
from dal.tenancy.scope import TENANT_ATTR, TenantScope

log = logging.getLogger("zebros.sync")


@dataclass(frozen=True, slots=True)
class Receipt:
    digest: str
    result: dict[str, Any]


def digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Receipts:
    """The receipts of one user of one tenant."""

    def __init__(
        self, dynamo: Dynamo, scope: TenantScope, retention_s: float, user_id: str
    ) -> None:
        self._dynamo, self._scope, self._retention_s = dynamo, scope, retention_s
        self._table = scope.table(CHANGES.entity)
        # Hashed: a subject may hold any character, and a key is no place for it.
        self._user = hashlib.sha256(user_id.encode()).hexdigest()[:32]

    def _pk(self, client_id: str) -> str:
        return self._scope.key("client", self._user, client_id)

    async def find(self, client_id: str, mutation_id: str) -> Receipt | None:
        item = await self._dynamo.get(self._table, self._pk(client_id), mutation_id)
        if item is None or not self._scope.owns(item) or "digest" not in item:
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
        """The answer of a request whose claim rode its write (``edge.idempotency``),
        onto that claim only: never a new, bare item (no tenant, no expiry, out of an
        erasure's reach). A claim that is not there (expired) keeps nothing."""
        answer = {"result": json.dumps(result, separators=(",", ":"), default=str)}
        mine = owned_by(self._scope.tenant_id)  # false on a missing item too
        op = set_attrs(self._table, self._pk(client_id), mutation_id, answer, mine)
        try:
            await self._dynamo.write([op])
        except TransactionCancelled:
            log.warning("answer of Idempotency-Key %s not kept: its claim is gone", mutation_id)
