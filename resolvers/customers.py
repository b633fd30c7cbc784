"""Customer reads and writes."""

from __future__ import annotations

from typing import Any

from dal.ids import new_id
from dal.models import Customer, CustomerTier, Entity, Page
from resolvers import policy
from resolvers.context import Info
from resolvers.loaders import PageKey
from resolvers.pagination import page_size
from resolvers.validation import (
    blob,
    existing_id,
    keep,
    not_null,
    record_id,
    text,
    user_id,
    validate,
)
from resolvers.writes import delete_record, update_record

FIELDS = {
    "company_name": ("companyName", not_null(text(200, required=True))),
    "industry": ("industry", text(100)),
    "tier": ("tier", not_null(keep)),
    "contact_info": ("contactInfo", blob),
    "owner_id": ("ownerId", user_id),
}
CREATE = FIELDS | {"id": ("id", record_id(Entity.CUSTOMER))}


async def customer(info: Info, id: str) -> Customer | None:
    return await info.context.loaders.customer_by_id.load(id)


async def customers(
    info: Info,
    first: int | None,
    after: str | None,
    *,
    owner_id: str | None = None,
    industry: str | None = None,
    name_prefix: str | None = None,
) -> Page[Customer]:
    page = await info.context.repos.customers.find(
        page_size(info, first),
        after,
        owner_id=owner_id,
        industry=industry,
        name_prefix=name_prefix,
    )
    # The list cache keeps ids: its nodes are read (and kept) through the loader.
    info.context.loaders.customer_by_id.prime_all(page.items)
    return page


async def create_customer(info: Info, values: dict[str, Any]) -> Customer:
    v = validate(values, CREATE)
    ctx = info.context
    record = Customer(
        id=v.pop("id", None) or new_id(Entity.CUSTOMER),
        company_name=v["company_name"],
        industry=v.get("industry"),
        tier=v.get("tier") or CustomerTier.STANDARD,
        contact_info=v.get("contact_info"),
        owner_id=v.get("owner_id") or ctx.principal.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    await policy.require_write(info, "customer.create", record)
    return await ctx.repos.customers.create(record)


async def update_customer(
    info: Info, id: str, changes: dict[str, Any], expected_version: int | None
) -> Customer:
    existing_id(Entity.CUSTOMER, id)
    v = validate(changes, FIELDS)
    repo = info.context.repos.customers
    return await update_record(info, "customer.update", repo, id, v, expected_version)


async def delete_customer(info: Info, id: str, expected_version: int | None) -> str:
    existing_id(Entity.CUSTOMER, id)
    repo = info.context.repos.customers
    return await delete_record(info, "customer.delete", repo, id, expected_version)


async def of_owner(
    info: Info, owner_id: str, first: int | None, after: str | None
) -> Page[Customer]:
    key = PageKey(owner_id, page_size(info, first), after)
    return await info.context.loaders.customers_by_owner.load(key)
