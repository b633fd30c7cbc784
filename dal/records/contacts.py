"""Contacts: codec and repository."""

from __future__ import annotations

from dal.dynamodb.tables import CONTACTS
from dal.models import Contact, Entity, Page
from dal.records.codec import Codec, blob, moment, text
from dal.records.refs import Ref
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt


def _index_keys(scope: TenantScope, c: Contact) -> dict[str, str | None]:
    return {
        "customerKey": scope.key(c.customer_id),
        "tenantKey": scope.key("all"),
        "createdKey": f"{dump_dt(c.created_at)}#{c.id}",
        "nameKey": f"{c.last_name.lower()}#{c.first_name.lower()}#{c.id}",
    }


def _refs(c: Contact) -> list[Ref]:
    return [Ref(Entity.CUSTOMER, c.customer_id, "customerId")]


CODEC = Codec(
    Contact,
    CONTACTS,
    (
        text("customerId", "customer_id"),
        text("firstName", "first_name"),
        text("lastName", "last_name"),
        text("email", "email"),
        text("phone", "phone"),
        text("position", "position"),
        blob("details", "details"),
        moment("lastContactedAt", "last_contacted_at"),
    ),
    _index_keys,
    _refs,
    referenced=True,
    # An opportunity's contact must be of its customer: its create checks this on
    # the contact's refs item, in the same transaction (a contact never moves).
    carried=("customerId",),
)


class ContactRepo(Repo[Contact]):
    async def by_customer(
        self, customer_id: str, first: int, after: str | None = None
    ) -> Page[Contact]:
        listing = self.listing("byCustomer", self.scope.key(customer_id))
        return await self.page(listing, first, after)
