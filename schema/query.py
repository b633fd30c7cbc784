"""The root Query type."""

from __future__ import annotations

import strawberry

from dal.cache.keys import Layer
from dal.models import Entity
from resolvers import activities, contacts, customers, opportunities, users
from resolvers.context import Info
from schema.caching import Hint, cached_field
from schema.inputs import ActivityFilter, CustomerFilter, OpportunityFilter
from schema.jobs import JobQuery
from schema.privacy import PrivacyQuery
from schema.relay import Connection, Nodes, connection
from schema.reports import ReportQuery
from schema.sync import SyncPage, sync_page
from schema.templates import TemplateQuery
from schema.types import Activity, Contact, Customer, Opportunity, User

# customer(id) reads the record layer through its loader (Customer's @cacheControl);
# customers keeps ids and cursors, its nodes come from the record layer too.
ONE_CUSTOMER = Hint(Layer.CUSTOMER, 300, stores=False)
CUSTOMER_LIST = Hint(
    Layer.CUSTOMER_LIST,
    60,
    codec=Nodes(lambda info: info.context.loaders.customer_by_id, Customer.of),
    reads=(Layer.CUSTOMER,),
)


@strawberry.type
class Query(ReportQuery, JobQuery, TemplateQuery, PrivacyQuery):
    @strawberry.field
    async def me(self, info: Info) -> User:
        return User.of(await users.me(info))

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        found = await users.user(info, id)
        return None if found is None else User.of(found)

    @strawberry.field
    async def users(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[User]:
        return connection(await users.users(info, first, after), User.of)

    @cached_field(ONE_CUSTOMER)
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        found = await customers.customer(info, id)
        return None if found is None else Customer.of(found)

    @cached_field(CUSTOMER_LIST)
    async def customers(
        self,
        info: Info,
        filter: CustomerFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Customer]:
        f = filter or CustomerFilter()
        page = await customers.customers(
            info,
            first,
            after,
            owner_id=f.owner_id,
            industry=f.industry,
            name_prefix=f.name_starts_with,
        )
        return connection(page, Customer.of)

    @strawberry.field
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        found = await contacts.contact(info, id)
        return None if found is None else Contact.of(found)

    @strawberry.field
    async def opportunity(self, info: Info, id: strawberry.ID) -> Opportunity | None:
        found = await opportunities.opportunity(info, id)
        return None if found is None else Opportunity.of(found)

    @strawberry.field
    async def opportunities(
        self,
        info: Info,
        filter: OpportunityFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Opportunity]:
        f = filter or OpportunityFilter()
        page = await opportunities.opportunities(
            info,
            first,
            after,
            stage=f.stage,
            owner_id=f.owner_id,
            customer_id=f.customer_id,
            closing=(f.closing_from, f.closing_to),
        )
        return connection(page, Opportunity.of)

    @strawberry.field
    async def activity(self, info: Info, id: strawberry.ID) -> Activity | None:
        found = await activities.activity(info, id)
        return None if found is None else Activity.of(found)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        filter: ActivityFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Activity]:
        f = filter or ActivityFilter()
        page = await activities.activities(
            info,
            first,
            after,
            owner_id=f.owner_id,
            related_id=f.related_id,
            type=f.type,
            scheduled=(f.scheduled_from, f.scheduled_to),
            overdue=f.overdue,
            completed_since=f.completed_since,
        )
        return connection(page, Activity.of)

    @strawberry.field
    async def sync(
        self,
        info: Info,
        since: str | None = None,
        entities: list[Entity] | None = None,
        first: int = 500,
    ) -> SyncPage:
        return await sync_page(info, since, entities, first)
