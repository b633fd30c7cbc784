"""activityMetrics counts each user's overdue activities without reading them: a COUNT
Query per user on the sparse per-owner open index, whatever the tenant holds."""

from __future__ import annotations

from datetime import datetime, timedelta

from dal.loading import bulk
from dal.models import Activity, ActivityType, Customer, Entity, Record, Role, User
from dal.timefmt import utcnow
from services import Services
from tests.conftest import Gql, Tenants
from tests.support import RequestLog

OVERDUE = {"u-late": 1_200, "u-prompt": 3}
METRICS = """
query($from: DateTime!, $to: DateTime!) {
  activityMetrics(from: $from, to: $to) { user { id } overdue } }"""
OPEN_INDEXES = {"byOpen", "byOwnerOpen"}


def _records(now: datetime) -> list[Record]:
    long_ago = now - timedelta(days=400)
    out: list[Record] = [
        User(id=u, created_at=long_ago, updated_at=long_ago, username=u,
             email=f"{u}@example.com", role=Role.SALES_REP)
        for u in OVERDUE
    ]  # fmt: skip
    customer = Customer(
        id="cus_late", created_at=long_ago, updated_at=long_ago, company_name="Late"
    )
    out.append(customer)
    for owner, count in OVERDUE.items():
        out += [_due(f"act_{owner}_{n}", customer, owner, now - timedelta(hours=n + 1))
                for n in range(count)]  # fmt: skip
    return out


def _due(id: str, customer: Customer, owner: str, at: datetime) -> Activity:
    return Activity(
        id=id, created_at=at, updated_at=at, related_id=customer.id,
        related_type=Entity.CUSTOMER, type=ActivityType.TASK, subject="Due",
        scheduled_at=at, owner_id=owner,
    )  # fmt: skip


async def test_activity_metrics_counts_overdue_per_user_without_reading_the_activities(
    gql: Gql, db: Services, tenants: Tenants, request_log: RequestLog
) -> None:
    now = utcnow()
    await bulk.load(db.store.for_tenant(tenants.acme), _records(now))
    window = {"from": (now - timedelta(days=2)).isoformat(), "to": now.isoformat()}
    request_log.clear()
    body = await gql(METRICS, window)
    assert "errors" not in body, body
    got = {m["user"]["id"]: m["overdue"] for m in body["data"]["activityMetrics"]}
    assert got == OVERDUE
    opened = [
        c for op, c in request_log.calls if op == "Query" and c.get("IndexName") in OPEN_INDEXES
    ]
    assert len(opened) == len(OVERDUE) + 1  # one per user (the caller's, provisioned, too)
    assert all(c.get("Select") == "COUNT" for c in opened), "an overdue activity was read"
