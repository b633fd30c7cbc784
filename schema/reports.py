"""Report types and the root fields that read them (merged into Query)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from dal.cache.keys import Layer
from resolvers import loaders, reports
from resolvers.context import Info
from resolvers.errors import NotFoundError
from resolvers.periods import MAX_BUCKETS, Period
from schema.caching import CacheScope, Hint, cached_field
from schema.cost import ListSize, list_field
from schema.enums import OpportunityStage
from schema.relay import Connection, connection
from schema.types import Activity, Opportunity, User, _owner

strawberry.enum(Period)
From = Annotated[date, strawberry.argument(name="from")]


@strawberry.type
class StageSummary:
    stage: OpportunityStage
    count: int
    total_value: Decimal
    weighted_value: Decimal


@strawberry.type
class Pipeline:
    stages: list[StageSummary] = strawberry.field(
        directives=[ListSize(assumed_size=len(OpportunityStage))]
    )
    total_value: Decimal = strawberry.field(description="Open stages only.")
    weighted_value: Decimal = strawberry.field(description="Open stages only.")

    @classmethod
    def of(cls, p: reports.PipelineFigures) -> Pipeline:
        stages = [
            StageSummary(
                stage=s.stage, count=s.count, total_value=s.total, weighted_value=s.weighted
            )
            for s in p.stages
        ]
        return cls(stages=stages, total_value=p.total, weighted_value=p.weighted)


@strawberry.type
class ForecastBucket:
    period: date
    count: int
    total_value: Decimal
    weighted_value: Decimal


@strawberry.type
class SalesBucket:
    period: date
    deals_won: int
    revenue: Decimal


@strawberry.type
class AcquisitionBucket:
    period: date
    new_customers: int


@strawberry.type
class LeadConversion:
    leads: int
    won: int
    lost: int
    rate: float = strawberry.field(description="won / leads, 0 when there were none.")


@strawberry.type
class UserActivityMetrics:
    planned: int
    completed: int
    overdue: int
    by_type: JSON
    user_id: strawberry.Private[str]

    @strawberry.field
    async def user(self, info: Info) -> User:
        found = await _owner(info, self.user_id)
        if found is None:
            # Owners are checked when written and users are never deleted, but a
            # just-created user may not be visible to BatchGetItem (eventually
            # consistent) yet: an error at this field, not a crash of the answer.
            raise NotFoundError(f"user {self.user_id} not found")
        return found


@strawberry.type
class Dashboard:
    as_of: datetime = strawberry.field(
        description="Every write committed before this instant is counted in the figures"
        " (the aggregates follow the writes within about a second)."
    )
    pipeline: Pipeline
    todays_activities: list[Activity] = strawberry.field(
        directives=[ListSize(assumed_size=loaders.TODAY_MAX)]
    )
    overdue_activities: int
    recent_closed_deals: list[Opportunity] = strawberry.field(
        directives=[ListSize(assumed_size=reports.RECENT_DEALS)]
    )


# Reports are kept until a write to their inputs bumps the reports generation;
# activityMetrics and the dashboard count "overdue now", so they also age out
# with the clock. The dashboard is the caller's (today's activities are theirs).
REPORT = Hint(Layer.REPORTS, 300)
LIVE_REPORT = Hint(Layer.REPORTS, 60, live=True)
DASHBOARD = Hint(Layer.DASHBOARD, 30, scope=CacheScope.USER, live=True)


@strawberry.type
class ReportQuery:
    @cached_field(REPORT)
    async def pipeline(self, info: Info, owner_id: strawberry.ID | None = None) -> Pipeline:
        return Pipeline.of(await reports.pipeline(info, owner_id))

    @list_field(assumed_size=MAX_BUCKETS, hint=REPORT)
    async def forecast(
        self,
        info: Info,
        from_: From,
        to: date,
        period: Period | None = Period.MONTH,
        owner_id: strawberry.ID | None = None,
    ) -> list[ForecastBucket]:
        found = await reports.forecast(info, from_, to, period or Period.MONTH, owner_id)
        return [
            ForecastBucket(
                period=b.period,
                count=int(b.get("count")),
                total_value=b.get("total"),
                weighted_value=b.get("weighted"),
            )
            for b in found
        ]

    @list_field(assumed_size=MAX_BUCKETS, hint=REPORT)
    async def sales_by_period(
        self, info: Info, from_: From, to: date, period: Period | None = Period.MONTH
    ) -> list[SalesBucket]:
        found = await reports.daily(info, "sales", from_, to, period or Period.MONTH)
        return [
            SalesBucket(period=b.period, deals_won=int(b.get("dealsWon")), revenue=b.get("revenue"))
            for b in found
        ]

    @list_field(assumed_size=MAX_BUCKETS, hint=REPORT)
    async def customer_acquisition(
        self, info: Info, from_: From, to: date, period: Period | None = Period.MONTH
    ) -> list[AcquisitionBucket]:
        found = await reports.daily(info, "acquisition", from_, to, period or Period.MONTH)
        return [
            AcquisitionBucket(period=b.period, new_customers=int(b.get("newCustomers")))
            for b in found
        ]

    @cached_field(REPORT)
    async def lead_conversion(self, info: Info, from_: From, to: date) -> LeadConversion:
        c = await reports.lead_conversion(info, from_, to)
        return LeadConversion(leads=c.leads, won=c.won, lost=c.lost, rate=c.rate)

    @cached_field(LIVE_REPORT)
    async def activity_metrics(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> list[UserActivityMetrics]:
        found = await reports.activity_metrics(info, from_, to)
        return [
            UserActivityMetrics(
                planned=m.planned,
                completed=m.completed,
                overdue=m.overdue,
                by_type=cast(JSON, m.by_type),
                user_id=m.user_id,
            )
            for m in found
        ]

    @cached_field(REPORT)
    async def closed_deals(
        self, info: Info, won: bool = True, first: int | None = 20, after: str | None = None
    ) -> Connection[Opportunity]:
        """Won (or lost) deals, most recently closed first."""
        page = await reports.recent_closed_deals(info, first, after, won)
        return connection(page, Opportunity.of)

    @cached_field(DASHBOARD)
    async def dashboard(self, info: Info) -> Dashboard:
        d = await reports.dashboard(info)
        return Dashboard(
            as_of=d.as_of,
            pipeline=Pipeline.of(d.pipeline),
            todays_activities=[Activity.of(a) for a in d.todays_activities],
            overdue_activities=d.overdue_activities,
            recent_closed_deals=[Opportunity.of(o) for o in d.recent_closed_deals],
        )
