"""The CRM records as the data layer hands them out: plain frozen dataclasses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    SALES_REP = "SALES_REP"
    READ_ONLY = "READ_ONLY"


class CustomerTier(enum.StrEnum):
    FREE = "FREE"
    STANDARD = "STANDARD"
    PREMIUM = "PREMIUM"
    ENTERPRISE = "ENTERPRISE"


class OpportunityStage(enum.StrEnum):
    LEAD = "LEAD"
    QUALIFIED = "QUALIFIED"
    PROPOSAL = "PROPOSAL"
    NEGOTIATION = "NEGOTIATION"
    CLOSED_WON = "CLOSED_WON"
    CLOSED_LOST = "CLOSED_LOST"

    @property
    def closed(self) -> bool:
        return self in (OpportunityStage.CLOSED_WON, OpportunityStage.CLOSED_LOST)


class ActivityType(enum.StrEnum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    MEETING = "MEETING"
    TASK = "TASK"
    NOTE = "NOTE"


class Entity(enum.StrEnum):
    """Table names without prefix; also the kinds an activity can relate to."""

    CUSTOMER = "Customers"
    CONTACT = "Contacts"
    OPPORTUNITY = "Opportunities"
    ACTIVITY = "Activities"
    USER = "Users"
    DOCUMENT = "Documents"


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    id: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer(Record):
    company_name: str
    industry: str | None = None
    tier: CustomerTier = CustomerTier.STANDARD
    contact_info: Any = None
    owner_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact(Record):
    customer_id: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    position: str | None = None
    details: Any = None
    last_contacted_at: datetime | None = None
    # Set by an erasure (jobs/privacy/erasure.py): the record stays, for the deals and
    # activities that point at it, with every personal value gone.
    erased_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Opportunity(Record):
    customer_id: str
    title: str
    value: Decimal
    stage: OpportunityStage = OpportunityStage.LEAD
    probability: int = 10
    contact_id: str | None = None
    expected_close_date: date | None = None
    closed_at: datetime | None = None
    owner_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity(Record):
    related_id: str
    related_type: Entity
    type: ActivityType
    subject: str
    description: str | None = None
    scheduled_at: datetime | None = None
    completed_at: datetime | None = None
    owner_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Record):
    username: str
    email: str
    role: Role
    permissions: tuple[str, ...] = ()
    preferences: Any = None


class DocumentStatus(enum.StrEnum):
    PENDING = "PENDING"  # a ticket was handed out; the bytes are not confirmed
    AVAILABLE = "AVAILABLE"  # confirmed: listed, downloadable


class DocumentKind(enum.StrEnum):
    """Which bucket (and key segment) a file lives in."""

    DOCUMENT = "documents"
    ATTACHMENT = "attachments"  # of an activity (an e-mail's attachment)


@dataclass(frozen=True, slots=True, kw_only=True)
class Document(Record):
    """A file's metadata; its bytes are in S3 under ``key`` (built by the server)."""

    customer_id: str
    kind: DocumentKind
    key: str
    name: str  # the original file name, as the uploader gave it
    size: int
    content_type: str
    uploader_id: str
    status: DocumentStatus = DocumentStatus.PENDING
    activity_id: str | None = None
    upload_id: str | None = None  # a multipart upload in progress
    expires_at: datetime | None = None  # of the ticket, while PENDING
    object_version: str | None = None  # the S3 version confirmed (versioned buckets)
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of an index: the records, each one's cursor, and whether more follow.

    ``cursors`` may hold one more entry than ``items``: where a filtered read
    stopped before filling the page. The last cursor is always where to resume.
    """

    items: list[R]
    cursors: list[str] = field(default_factory=list)
    has_next: bool = False

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None
