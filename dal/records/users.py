"""Users: codec and repository, including just-in-time provisioning."""

from __future__ import annotations

from contextlib import suppress

from dal.dynamodb.tables import USERS
from dal.errors import AlreadyExists
from dal.models import Page, Role, User
from dal.records.codec import Codec, blob, choice, strings, text
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope


def _index_keys(scope: TenantScope, u: User) -> dict[str, str | None]:
    return {
        "tenantKey": scope.key("all"),
        "nameKey": f"{u.username.lower()}#{u.id}",
    }


CODEC = Codec(
    User,
    USERS,
    (
        text("username", "username"),
        text("email", "email"),
        choice("role", "role", Role),
        strings("permissions", "permissions"),
        blob("preferences", "preferences"),
    ),
    _index_keys,
)


class UserRepo(Repo[User]):
    async def all(self, first: int, after: str | None = None) -> Page[User]:
        return await self.page(self.listing("byTenant", self.scope.key("all")), first, after)

    async def ensure(self, user: User) -> None:
        """Create ``user`` unless a user with its id exists: one conditional write."""
        with suppress(AlreadyExists):
            await self.create(user)
