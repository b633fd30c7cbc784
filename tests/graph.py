"""A regular CRM graph for request-count tests: every level fans out the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from dal.models import Activity, ActivityType, Contact, Customer, Entity, Opportunity, User
from dal.models import Role as RoleEnum
from dal.store import Repos
from dal.timefmt import utcnow


@dataclass(frozen=True)
class Shape:
    customers: int = 25
    contacts: int = 2  # per customer
    opportunities: int = 2  # per contact
    activities: int = 2  # per opportunity


async def _all(jobs: Iterable[Awaitable[Any]], limit: int = 16) -> None:
    gate = asyncio.Semaphore(limit)

    async def run(job: Awaitable[Any]) -> None:
        async with gate:
            await job

    await asyncio.gather(*(run(j) for j in jobs))


async def build(repos: Repos, shape: Shape, owner: str = "u-owner") -> None:
    now = utcnow()
    stamp: dict[str, Any] = {"created_at": now, "updated_at": now}
    await repos.users.create(
        User(id=owner, username="owner", email="o@x.example", role=RoleEnum.SALES_REP, **stamp)
    )
    cus = [f"cus_{i:03}" for i in range(shape.customers)]
    await _all(
        repos.customers.create(
            Customer(
                id=c,
                company_name=f"Company {c}",
                owner_id=owner,
                **{**stamp, "created_at": now - timedelta(minutes=i)},
            )
        )
        for i, c in enumerate(cus)
    )
    con = [(c, f"con_{c[4:]}-{j}") for c in cus for j in range(shape.contacts)]
    await _all(
        repos.contacts.create(Contact(id=p, customer_id=c, first_name="Ann", last_name=p, **stamp))
        for c, p in con
    )
    opp = [(c, p, f"opp_{p[4:]}-{k}") for c, p in con for k in range(shape.opportunities)]
    await _all(
        repos.opportunities.create(
            Opportunity(
                id=o,
                customer_id=c,
                contact_id=p,
                title=o,
                value=Decimal("100.00"),
                owner_id=owner,
                **stamp,
            )
        )
        for c, p, o in opp
    )
    await _all(
        repos.activities.create(
            Activity(
                id=f"act_{o[4:]}-{n}",
                related_id=o,
                related_type=Entity.OPPORTUNITY,
                type=ActivityType.CALL,
                subject="Call",
                owner_id=owner,
                scheduled_at=now + timedelta(days=n + 1),
                **stamp,
            )
        )
        for _, _, o in opp
        for n in range(shape.activities)
    )
