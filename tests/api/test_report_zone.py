"""Reports bucket days in the tenant's reporting time zone (fixed when it is
registered); activityMetrics counts exactly the instants of its window."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from dal.models import (
    Activity,
    ActivityType,
    Customer,
    Entity,
    Opportunity,
    OpportunityStage,
    Role,
    User,
)
from dal.store import Repos
from dal.tenancy.scope import Model
from services import Services
from tests.conftest import Settle, fresh_tenant, token

REPORTS = """query {
  customerAcquisition(from: "2026-03-01", to: "2026-03-02", period: DAY) { period newCustomers }
  salesByPeriod(from: "2026-03-01", to: "2026-03-02", period: DAY) { period dealsWon revenue }
  leadConversion(from: "2026-03-02", to: "2026-03-02") { leads won }
}"""
METRICS = """query($from: DateTime!, $to: DateTime!) {
  activityMetrics(from: $from, to: $to) { user { id } planned completed byType }
}"""
LATE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 March in Berlin


async def _ask(client: httpx.AsyncClient, tenant: str, document: str, **v: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token(tenant)}"}
    body = {"query": document, "variables": v}
    answer: dict[str, Any] = (await client.post("/graphql", json=body, headers=headers)).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


async def _berlin(db: Services) -> Repos:
    tenant = fresh_tenant("berlin")
    return db.store.bind(await db.store.tenants.create(tenant, Model.BRIDGE, "Europe/Berlin"))


async def test_days_are_the_tenants_days(
    db: Services, client: httpx.AsyncClient, settle: Settle
) -> None:
    repos = await _berlin(db)
    at: dict[str, Any] = {"created_at": LATE, "updated_at": LATE}
    await repos.customers.create(Customer(id="cus_late", company_name="Late", **at))
    won = Opportunity(
        id="opp_late", customer_id="cus_late", title="D", value=Decimal("10.00"),
        stage=OpportunityStage.CLOSED_WON, probability=100, closed_at=LATE, **at,
    )  # fmt: skip
    await repos.opportunities.create(won)
    await settle()
    found = await _ask(client, repos.scope.tenant_id, REPORTS)
    assert found["customerAcquisition"] == [
        {"period": "2026-03-01", "newCustomers": 0},
        {"period": "2026-03-02", "newCustomers": 1},
    ]
    assert [b["dealsWon"] for b in found["salesByPeriod"]] == [0, 1]
    assert found["leadConversion"] == {"leads": 1, "won": 1}


async def test_activity_metrics_count_the_exact_window(
    db: Services, client: httpx.AsyncClient, settle: Settle
) -> None:
    """Two calls on one day, at 10:00 and 14:00 UTC, done at 10:30 and 14:30: a
    window from 12:00 holds one of each, not the whole day's."""
    repos = await _berlin(db)
    now = datetime(2026, 3, 10, tzinfo=UTC)
    at: dict[str, Any] = {"created_at": now, "updated_at": now}
    await repos.users.create(
        User(
            id="u-1",
            username="u1",
            email="u1@x.example",
            role=Role.SALES_REP,
            created_at=now,
            updated_at=now,
        )
    )
    await repos.customers.create(
        Customer(id="cus_m", company_name="M", created_at=now, updated_at=now)
    )
    for hour in (10, 14):
        when = datetime(2026, 3, 2, hour, tzinfo=UTC)
        await repos.activities.create(
            Activity(
                id=f"act_{hour}", related_id="cus_m", related_type=Entity.CUSTOMER,
                type=ActivityType.CALL, subject="Call", scheduled_at=when,
                completed_at=when.replace(minute=30), owner_id="u-1", **at,
            )
        )  # fmt: skip
    await settle()
    tenant = repos.scope.tenant_id
    windows = {  # (planned, completed)
        ("2026-03-02T12:00:00Z", "2026-03-02T23:59:59Z"): (1, 1),
        ("2026-03-02T00:00:00Z", "2026-03-02T13:00:00Z"): (1, 1),
        ("2026-03-02T10:00:00Z", "2026-03-02T14:00:00Z"): (2, 1),  # both ends count
        ("2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z"): (2, 2),  # whole days
        ("2026-03-01T22:00:00Z", "2026-03-02T12:00:00Z"): (1, 1),  # two Berlin days
        ("2026-03-02T10:00:00.000001Z", "2026-03-02T13:59:59Z"): (0, 1),
    }
    for (start, end), counts in windows.items():
        found = await _ask(client, tenant, METRICS, **{"from": start, "to": end})
        rows = [(r["planned"], r["completed"]) for r in found["activityMetrics"]]
        assert rows == [counts], (start, end)
    window = {"from": "2026-03-02T12:00:00Z", "to": "2026-03-03T00:00:00Z"}
    assert (await _ask(client, tenant, METRICS, **window))["activityMetrics"] == [
        {"user": {"id": "u-1"}, "planned": 1, "completed": 1, "byType": {"CALL": 1}}
    ]
