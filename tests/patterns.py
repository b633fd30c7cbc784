"""Brute force over every record of a tenant: what the access patterns and the
aggregate series must say, computed the slow and obvious way.

Shared by ``tests/api/test_access_patterns.py`` (expected GraphQL answers) and
``tests/integration/test_aggregates.py`` (expected raw aggregate items). Nothing
here reads an aggregate or an index other than to list all records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from dal.models import Activity, Customer, Opportunity, OpportunityStage, Page, Record, User
from dal.records.activity_query import ActivityQuery
from dal.store import Repos

R = TypeVar("R", bound=Record)
Row = dict[str, Decimal]  # counter name -> value
Series = dict[str, Row]  # aggregate bucket -> counters
ZERO = Decimal(0)
# The tenant-wide series, the owner tag of unowned records, and a user's tag, as
# the Aggregates table spells them (dal/derived/series.py).
ALL, NOBODY = "all", "none"
UTC_ZONE = ZoneInfo("UTC")


def tag(owner_id: str | None) -> str:
    return NOBODY if owner_id is None else f"u:{owner_id}"


@dataclass(frozen=True)
class Crm:
    """Every record of one tenant (contacts only matter through activities)."""

    users: list[User]
    customers: list[Customer]
    opportunities: list[Opportunity]
    activities: list[Activity]


async def every(fetch: Callable[[int, str | None], Awaitable[Page[R]]]) -> list[R]:
    """All pages of one list, followed cursor by cursor."""
    found: list[R] = []
    after: str | None = None
    while True:
        page = await fetch(100, after)
        found += page.items
        if not page.has_next:
            return found
        after = page.end_cursor


async def load_crm(repos: Repos) -> Crm:
    return Crm(
        users=await every(repos.users.all),
        customers=await every(repos.customers.newest),
        opportunities=await every(repos.opportunities.newest),
        activities=await every(
            lambda first, after: repos.activities.find(ActivityQuery(), "", first, after)
        ),
    )


# -- time ---------------------------------------------------------------------
def stamp(moment: datetime) -> str:
    """The stored form of a moment: fixed-width UTC, so string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def period_start(day: date, period: str) -> date:
    """The first day of the DAY/WEEK (ISO, Monday)/MONTH/QUARTER/YEAR holding ``day``."""
    if period == "WEEK":
        year, week, _ = day.isocalendar()
        return date.fromisocalendar(year, week, 1)
    if period == "MONTH":
        return day.replace(day=1)
    if period == "QUARTER":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if period == "YEAR":
        return date(day.year, 1, 1)
    return day


def by_period(series: Series, start: date, end: date, period: str) -> list[tuple[date, Row]]:
    """Day rows (sort keys starting with a date) in [start, end] summed per period;
    every period touching the window is listed, empty ones too."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    out: dict[date, Row] = {period_start(d, period): {} for d in days}
    for sk, row in series.items():
        day = date.fromisoformat(sk[:10])
        if start <= day <= end:
            add(out[period_start(day, period)], row)
    return list(out.items())


# -- aggregate series, recomputed from the records ---------------------------
def add(row: Row, amounts: Row) -> None:
    for name, amount in amounts.items():
        row[name] = row.get(name, ZERO) + amount


def _count(series: Series, sk: str, **amounts: Decimal) -> None:
    add(series.setdefault(sk, {}), amounts)


def weighted(o: Opportunity) -> Decimal:
    """The rule: each deal's weighted value rounded half-even to cents, then added up."""
    return (o.value * o.probability / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def owned(records: Iterable[Opportunity], owner: str) -> list[Opportunity]:
    return [o for o in records if owner == ALL or tag(o.owner_id) == owner]


def pipeline_series(opportunities: Iterable[Opportunity], owner: str) -> Series:
    """Per stage (closed ones too): count, total value, weighted value."""
    out: Series = {}
    for o in owned(opportunities, owner):
        _count(out, o.stage.value, count=Decimal(1), total=o.value, weighted=weighted(o))
    return out


def forecast_series(opportunities: Iterable[Opportunity], owner: str) -> Series:
    """Open deals with a close date, per expected close day."""
    out: Series = {}
    for o in owned(opportunities, owner):
        if not o.stage.closed and o.expected_close_date is not None:
            sk = o.expected_close_date.isoformat()
            _count(out, sk, count=Decimal(1), total=o.value, weighted=weighted(o))
    return out


def sales_series(opportunities: Iterable[Opportunity], zone: ZoneInfo = UTC_ZONE) -> Series:
    """Won deals per tenant day of closing."""
    out: Series = {}
    for o in opportunities:
        if o.stage is OpportunityStage.CLOSED_WON and o.closed_at is not None:
            day = local_day(o.closed_at, zone).isoformat()
            _count(out, day, dealsWon=Decimal(1), revenue=o.value)
    return out


def leads_series(opportunities: Iterable[Opportunity], zone: ZoneInfo = UTC_ZONE) -> Series:
    """Opportunities per tenant day of creation, and how many of them are now won or lost."""
    out: Series = {}
    for o in opportunities:
        sk = local_day(o.created_at, zone).isoformat()
        _count(out, sk, leads=Decimal(1))
        if o.stage.closed:
            outcome = "won" if o.stage is OpportunityStage.CLOSED_WON else "lost"
            _count(out, sk, **{outcome: Decimal(1)})
    return out


def acquisition_series(customers: Iterable[Customer], zone: ZoneInfo = UTC_ZONE) -> Series:
    out: Series = {}
    for c in customers:
        _count(out, local_day(c.created_at, zone).isoformat(), newCustomers=Decimal(1))
    return out


def activity_series(activities: Iterable[Activity], zone: ZoneInfo = UTC_ZONE) -> Series:
    """Per tenant day and owner ("{day}#{tag}"): planned (also by type) and completed."""
    out: Series = {}
    for a in activities:
        owner = tag(a.owner_id)
        if a.scheduled_at is not None:
            sk = f"{local_day(a.scheduled_at, zone).isoformat()}#{owner}"
            _count(out, sk, planned=Decimal(1), **{f"type:{a.type.value}": Decimal(1)})
        if a.completed_at is not None:
            day = local_day(a.completed_at, zone).isoformat()
            _count(out, f"{day}#{owner}", completed=Decimal(1))
    return out


# -- activities as of a moment -----------------------------------------------
def is_overdue(a: Activity, now: datetime) -> bool:
    return a.completed_at is None and a.scheduled_at is not None and a.scheduled_at < now


def by_schedule(activities: Iterable[Activity]) -> list[Activity]:
    """Soonest first, ties by id: the order of every schedule index."""
    return sorted(activities, key=lambda a: (stamp(a.scheduled_at or a.created_at), a.id))
