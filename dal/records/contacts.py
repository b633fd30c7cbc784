"""Contacts: codec and repository."""

from __future__ import annotations

from dal.dynamodb.tables import CONTACTS
from dal.models import Contact, Entity, Page
from dal.records.codec import Codec, Ref, blob, moment, text
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope


def _index_keys(scope: TenantScope, c: Contact) -> dict[str, str | None]:
    return {
        "customerKey": scope.key(c.customer_id),
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
)


class ContactRepo(Repo[Contact]):
    async def by_customer(
        self, customer_id: str, first: int, after: str | None = None
    ) -> Page[Contact]:
        return await self.page("byCustomer", self.scope.key(customer_id), first, after)
