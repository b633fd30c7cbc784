"""Who a privacy request is about: a contact or a user of the tenant."""

from __future__ import annotations

import enum

from dal.models import Contact, User
from dal.store import Repos


class SubjectKind(enum.StrEnum):
    CONTACT = "CONTACT"
    USER = "USER"


async def record_of(repos: Repos, kind: SubjectKind, id: str) -> Contact | User | None:
    repo = repos.contacts if kind is SubjectKind.CONTACT else repos.users
    found: Contact | User | None = await repo.get(id)
    return found
