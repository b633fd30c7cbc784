"""The suppression check of the writes that take an e-mail address (dal/privacy)."""

from __future__ import annotations

from dal.errors import Suppressed
from resolvers.context import Info


async def unsuppressed(info: Info, email: str | None, field: str = "email") -> None:
    """BAD_USER_INPUT when ``email`` was erased on request in this tenant: a create, an
    update and so an import's row are refused rather than bring the person back."""
    if email and await info.context.repos.suppressions.holds(email):
        raise Suppressed(field)
