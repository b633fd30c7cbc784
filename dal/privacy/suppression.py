"""The suppression list: e-mail addresses erased on request, kept as hashes only.

An erasure adds the subject's addresses; creating a contact or a user with one of
them (so an import's row too: it is the same mutation) is refused, so a person
who asked to be forgotten is not silently brought back by the next CSV. The
hash is SHA-256 over ``tenant:address`` (trimmed, lower-cased): the list says
whether an address is on it, never which addresses are. An admin lifts an
entry with ``zebros privacy unsuppress --tenant T --email E`` (README).
"""

from __future__ import annotations

import hashlib

from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import Condition
from dal.dynamodb.tables import KEY, SORT, SUPPRESSIONS
from dal.dynamodb.writes import delete, put
from dal.errors import TransactionCancelled
from dal.tenancy.scope import TENANT_ATTR, TenantScope
from dal.timefmt import dump_dt, utcnow


def digest(tenant: str, email: str) -> str:
    return hashlib.sha256(f"{tenant}:{email.strip().lower()}".encode()).hexdigest()


class Suppressions:
    def __init__(self, dynamo: Dynamo, scope: TenantScope) -> None:
        self.dynamo, self.scope = dynamo, scope
        self.table = scope.table(SUPPRESSIONS.entity)
        self.pk = scope.key("suppressed")

    async def add(self, email: str, request_id: str) -> None:
        item = {
            KEY: self.pk,
            SORT: digest(self.scope.tenant_id, email),
            TENANT_ATTR: self.scope.tenant_id,
            "addedAt": dump_dt(utcnow()),
            "requestId": request_id,  # the erasure that put it there
        }
        # Added again by a resumed erasure: the same entry, written over.
        ours = Condition(
            "attribute_not_exists(#k) OR #tid = :tid",
            {"#k": KEY, "#tid": TENANT_ATTR},
            {":tid": self.scope.tenant_id},
        )
        await self.dynamo.write([put(self.table, item, ours)])

    async def holds(self, email: str) -> bool:
        item = await self.dynamo.get(self.table, self.pk, digest(self.scope.tenant_id, email))
        return item is not None and self.scope.owns(item)

    async def lift(self, email: str) -> bool:
        """Take an address off the list; False when it was not on it."""
        on = Condition("attribute_exists(#k)", {"#k": KEY}, {})
        op = delete(self.table, self.pk, on, digest(self.scope.tenant_id, email))
        try:
            await self.dynamo.write([op])
        except TransactionCancelled:
            return False
        return True
