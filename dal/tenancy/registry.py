"""The tenants registry: which isolation model serves each tenant, in which time zone.

A small table of its own (``{prefix}Tenants``, key = tenant id). A tenant's
model and reporting time zone never change once registered (moving a tenant
between models would mean copying its records; aggregates are bucketed by the
zone's days as they are written), so a registered tenant is cached in-process.
An unregistered one is never cached: it is refused (prod) or registered on
first use (dev), and a registration made meanwhile by `zebros tenant create`
on another machine is seen on the next request.

Registering refuses a tenant whose records are already stored under another
model: the new model would key its records elsewhere, and the old ones would
silently vanish from every list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError

from dal.dynamodb import writes
from dal.dynamodb.client import Dynamo
from dal.dynamodb.conditions import absent, present
from dal.dynamodb.provision import create_silo_tables
from dal.dynamodb.tables import CUSTOMERS, KEY, TABLES, TENANTS, USERS
from dal.errors import AlreadyExists, StoreUnavailable, TenantHasData, TransactionCancelled
from dal.tenancy.scope import TENANT_ATTR, InvalidTenant, Model, TenantScope, check_tenant_id
from dal.timefmt import dump_dt, utcnow

CACHE_SECONDS = 300.0
AUDIT_READS = "auditReads"
# Compliance: a request whose read events could not be written is refused (503).
AUDIT_READS_REQUIRED = "auditReadsRequired"
CACHE_MAX = 10_000
# Tables whose byTenant index lists every record of a tenant (contacts hang off
# customers, so a tenant with contacts has customers).
WITNESSES = tuple(t for t in TABLES.values() if any(i.name == "byTenant" for i in t.indexes))


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    model: Model
    time_zone: str = "UTC"
    # A sync push's strategy when it names none; None: the server's (ZEBROS_SYNC__STRATEGY).
    sync_strategy: str | None = None
    # Whether reads of personal fields are audited (dal/privacy/audit.py), and whether
    # an answer whose read events could not be written is withheld (compliance).
    audit_reads: bool = False
    audit_reads_required: bool = False


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTenant(
            f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)"
        ) from exc
    return name


class TenantRegistry:
    def __init__(self, dynamo: Dynamo, *, table_prefix: str) -> None:
        self._dynamo = dynamo
        self._table = f"{table_prefix}{TENANTS.entity}"
        self._prefix = table_prefix
        self._cache: dict[str, tuple[float, Tenant]] = {}

    async def get(self, tenant_id: str) -> Tenant | None:
        """The registered tenant, or None (not cached, see the module's docstring)."""
        hit = self._cache.get(tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        item = await self._dynamo.get(self._table, check_tenant_id(tenant_id))
        if item is None:
            return None
        zone = str(item.get("timeZone", "UTC"))
        strategy = item.get("syncStrategy")
        model = Model(str(item["model"]))
        audited = bool(item.get(AUDIT_READS, False))
        required = audited and bool(item.get(AUDIT_READS_REQUIRED, False))
        chosen = None if strategy is None else str(strategy)
        return self._remember(Tenant(tenant_id, model, zone, chosen, audited, required))

    def _remember(self, tenant: Tenant) -> Tenant:
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[tenant.id] = (time.monotonic() + CACHE_SECONDS, tenant)
        return tenant

    async def create(
        self,
        tenant_id: str,
        model: Model,
        time_zone: str = "UTC",
        sync_strategy: str | None = None,
    ) -> Tenant:
        """Register a tenant: its own tables first for a silo, then the registry entry.
        AlreadyExists if registered; TenantHasData if its records use another model."""
        check_tenant_id(tenant_id)
        check_zone(time_zone)
        stored = await self.stored_model(tenant_id)
        if stored is not None and stored is not model:
            raise TenantHasData(tenant_id, stored.value)
        if model is Model.SILO:
            await create_silo_tables(self._dynamo.client, self._prefix, tenant_id)
        item = {KEY: tenant_id, "model": model.value, "timeZone": time_zone}
        if sync_strategy is not None:
            item["syncStrategy"] = sync_strategy
        try:
            put = writes.put(self._table, item | {"createdAt": dump_dt(utcnow())}, absent())
            await self._dynamo.write([put])
        except TransactionCancelled as exc:
            raise AlreadyExists(tenant_id) from exc
        return self._remember(Tenant(tenant_id, model, time_zone, sync_strategy))

    async def set_audit_reads(self, tenant_id: str, on: bool, required: bool = False) -> None:
        """Audit reads of personal fields; ``required``: refuse the answer when its events
        could not be written (other processes see it within CACHE_SECONDS)."""
        given = {AUDIT_READS: on, AUDIT_READS_REQUIRED: on and required}
        op = writes.set_attrs(self._table, tenant_id, None, given, present())
        await self._dynamo.update(op)
        self._cache.pop(tenant_id, None)

    async def ensure(self, tenant_id: str, model: Model, time_zone: str) -> Tenant:
        """The tenant, registered now if it was not (with the model its records already
        use, if any): how dev serves a tenant seen for the first time."""
        found = await self.get(tenant_id)
        if found is not None:
            return found
        try:
            return await self.create(
                tenant_id, await self.stored_model(tenant_id) or model, time_zone
            )
        except AlreadyExists:  # registered meanwhile, by another request or server
            registered = await self.get(tenant_id)
            if registered is None:
                raise
            return registered

    async def stored_model(self, tenant_id: str) -> Model | None:
        """The model the tenant's records are stored under, if it has any: one Query
        (Limit 1) per shared table, and its own tables' if they exist."""
        if await self._holds(TenantScope(tenant_id, self._prefix, Model.SILO)):
            return Model.SILO
        shared = TenantScope(tenant_id, self._prefix, Model.BRIDGE)
        for table in WITNESSES:
            item = await self._first(shared, table.entity)
            if item is not None:
                return Model.POOL if str(item[KEY]).startswith("p-") else Model.BRIDGE
        return None

    async def _holds(self, silo: TenantScope) -> bool:
        for table in (USERS, CUSTOMERS):
            if await self._first(silo, table.entity) is not None:
                return True
        return False

    async def _first(self, scope: TenantScope, entity: str) -> dict[str, object] | None:
        """The first record of the tenant in one table; None if none (or no table)."""
        try:
            out = await self._dynamo.client.query(
                TableName=scope.table(entity),
                IndexName="byTenant",
                KeyConditionExpression="#k = :k",
                ExpressionAttributeNames={"#k": "tenantKey"},
                ExpressionAttributeValues={":k": {"S": scope.key("all")}},
                Limit=1,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":  # no such table: nothing stored there
                return None
            raise StoreUnavailable(f"Query: {code}") from exc
        for raw in out.get("Items", []):
            if raw.get(TENANT_ATTR, {}).get("S") == scope.tenant_id:
                return {k: next(iter(v.values())) for k, v in raw.items()}
        return None
