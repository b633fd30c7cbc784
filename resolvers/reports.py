"""Reports and the dashboard, read from the aggregates writes keep (one Query each).

Figures are bucketed by UTC calendar day, then grouped into periods
(``periods.py``). Pipeline totals count open stages only: closed deals are
in ``salesByPeriod`` and ``leadConversion``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dal.dynamodb.items import Item
from dal.models import Activity, Opportunity, OpportunityStage, Page
from dal.records.activities import NO_OWNER, ActivityQuery
from dal.records.opportunities import ALL_OWNERS
from dal.timefmt import dump_dt
from resolvers.context import Info
from resolvers.pagination import page_size
from resolvers.periods import Period, bucket_of, buckets

ZERO = Decimal(0)
RECENT_DEALS = 10
TODAY_MAX = 100


@dataclass(frozen=True)
class StageFigures:
    stage: OpportunityStage
    count: int
    total: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class PipelineFigures:
    stages: list[StageFigures]
    total: Decimal
    weighted: Decimal


@dataclass
class Bucket:
    period: date
    values: dict[str, Decimal] = field(default_factory=dict)

    def get(self, name: str) -> Decimal:
        return self.values.get(name, ZERO)


@dataclass(frozen=True)
class UserMetrics:
    user_id: str
    planned: int
    completed: int
    overdue: int
    by_type: dict[str, int]


@dataclass(frozen=True)
class Conversion:
    leads: int
    won: int
    lost: int
    rate: float


@dataclass(frozen=True)
class DashboardData:
    as_of: datetime
    pipeline: PipelineFigures
    todays_activities: list[Activity]
    overdue_activities: int
    recent_closed_deals: list[Opportunity]


async def pipeline(info: Info, owner_id: str | None = None) -> PipelineFigures:
    rows = await info.context.repos.aggregates.series("pipeline", owner_id or ALL_OWNERS)
    by_stage = {str(r["sk"]): r for r in rows}
    stages = [_stage(s, by_stage.get(s.value, {})) for s in OpportunityStage]
    open_stages = [s for s in stages if not s.stage.closed]
    return PipelineFigures(
        stages,
        sum((s.total for s in open_stages), ZERO),
        sum((s.weighted for s in open_stages), ZERO),
    )


def _stage(stage: OpportunityStage, row: Item) -> StageFigures:
    return StageFigures(
        stage,
        int(row.get("count", 0)),
        Decimal(row.get("total", 0)),
        Decimal(row.get("weighted", 0)),
    )


async def series(
    info: Info, name: tuple[str, ...], start: date, end: date, period: Period
) -> list[Bucket]:
    """Day buckets of one series summed into every period of [start, end]."""
    out = {b: Bucket(b) for b in buckets(start, end, period)}
    rows = await info.context.repos.aggregates.series(
        *name, start=start.isoformat(), end=end.isoformat()
    )
    for row in rows:
        bucket = out[bucket_of(date.fromisoformat(str(row["sk"])[:10]), period)]
        for attr, value in row.items():
            if isinstance(value, Decimal):
                bucket.values[attr] = bucket.get(attr) + value
    return list(out.values())


async def forecast(
    info: Info, start: date, end: date, period: Period, owner_id: str | None = None
) -> list[Bucket]:
    return await series(info, ("forecast", owner_id or ALL_OWNERS), start, end, period)


async def lead_conversion(info: Info, start: date, end: date) -> Conversion:
    total = await series(info, ("leads",), start, end, Period.YEAR)
    leads, won, lost = (int(sum((b.get(a) for b in total), ZERO)) for a in ("leads", "won", "lost"))
    return Conversion(leads, won, lost, round(won / leads, 4) if leads else 0.0)


async def activity_metrics(info: Info, start: datetime, end: datetime) -> list[UserMetrics]:
    """Per user: activities planned (scheduled) and completed on the UTC days of
    [start, end], by type, and how many of theirs are overdue now."""
    rows = await info.context.repos.aggregates.series(
        "activity", start=dump_dt(start)[:10], end=dump_dt(end)[:10]
    )
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        owner = str(row["sk"]).split("#", 1)[1]
        for attr, value in row.items():
            if isinstance(value, Decimal):
                totals[owner][attr] += int(value)
    overdue = await _overdue_by_owner(info)
    # Activities without an owner ("-") are nobody's figures; all-zero rows say nothing.
    users = sorted((set(totals) | set(overdue)) - {NO_OWNER})
    metrics = [_metrics(u, totals.get(u, {}), overdue.get(u, 0)) for u in users]
    return [m for m in metrics if m.planned or m.completed or m.overdue]


def _metrics(user: str, counts: dict[str, int], overdue: int) -> UserMetrics:
    by_type = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("type:") and v}
    return UserMetrics(user, counts.get("planned", 0), counts.get("completed", 0), overdue, by_type)


async def _overdue_by_owner(info: Info) -> dict[str, int]:
    return await info.context.repos.activities.overdue_by_owner(dump_dt(info.context.now))


async def dashboard(info: Info) -> DashboardData:
    ctx = info.context
    me, now = ctx.principal.user_id, dump_dt(ctx.now)
    today = await todays_activities(info, me)
    return DashboardData(
        as_of=ctx.now,
        pipeline=await pipeline(info),
        todays_activities=today.items,
        overdue_activities=await ctx.repos.activities.overdue_count(me, now),
        recent_closed_deals=(await recent_closed_deals(info, RECENT_DEALS)).items,
    )


async def todays_activities(info: Info, user_id: str) -> Page[Activity]:
    """The user's activities scheduled today in their time zone (preferences.timeZone)."""
    ctx = info.context
    user = await ctx.loaders.user_by_id.load(user_id)
    zone = _zone(user.preferences if user else None)
    midnight = datetime.combine(ctx.now.astimezone(zone).date(), datetime.min.time(), zone)
    window = (dump_dt(midnight), dump_dt(midnight + timedelta(days=1) - timedelta(microseconds=1)))
    query = ActivityQuery(owner_id=user_id, scheduled=window)
    return await ctx.repos.activities.find(query, dump_dt(ctx.now), TODAY_MAX)


def _zone(preferences: Any) -> ZoneInfo:
    name = preferences.get("timeZone") if isinstance(preferences, dict) else None
    try:
        return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad preference must not break the dashboard


async def recent_closed_deals(
    info: Info, first: int | None, after: str | None = None, won: bool = True
) -> Page[Opportunity]:
    stage = OpportunityStage.CLOSED_WON if won else OpportunityStage.CLOSED_LOST
    return await info.context.repos.opportunities.closed(stage, page_size(info, first), after)
