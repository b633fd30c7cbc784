"""Contacts: codec and repository."""

from __future__ import annotations

from collections.abc import Callable

from dal.dynamodb.tables import CONTACTS
from dal.errors import Erased
from dal.models import Contact, Entity, Page
from dal.records.codec import Codec, blob, moment, text
from dal.records.refs import Ref
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt


def _index_keys(scope: TenantScope, c: Contact) -> dict[str, str | None]:
    if c.erased_at is not None:
        # In no list (a full sync skips it as unlogged): reached by what points at it,
        # and by the tenant index, so a backup keeps it for the deals that point at it.
        return {"tenantKey": scope.key("all"), "createdKey": f"{dump_dt(c.created_at)}#{c.id}"}
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
        moment("erasedAt", "erased_at"),
    ),
    _index_keys,
    _refs,
    referenced=True,
    # An opportunity's contact must be of its customer: its create checks this on
    # the contact's refs item, in the same transaction (a contact never moves).
    carried=("customerId",),
    # An erased contact leaves every device: its erasure is a DELETE in the change log.
    logged=lambda c: c.erased_at is None,
    held_archive=True,
    about=lambda c: c.id,  # its own archived copy is about it: an erasure finds it
)


class ContactRepo(Repo[Contact]):
    async def update(
        self, id: str, change: Callable[[Contact], Contact], expected_version: int | None = None
    ) -> Contact:
        def unless_erased(current: Contact) -> Contact:
            if current.erased_at is not None:
                raise Erased(id)
            return change(current)

        return await super().update(id, unless_erased, expected_version)

    async def by_customer(
        self, customer_id: str, first: int, after: str | None = None
    ) -> Page[Contact]:
        listing = self.listing("byCustomer", self.scope.key(customer_id))
        return await self.page(listing, first, after)
