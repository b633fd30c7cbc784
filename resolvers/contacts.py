"""Contact reads and writes."""

from __future__ import annotations

from typing import Any

from dal.ids import new_id
from dal.models import Contact, Entity, Page
from resolvers import policy
from resolvers.context import Info
from resolvers.loaders import PageKey
from resolvers.pagination import page_size
from resolvers.suppression import unsuppressed
from resolvers.validation import (
    blob,
    email,
    existing_id,
    moment,
    not_null,
    record_id,
    text,
    validate,
)
from resolvers.writes import delete_record, update_record

FIELDS = {
    "first_name": ("firstName", not_null(text(100, required=True))),
    "last_name": ("lastName", not_null(text(100, required=True))),
    "email": ("email", email),
    "phone": ("phone", text(40)),
    "position": ("position", text(100)),
    "details": ("details", blob),
    "last_contacted_at": ("lastContactedAt", moment),
}
CREATE = FIELDS | {
    "id": ("id", record_id(Entity.CONTACT)),
    "customer_id": ("customerId", not_null(record_id(Entity.CUSTOMER))),
}


async def contact(info: Info, id: str) -> Contact | None:
    return await info.context.loaders.contact_by_id.load(id)


async def create_contact(info: Info, values: dict[str, Any]) -> Contact:
    v = validate(values, CREATE)
    ctx = info.context
    record = Contact(
        id=v.pop("id", None) or new_id(Entity.CONTACT), created_at=ctx.now, updated_at=ctx.now, **v
    )
    await policy.require_write(info, "contact.create", record)
    await unsuppressed(info, record.email)
    return await ctx.repos.contacts.create(record)


async def update_contact(
    info: Info, id: str, changes: dict[str, Any], expected_version: int | None
) -> Contact:
    existing_id(Entity.CONTACT, id)
    v = validate(changes, FIELDS)
    await unsuppressed(info, v.get("email"))
    repo = info.context.repos.contacts
    return await update_record(info, "contact.update", repo, id, v, expected_version)


async def delete_contact(info: Info, id: str, expected_version: int | None) -> str:
    existing_id(Entity.CONTACT, id)
    repo = info.context.repos.contacts
    return await delete_record(info, "contact.delete", repo, id, expected_version)


async def of_customer(
    info: Info, customer_id: str, first: int | None, after: str | None
) -> Page[Contact]:
    key = PageKey(customer_id, page_size(info, first), after)
    return await info.context.loaders.contacts_by_customer.load(key)
