"""The object types of the CRM graph. They refer to each other, so they share a module.

Each type wraps a DAL record (``record``, private) and resolves its relations
through the request's dataloaders (``resolvers``), never with I/O of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from dal import models
from dal.cache.keys import Layer
from dal.models import Entity
from resolvers import (
    activities,
    contacts,
    customers,
    documents,
    loaders,
    opportunities,
    policy,
    reports,
    users,
)
from resolvers.context import Info
from resolvers.errors import NotFoundError
from schema.caching import CacheControl, Hint
from schema.cost import list_field
from schema.documents import Document, documents_of
from schema.enums import ActivityType, CustomerTier, OpportunityStage, Role
from schema.read_audit import audited, audited_field
from schema.relay import Connection, connection
from schema.wrapping import wrap

FILES_LISTED = 50  # what the cost analysis assumes a file list holds (they are not paged)
# A customer's files are kept in the customer layer; their URLs are made per request.
# 60 s, as the lists: a list read from an index a moment after a confirmation may
# not show it yet (index reads are eventually consistent), and is kept that long.
CUSTOMER_FILES = Hint(Layer.CUSTOMER, 60)


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    email: str = strawberry.field(extensions=audited(Entity.USER))
    version: int
    record: strawberry.Private[models.User]

    @classmethod
    def of(cls, r: models.User) -> User:
        return wrap(cls, r)

    @strawberry.field
    def role(self, info: Info) -> Role:
        # The stored role; for the caller, the role this request acts with (its
        # token's), which is what every permission is decided by.
        principal = info.context.principal
        return principal.role if self.id == principal.user_id else self.record.role

    @strawberry.field
    async def permissions(self, info: Info) -> list[str]:
        # Non-null as in the contract: a refusal nulls this User (README, "Roles and permissions").
        await policy.require_view(info, "user.read.permissions", self.record)
        return list(self.record.permissions)

    @audited_field(Entity.USER)
    async def preferences(self, info: Info) -> JSON | None:
        await policy.require_view(info, "user.read.preferences", self.record)
        preferences: JSON | None = self.record.preferences
        return preferences

    @strawberry.field
    async def customers(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Customer]:
        page = await customers.of_owner(info, self.id, first, after)
        return connection(page, Customer.of)

    @strawberry.field
    async def opportunities(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Opportunity]:
        page = await opportunities.of_owner(info, self.id, first, after)
        return connection(page, Opportunity.of)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> Connection[Activity]:
        page = await activities.of_owner(info, self.id, first, after, from_, to)
        return connection(page, Activity.of)

    @list_field(assumed_size=loaders.TODAY_MAX)
    async def todays_activities(self, info: Info) -> list[Activity]:
        """Scheduled today in this user's time zone (preferences.timeZone, else UTC)."""
        page = await reports.todays_activities(info, self.id)
        return [Activity.of(a) for a in page.items]


async def _owner(info: Info, owner_id: str | None) -> User | None:
    found = await users.owner(info, owner_id)
    return None if found is None else User.of(found)


# Customers are kept as records (the individual-customer layer): every loader
# read of a customer goes through it, and writes put the new record through.
@strawberry.type(directives=[CacheControl(max_age=300, layer=Layer.CUSTOMER)])
class Customer:
    id: strawberry.ID
    company_name: str
    industry: str | None
    tier: CustomerTier
    contact_info: JSON | None
    created_at: datetime
    updated_at: datetime
    version: int
    record: strawberry.Private[models.Customer]

    @classmethod
    def of(cls, r: models.Customer) -> Customer:
        return wrap(cls, r)

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        return await _owner(info, self.record.owner_id)

    @strawberry.field
    async def contacts(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Contact]:
        return connection(await contacts.of_customer(info, self.id, first, after), Contact.of)

    @strawberry.field
    async def opportunities(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        stage: OpportunityStage | None = None,
    ) -> Connection[Opportunity]:
        page = await opportunities.of_customer(info, self.id, first, after, stage)
        return connection(page, Opportunity.of)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        upcoming: bool | None = None,
    ) -> Connection[Activity]:
        page = await activities.of_related(info, self.id, first, after, upcoming)
        return connection(page, Activity.of)

    @list_field(assumed_size=FILES_LISTED, hint=CUSTOMER_FILES)
    async def documents(self, info: Info) -> list[Document]:
        """Every confirmed file of the customer (its documents and its activities'
        attachments), newest first."""
        return documents_of(await documents.of_customer(info, self.id))


