"""What a data subject's data is: the record, and what is about them.

For a contact: activities about them (``relatedId``), opportunities they are on
(``contactId``), the files attached to those activities, and the audit events of
all of these. For a user: their record and the audit events of their writes
(records they own are the tenant's business records, not personal data).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dal.models import Activity, Contact, Document, Entity, Opportunity, Page, Record, User
from dal.privacy.audit import AuditEvent, Window
from dal.privacy.subject import SubjectKind
from dal.records.activity_query import Window as Scheduled
from dal.store import Repos
from dal.timefmt import dump_dt, utcnow

PAGE = 500
T = TypeVar("T")


@dataclass
class Subject:
    kind: SubjectKind
    record: Contact | User
    activities: list[Activity] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)

    @property
    def related(self) -> list[Record]:
        """Records about the subject, besides its own."""
        return [*self.activities, *self.opportunities, *self.documents]


async def gather(repos: Repos, kind: SubjectKind, record: Contact | User) -> Subject:
    subject = Subject(kind, record)
    if kind is SubjectKind.CONTACT:
        subject.activities = await _activities(repos, record.id)
        subject.opportunities = await _opportunities(repos, record.id)
        for activity in subject.activities:
            subject.documents += await repos.documents.of_activity(activity.id)
        for one in [record, *subject.related]:
            subject.audit += await repos.audit.every(Window(record_id=one.id))
    else:
        subject.audit = await repos.audit.every(Window(record_id=record.id))
        subject.audit += await repos.audit.every(Window(actor_id=record.id))
    return subject


async def _every(read: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
    """Every page of a listing, ``read(after)`` a page at a time."""
    found: list[T] = []
    after = None
    while True:
        page = await read(after)
        found += page.items
        if not page.has_next:
            return found
        after = page.end_cursor


async def _activities(repos: Repos, contact_id: str) -> list[Activity]:
    now = dump_dt(utcnow())
    return await _every(
        lambda after: repos.activities.by_related(contact_id, now, PAGE, after, Scheduled())
    )


async def _opportunities(repos: Repos, contact_id: str) -> list[Opportunity]:
    return await _every(lambda after: repos.opportunities.by_contact(contact_id, PAGE, after))


ENTITIES: dict[type[Record], Entity] = {
    Contact: Entity.CONTACT,
    User: Entity.USER,
    Activity: Entity.ACTIVITY,
    Opportunity: Entity.OPPORTUNITY,
    Document: Entity.DOCUMENT,
}


def entity_of(record: Record) -> Entity:
    return ENTITIES[type(record)]


def public(repos: Repos, record: Record) -> dict[str, Any]:
    """A record as the API names its fields (the export's and the change log's form)."""
    out: dict[str, Any] = repos.of(entity_of(record)).codec.public(record)
    return out
