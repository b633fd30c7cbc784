"""Users: the caller (``me``), the tenant's users, and user writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auth import Principal
from dal.ids import new_id
from dal.models import Entity, Page, User
from dal.timefmt import utcnow
from resolvers import policy
from resolvers.context import Info
from resolvers.pagination import page_size
from resolvers.suppression import unsuppressed
from resolvers.validation import (
    blob,
    existing_id,
    keep,
    not_null,
    required_email,
    strings,
    text,
    user_id,
    validate,
)

FIELDS = {
    "username": ("username", not_null(text(100, required=True))),
    "email": ("email", not_null(required_email)),
    "role": ("role", not_null(keep)),
    "permissions": ("permissions", not_null(strings(20, 64))),
    "preferences": ("preferences", blob),
}
CREATE = FIELDS | {"id": ("id", user_id)}


def from_principal(principal: Principal) -> User:
    """The record a first-time caller gets (just-in-time provisioning)."""
    now = utcnow()
    return User(
        id=principal.user_id,
        username=principal.username[:100],
        email=principal.email[:254],
        role=principal.role,
        created_at=now,
        updated_at=now,
    )


async def me(info: Info) -> User:
    ctx = info.context
    found = await ctx.loaders.user_by_id.load(ctx.principal.user_id)
    return found or from_principal(ctx.principal)


async def user(info: Info, id: str) -> User | None:
    return await info.context.loaders.user_by_id.load(id)


async def users(info: Info, first: int | None, after: str | None) -> Page[User]:
    return await info.context.repos.users.all(page_size(info, first), after)


async def create_user(info: Info, values: dict[str, Any]) -> User:
    v = validate(values, CREATE)
    ctx = info.context
    record = User(
        id=v.pop("id", None) or new_id(Entity.USER),
        permissions=v.pop("permissions", None) or (),
        created_at=ctx.now,
        updated_at=ctx.now,
        **v,
    )
    await policy.require_user_create(info, record)
    await unsuppressed(info, record.email)
    return await ctx.repos.users.create(record)


async def update_user(
    info: Info, id: str, changes: dict[str, Any], expected_version: int | None
) -> User:
    existing_id(Entity.USER, id)
    v = validate(changes, FIELDS)
    repo = info.context.repos.users
    version = await policy.require_user_update(info, repo, id, v, expected_version)
    await unsuppressed(info, v.get("email"))
    return await repo.update(id, lambda u: replace(u, **v), version)


async def owner(info: Info, owner_id: str | None) -> User | None:
    return None if owner_id is None else await info.context.loaders.user_by_id.load(owner_id)
