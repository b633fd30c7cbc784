"""Input types. Python field names equal the DAL record's, so values map straight across.

Update inputs default every field to UNSET: a field left out stays as it is,
a field set to null is cleared (where the field may be null).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from schema.enums import ActivityType, CustomerTier, OpportunityStage, Role


def given(value: object) -> dict[str, Any]:
    """The fields the client sent (not UNSET), by Python name."""
    if not dataclasses.is_dataclass(value):  # inputs are Strawberry's dataclasses
        raise TypeError(f"not an input object: {type(value).__name__}")
    pairs = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    return {name: v for name, v in pairs if v is not UNSET}


@strawberry.input
class CustomerFilter:
    owner_id: strawberry.ID | None = None
    industry: str | None = None
    name_starts_with: str | None = None


@strawberry.input
class OpportunityFilter:
    stage: OpportunityStage | None = None
    owner_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    closing_from: date | None = None
    closing_to: date | None = None


@strawberry.input
class ActivityFilter:
    owner_id: strawberry.ID | None = None
    related_id: strawberry.ID | None = None
    type: ActivityType | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    overdue: bool | None = None
    completed_since: datetime | None = None


@strawberry.input
class CreateCustomerInput:
    company_name: str
    id: strawberry.ID | None = UNSET
    industry: str | None = UNSET
    tier: CustomerTier | None = UNSET
    contact_info: JSON | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class UpdateCustomerInput:
    company_name: str | None = UNSET
    industry: str | None = UNSET
    tier: CustomerTier | None = UNSET
    contact_info: JSON | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class CreateContactInput:
    customer_id: strawberry.ID
    first_name: str
    last_name: str
    id: strawberry.ID | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    position: str | None = UNSET
    details: JSON | None = UNSET


@strawberry.input
class UpdateContactInput:
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    position: str | None = UNSET
    details: JSON | None = UNSET
    last_contacted_at: datetime | None = UNSET


@strawberry.input
class CreateOpportunityInput:
    customer_id: strawberry.ID
    title: str
    value: Decimal
    id: strawberry.ID | None = UNSET
    contact_id: strawberry.ID | None = UNSET
    stage: OpportunityStage | None = UNSET
    probability: int | None = UNSET
    expected_close_date: date | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class UpdateOpportunityInput:
    contact_id: strawberry.ID | None = UNSET
    title: str | None = UNSET
    value: Decimal | None = UNSET
    stage: OpportunityStage | None = UNSET
    probability: int | None = UNSET
    expected_close_date: date | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class CreateActivityInput:
    related_id: strawberry.ID
    type: ActivityType
    subject: str
    id: strawberry.ID | None = UNSET
    description: str | None = UNSET
    scheduled_at: datetime | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class UpdateActivityInput:
    type: ActivityType | None = UNSET
    subject: str | None = UNSET
    description: str | None = UNSET
    scheduled_at: datetime | None = UNSET
    completed_at: datetime | None = UNSET
    owner_id: strawberry.ID | None = UNSET


@strawberry.input
class CreateUserInput:
    username: str
    email: str
    role: Role
    id: strawberry.ID | None = UNSET
    permissions: list[str] | None = UNSET
    preferences: JSON | None = UNSET


@strawberry.input
class UpdateUserInput:
    username: str | None = UNSET
    email: str | None = UNSET
    role: Role | None = UNSET
    permissions: list[str] | None = UNSET
    preferences: JSON | None = UNSET


ID = strawberry.ID
ExpectedVersion = Annotated[
    int | None, strawberry.argument(description="Write only if the record is at this version")
]
