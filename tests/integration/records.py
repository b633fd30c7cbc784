"""Record builders for the DAL tests: every required field filled, the rest as given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dal.models import Activity, ActivityType, Contact, Customer, Entity, Opportunity, Role, User
from dal.timefmt import utcnow

BASE = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A fixed instant, ``seconds`` after BASE: distinct, ordered creation times."""
    return BASE + timedelta(seconds=seconds)


def customer(id: str, created: datetime | None = None, **fields: Any) -> Customer:
    when = created or utcnow()
    values: dict[str, Any] = {"company_name": f"Co {id}", **fields}
    return Customer(id=id, created_at=when, updated_at=when, **values)


def contact(id: str, customer_id: str, **fields: Any) -> Contact:
    now = utcnow()
    return Contact(
        id=id,
        created_at=now,
        updated_at=now,
        customer_id=customer_id,
        first_name="Ada",
        last_name=f"L{id}",
        **fields,
    )


def opportunity(id: str, customer_id: str, **fields: Any) -> Opportunity:
    now = utcnow()
    return Opportunity(
        id=id,
        created_at=now,
        updated_at=now,
        customer_id=customer_id,
        title=f"Deal {id}",
        value=Decimal("1000"),
        **fields,
    )


def activity(id: str, related_id: str, **fields: Any) -> Activity:
    now = utcnow()
    return Activity(
        id=id,
        created_at=fields.pop("created_at", now),
        updated_at=now,
        related_id=related_id,
        related_type=Entity.CUSTOMER,
        type=ActivityType.CALL,
        subject=f"Call {id}",
        **fields,
    )


def user(id: str) -> User:
    now = utcnow()
    return User(
        id=id,
        created_at=now,
        updated_at=now,
        username=id,
        email=f"{id}@example.com",
        role=Role.SALES_REP,
    )
