"""Reports and the dashboard, read from the aggregates writes keep (one Query each).

Figures are bucketed by the calendar days of the tenant's reporting time zone,
then grouped into periods (``periods.py``). Pipeline totals count open stages
only: closed deals are in ``salesByPeriod`` and ``leadConversion``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from dal.derived.aggregates import Counters
from dal.models import Activity, Opportunity, OpportunityStage, Page
from dal.timefmt import dump_dt, to_utc
from resolvers.context import Info
from resolvers.pagination import page_size
from resolvers.periods import Period, bucket_of, buckets, split

ZERO = Decimal(0)
RECENT_DEALS = 10
USERS_PAGE = 100


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
    by_stage = await info.context.repos.aggregates.pipeline(owner_id)
    stages = [_stage(s, by_stage.get(s.value, {})) for s in OpportunityStage]
    open_stages = [s for s in stages if not s.stage.closed]
    return PipelineFigures(
        stages,
        sum((s.total for s in open_stages), ZERO),
        sum((s.weighted for s in open_stages), ZERO),
    )


def _stage(stage: OpportunityStage, row: Counters) -> StageFigures:
    return StageFigures(
        stage, int(row.get("count", 0)), row.get("total", ZERO), row.get("weighted", ZERO)
    )


def by_period(days: dict[date, Counters], start: date, end: date, period: Period) -> list[Bucket]:
    """Day buckets summed into every period of [start, end], empty ones too."""
    out = {b: Bucket(b) for b in buckets(start, end, period)}
    for day, counters in days.items():
        bucket = out[bucket_of(day, period)]
        for attr, value in counters.items():
            bucket.values[attr] = bucket.get(attr) + value
    return list(out.values())


async def daily(info: Info, name: str, start: date, end: date, period: Period) -> list[Bucket]:
    """``sales``, ``leads`` or ``acquisition`` per period."""
    buckets(start, end, period)  # refuse a bad window before reading
    days = await info.context.repos.aggregates.daily(name, start, end)
    return by_period(days, start, end, period)


async def forecast(
    info: Info, start: date, end: date, period: Period, owner_id: str | None = None
) -> list[Bucket]:
    buckets(start, end, period)
    days = await info.context.repos.aggregates.forecast(start, end, owner_id)
    return by_period(days, start, end, period)


async def lead_conversion(info: Info, start: date, end: date) -> Conversion:
    total = await daily(info, "leads", start, end, Period.YEAR)
    leads, won, lost = (int(sum((b.get(a) for b in total), ZERO)) for a in ("leads", "won", "lost"))
    return Conversion(leads, won, lost, round(won / leads, 4) if leads else 0.0)


async def activity_metrics(info: Info, start: datetime, end: datetime) -> list[UserMetrics]:
    """Per user: activities planned (scheduled) and completed in exactly [start, end],
    by type, and how many of theirs are overdue now. Whole days of the tenant's zone
    come from the aggregates; the partial days at the ends, from the records."""
    repos = info.context.repos
    window = split(to_utc(start), to_utc(end), repos.scope.zone)
    totals: dict[str | None, Counter[str]] = defaultdict(Counter)
    if window.days is not None:
        for (_, owner), counters in (await repos.aggregates.activity(*window.days)).items():
            totals[owner].update({k: int(v) for k, v in counters.items()})
    for low, high in window.edges:
        for owner, counts in (await repos.activities.tally(dump_dt(low), dump_dt(high))).items():
            totals[owner].update(counts)
    overdue = await _overdue(info, dump_dt(info.context.now))
    # Activities without an owner are nobody's figures; all-zero rows say nothing.
    users = sorted(u for u in set(totals) | set(overdue) if u is not None)
    metrics = [_metrics(u, totals.get(u, Counter()), overdue.get(u, 0)) for u in users]
    return [m for m in metrics if m.planned or m.completed or m.overdue]


async def _overdue(info: Info, now: str) -> dict[str, int]:
    """Overdue activities per user of the tenant, a page of users at a time: one COUNT
    Query per user (README, "Reports"), never a read of the overdue activities."""
    repos, counts, after = info.context.repos, dict[str, int](), None
    listing = repos.users.listing("byTenant", repos.scope.key("all"))
    while True:
        page = await repos.users.page(listing, USERS_PAGE, after)
        counts |= await repos.activities.overdue_of([u.id for u in page.items], now)
        if not page.has_next:
            return counts
        after = page.cursors[-1]


def _metrics(user: str, counts: Counter[str], overdue: int) -> UserMetrics:
    by_type = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("type:") and v}
    return UserMetrics(user, counts["planned"], counts["completed"], overdue, by_type)


async def dashboard(info: Info) -> DashboardData:
    ctx = info.context
    me, now = ctx.principal.user_id, dump_dt(ctx.now)
    today = await todays_activities(info, me)
    # Its figures count the writes the stream consumer has applied: as of then, or now.
    return DashboardData(
        as_of=min(ctx.now, await ctx.repos.aggregates.as_of()),
        pipeline=await pipeline(info),
        todays_activities=today.items,
        overdue_activities=await ctx.repos.activities.overdue_count(me, now),
        recent_closed_deals=(await recent_closed_deals(info, RECENT_DEALS)).items,
    )


async def todays_activities(info: Info, user_id: str) -> Page[Activity]:
    """The user's activities scheduled today in their time zone (preferences.timeZone)."""
    return await info.context.loaders.todays_activities_by_user.load(user_id)


async def recent_closed_deals(
    info: Info, first: int | None, after: str | None = None, won: bool = True
) -> Page[Opportunity]:
    stage = OpportunityStage.CLOSED_WON if won else OpportunityStage.CLOSED_LOST
    return await info.context.repos.opportunities.closed(stage, page_size(info, first), after)
