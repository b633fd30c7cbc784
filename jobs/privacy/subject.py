"""What a data subject's data is: the record, and what is about them.

For a contact: activities about them (``relatedId``), opportunities they are on
(``contactId``), the files attached to those activities, and the audit events of
all of these. For a user: their record and the audit events of their writes
(records they own are the tenant's business records, not personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dal.models import Activity, Contact, Document, Entity, Opportunity, Record, User
from dal.privacy.audit import AuditEvent, Window
from dal.privacy.subject import SubjectKind
from dal.records.activity_query import ActivityQuery
from dal.records.activity_query import Window as Scheduled
from dal.store import Repos
from dal.timefmt import dump_dt, utcnow


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
        about = ActivityQuery(related_id=record.id, window=Scheduled())
        subject.activities = await repos.activities.find_all(about, dump_dt(utcnow()))
        subject.opportunities = await repos.opportunities.all_of_contact(record.id)
        for activity in subject.activities:
            subject.documents += await repos.documents.of_activity(activity.id)
        for one in [record, *subject.related]:
            subject.audit += await repos.audit.every(Window(record_id=one.id))
    else:
        subject.audit = await repos.audit.every(Window(record_id=record.id))
        subject.audit += await repos.audit.every(Window(actor_id=record.id))
    return subject


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
