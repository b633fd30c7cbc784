"""The tenants registry: which isolation model serves each tenant.

A small table of its own (``{prefix}Tenants``, key = tenant id). Lookups are
cached in-process for a minute: the model of a tenant never changes once set
(moving a tenant between models is not supported), so a stale entry can only
be a tenant created moments ago on another server, still served by default.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dal.dynamodb import writes
from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import absent
from dal.dynamodb.provision import create_silo_tables
from dal.dynamodb.tables import KEY, TENANTS
from dal.errors import AlreadyExists, TransactionCancelled
from dal.tenancy.scope import Model, check_tenant_id
from dal.timefmt import dump_dt, utcnow

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

CACHE_SECONDS = 60.0
CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    model: Model
    registered: bool  # False: not in the registry, served by the default model


class TenantRegistry:
    def __init__(self, dynamo: Dynamo, *, table_prefix: str, default_model: Model) -> None:
        self._dynamo = dynamo
        self._table = f"{table_prefix}{TENANTS.entity}"
        self._prefix = table_prefix
        self.default_model = default_model
        self._cache: dict[str, tuple[float, Tenant]] = {}

    async def get(self, tenant_id: str) -> Tenant:
        hit = self._cache.get(tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        item = await self._dynamo.get(self._table, check_tenant_id(tenant_id))
        tenant = (
            Tenant(tenant_id, Model(str(item["model"])), True)
            if item
            else Tenant(tenant_id, self.default_model, False)
        )
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[tenant_id] = (time.monotonic() + CACHE_SECONDS, tenant)
        return tenant

    async def create(self, client: DynamoDBClient, tenant_id: str, model: Model) -> Tenant:
        """Provision a tenant: its own tables first for a silo, then the registry entry."""
        check_tenant_id(tenant_id)
        if model is Model.SILO:
            await create_silo_tables(client, self._prefix, tenant_id)
        item = {KEY: tenant_id, "model": model.value, "createdAt": dump_dt(utcnow())}
        try:
            await self._dynamo.write([writes.put(self._table, item, absent())])
        except TransactionCancelled as exc:
            raise AlreadyExists(tenant_id) from exc
        tenant = Tenant(tenant_id, model, True)
        self._cache[tenant_id] = (time.monotonic() + CACHE_SECONDS, tenant)
        return tenant