async def _customer(info: Info, customer_id: str) -> Customer:
    found = await customers.customer(info, customer_id)
    if found is None:
        # A customer outlives what points at it (refs.py), but a customer created a
        # moment ago may not be visible to BatchGetItem (eventually consistent) yet.
        raise NotFoundError(f"customer {customer_id} not found")
    return Customer.of(found)


@strawberry.type
class Contact:
    id: strawberry.ID
    first_name: str = strawberry.field(extensions=audited(Entity.CONTACT))
    last_name: str = strawberry.field(extensions=audited(Entity.CONTACT))
    email: str | None = strawberry.field(extensions=audited(Entity.CONTACT))
    phone: str | None = strawberry.field(extensions=audited(Entity.CONTACT))
    position: str | None = strawberry.field(extensions=audited(Entity.CONTACT))
    details: JSON | None = strawberry.field(extensions=audited(Entity.CONTACT))
    last_contacted_at: datetime | None
    erased_at: datetime | None  # set by an erasure: the personal values are gone
    version: int
    record: strawberry.Private[models.Contact]

    @classmethod
    def of(cls, r: models.Contact) -> Contact:
        return wrap(cls, r)

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await _customer(info, self.record.customer_id)

    @strawberry.field
    async def opportunities(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Opportunity]:
        page = await opportunities.of_contact(info, self.id, first, after)
        return connection(page, Opportunity.of)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        upcoming: bool | None = None,
    ) -> Connection[Activity]:
        page = await activities.of_related(info, self.id, first, after, upcoming)
        return connection(page, Activity.of)


@strawberry.type
class Opportunity:
    id: strawberry.ID
    title: str
    value: Decimal
    stage: OpportunityStage
    probability: int
    expected_close_date: date | None
    closed_at: datetime | None
    version: int
    record: strawberry.Private[models.Opportunity]

    @classmethod
    def of(cls, r: models.Opportunity) -> Opportunity:
        return wrap(cls, r)

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await _customer(info, self.record.customer_id)

    @strawberry.field
    async def contact(self, info: Info) -> Contact | None:
        if self.record.contact_id is None:
            return None
        found = await contacts.contact(info, self.record.contact_id)
        return None if found is None else Contact.of(found)

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        return await _owner(info, self.record.owner_id)

    @strawberry.field
    async def activities(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        upcoming: bool | None = None,
    ) -> Connection[Activity]:
        page = await activities.of_related(info, self.id, first, after, upcoming)
        return connection(page, Activity.of)


ActivityTarget = Annotated[Customer | Contact | Opportunity, strawberry.union("ActivityTarget")]


@strawberry.type
class Activity:
    id: strawberry.ID
    related_id: strawberry.ID
    type: ActivityType
    subject: str
    description: str | None
    scheduled_at: datetime | None
    completed_at: datetime | None
    version: int
    record: strawberry.Private[models.Activity]

    @classmethod
    def of(cls, r: models.Activity) -> Activity:
        return wrap(cls, r)

    @strawberry.field
    def overdue(self, info: Info) -> bool:
        """Scheduled before now (this request's now) and not completed."""
        r = self.record
        return (
            r.completed_at is None
            and r.scheduled_at is not None
            and (r.scheduled_at < info.context.now)
        )

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        return await _owner(info, self.record.owner_id)

    @list_field(assumed_size=FILES_LISTED)
    async def attachments(self, info: Info) -> list[Document]:
        """Confirmed files attached to this activity, newest first."""
        return documents_of(await documents.of_activity(info, self.id))

    @strawberry.field
    async def related(self, info: Info) -> ActivityTarget | None:
        found = await activities.related(info, self.record)
        if isinstance(found, models.Customer):
            return Customer.of(found)
        if isinstance(found, models.Contact):
            return Contact.of(found)
        return None if found is None else Opportunity.of(found)
