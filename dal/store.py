"""The data layer's front door: shared clients in, tenant-bound repositories out."""

from __future__ import annotations

from dataclasses import dataclass

from dal.derived.aggregates import Aggregates
from dal.dynamodb.client import Dynamo
from dal.records import activities, contacts, customers, opportunities, users
from dal.records.activities import ActivityRepo
from dal.records.contacts import ContactRepo
from dal.records.cursors import CursorCodec
from dal.records.customers import CustomerRepo
from dal.records.opportunities import OpportunityRepo
from dal.records.users import UserRepo
from dal.tenancy.registry import TenantRegistry
from dal.tenancy.scope import Model, TenantScope


@dataclass(frozen=True, slots=True)
class Repos:
    """Every repository, bound to one tenant; built once per request."""

    scope: TenantScope
    customers: CustomerRepo
    contacts: ContactRepo
    opportunities: OpportunityRepo
    activities: ActivityRepo
    users: UserRepo
    aggregates: Aggregates


class Store:
    def __init__(
        self,
        dynamo: Dynamo,
        *,
        table_prefix: str,
        cursor_secret: bytes,
        default_model: Model = Model.BRIDGE,
    ) -> None:
        self.dynamo = dynamo
        self.table_prefix = table_prefix
        self._cursors = CursorCodec(cursor_secret)
        self.tenants = TenantRegistry(
            dynamo, table_prefix=table_prefix, default_model=default_model
        )

    async def open(self, tenant_id: str) -> Repos:
        """Repositories for ``tenant_id`` under the model the registry gives it."""
        tenant = await self.tenants.get(tenant_id)
        return self.for_tenant(tenant_id, tenant.model)

    def for_tenant(self, tenant_id: str, model: Model = Model.BRIDGE) -> Repos:
        scope = TenantScope(tenant_id, self.table_prefix, model)
        d, c = self.dynamo, self._cursors
        return Repos(
            scope=scope,
            customers=CustomerRepo(d, scope, c, customers.CODEC),
            contacts=ContactRepo(d, scope, c, contacts.CODEC),
            opportunities=OpportunityRepo(d, scope, c, opportunities.CODEC),
            activities=ActivityRepo(d, scope, c, activities.CODEC),
            users=UserRepo(d, scope, c, users.CODEC),
            aggregates=Aggregates(d, scope),
        )
