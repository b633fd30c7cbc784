"""Aggregates are exact: after any sequence of writes through the repositories,
every aggregate series equals a recomputation from the records that remain.

Hypothesis draws sequences of creates, updates (stage in and out of the closed
stages, value, probability, owner, close date; scheduling, completing and
reassigning activities) and deletes, in any order; each example starts from an
empty store. Then every series (pipeline and forecast per owner and
tenant-wide, sales, leads, acquisition, activity) is compared, counter by
counter, with what ``tests.patterns`` computes from all records; and again
after deleting everything, when every counter must be back at zero. Values use
the full money range (below 10^15, cents) so any rounding would show.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dal.errors import HasDependents, VersionConflict
from dal.ids import PREFIXES
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
from dal.records.repo import Repo
from dal.store import Repos
from dal.tenancy.scope import Model
from resolvers.opportunities import STAGE_PROBABILITY
from services import Services
from tests.conftest import Settle, fresh_tenant
from tests.patterns import (
    ALL,
    NOBODY,
    Crm,
    Series,
    acquisition_series,
    activity_series,
    forecast_series,
    leads_series,
    load_crm,
    pipeline_series,
    sales_series,
    tag,
)

BASE = datetime(2026, 3, 1, tzinfo=UTC)  # a month with a quarter boundary after it
OWNERS = ("u-1", "u-2", "u-3")
EXAMPLES = 15  # per model; each example starts from an empty store


@dataclass
class World:
    """One tenant's repositories and the ids of what it holds, by kind."""

    repos: Repos
    live: dict[Entity, list[str]] = field(default_factory=dict)
    made: int = 0

    def new_id(self, kind: Entity) -> str:
        self.made += 1
        self.live.setdefault(kind, []).append(f"{PREFIXES[kind]}_{self.made}")
        return self.live[kind][-1]

    def pick(self, kind: Entity, n: int) -> str | None:
        ids = self.live.get(kind, [])
        return ids[n % len(ids)] if ids else None


async def new_world(db: Services, model: Model) -> World:
    """A tenant of its own, empty but for the owners every record may name."""
    tenant = fresh_tenant("agg")
    await db.store.tenants.create(tenant, model)
    repos = db.store.for_tenant(tenant, model)
    for id in OWNERS:
        user = User(
            id=id,
            created_at=BASE,
            updated_at=BASE,
            username=id,
            email=f"{id}@x.example",
            role=Role.SALES_REP,
        )
        await repos.users.create(user)
    return World(repos)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


# -- steps: what hypothesis draws -----------------------------------------------
class Step(Protocol):
    async def apply(self, w: World) -> None: ...


@dataclass(frozen=True)
class NewCustomer:
    owner: str | None
    minute: int

    async def apply(self, w: World) -> None:
        when = at(self.minute)
        await w.repos.customers.create(
            Customer(
                id=w.new_id(Entity.CUSTOMER),
                created_at=when,
                updated_at=when,
                company_name="Co",
                owner_id=self.owner,
            )
        )


@dataclass(frozen=True)
class NewDeal:
    customer: int
    stage: OpportunityStage
    value: Decimal
    probability: int | None
    owner: str | None
    close: date | None
    minute: int

    async def apply(self, w: World) -> None:
        customer = w.pick(Entity.CUSTOMER, self.customer)
        if customer is None:
            return
        when = at(self.minute)
        chance = STAGE_PROBABILITY[self.stage] if self.probability is None else self.probability
        deal = Opportunity(
            id=w.new_id(Entity.OPPORTUNITY),
            created_at=when,
            updated_at=when,
            customer_id=customer,
            title="Deal",
            value=self.value,
            stage=self.stage,
            probability=chance,
            expected_close_date=self.close,
            owner_id=self.owner,
            closed_at=when if self.stage.closed else None,
        )
        await w.repos.opportunities.create(deal)


@dataclass(frozen=True)
class ChangeDeal:
    deal: int
    changes: dict[str, Any]  # Opportunity fields
    minute: int  # when a move into a closed stage happens

    def change(self, o: Opportunity) -> Opportunity:
        """The API's stage rules: a new stage brings its probability unless one is
        given; entering a closed stage stamps closedAt, leaving clears it."""
        new = replace(o, **self.changes)
        if new.stage != o.stage:
            closed_at = (o.closed_at or at(self.minute)) if new.stage.closed else None
            chance = self.changes.get("probability", STAGE_PROBABILITY[new.stage])
            new = replace(new, closed_at=closed_at, probability=chance)
        return new

    async def apply(self, w: World) -> None:
        if (id := w.pick(Entity.OPPORTUNITY, self.deal)) is not None:
            await w.repos.opportunities.update(id, self.change)


@dataclass(frozen=True)
class NewActivity:
    related: int
    on_deal: bool  # else on a customer
    type: ActivityType
    scheduled: int | None
    owner: str | None
    minute: int

    async def apply(self, w: World) -> None:
        kind = Entity.OPPORTUNITY if self.on_deal else Entity.CUSTOMER
        related = w.pick(kind, self.related)
        if related is None:
            return
        when = at(self.minute)
        activity = Activity(
            id=w.new_id(Entity.ACTIVITY),
            created_at=when,
            updated_at=when,
            related_id=related,
            related_type=kind,
            type=self.type,
            subject="Do it",
            owner_id=self.owner,
            scheduled_at=None if self.scheduled is None else at(self.scheduled),
        )
        await w.repos.activities.create(activity)


@dataclass(frozen=True)
class ChangeActivity:
    activity: int
    changes: dict[str, Any]  # Activity fields: completed, rescheduled, reassigned, retyped

    async def apply(self, w: World) -> None:
        if (id := w.pick(Entity.ACTIVITY, self.activity)) is not None:
            await w.repos.activities.update(id, lambda a: replace(a, **self.changes))


@dataclass(frozen=True)
class Delete:
    kind: Entity
    n: int

    async def apply(self, w: World) -> None:
        if (id := w.pick(self.kind, self.n)) is None:
            return
        repos = w.repos
        by_kind: dict[Entity, Repo[Any]] = {
            Entity.CUSTOMER: repos.customers,
            Entity.OPPORTUNITY: repos.opportunities,
            Entity.ACTIVITY: repos.activities,
        }
        repo = by_kind[self.kind]
        with suppress(HasDependents):  # still pointed at: it stays, as the API answers
            await repo.delete(id)
            w.live[self.kind].remove(id)


# -- strategies ---------------------------------------------------------------------
PICK = st.integers(0, 50)  # which record, modulo those that exist
MINUTE = st.integers(0, 120 * 24 * 60)  # four months, across day and quarter boundaries
OWNER = st.sampled_from((*OWNERS, None))
# Money as the API takes it: below 10^15, at most two decimals.
MONEY = st.integers(0, 10**17 - 1).map(lambda cents: Decimal(cents).scaleb(-2))
PROBABILITY = st.none() | st.integers(0, 100)
CLOSE = st.none() | st.dates(date(2026, 2, 20), date(2026, 7, 10))
STAGE = st.sampled_from(OpportunityStage)
DEAL_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "stage": STAGE,
        "value": MONEY,
        "probability": st.integers(0, 100),
        "owner_id": OWNER,
        "expected_close_date": CLOSE,
    },
)
ACTIVITY_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "completed_at": st.none() | MINUTE.map(at),
        "scheduled_at": st.none() | MINUTE.map(at),
        "owner_id": OWNER,
        "type": st.sampled_from(ActivityType),
    },
)
NEW_CUSTOMER = st.builds(NewCustomer, OWNER, MINUTE)
NEW_DEAL = st.builds(NewDeal, PICK, STAGE, MONEY, PROBABILITY, OWNER, CLOSE, MINUTE)
NEW_ACTIVITY = st.builds(
    NewActivity,
    PICK,
    st.booleans(),
    st.sampled_from(ActivityType),
    st.none() | MINUTE,
    OWNER,
    MINUTE,
)
DELETE = st.builds(
    Delete, st.sampled_from([Entity.CUSTOMER, Entity.OPPORTUNITY, Entity.ACTIVITY]), PICK
)
CHANGE_DEAL = st.builds(ChangeDeal, PICK, DEAL_CHANGES, MINUTE)
CHANGE_ACTIVITY = st.builds(ChangeActivity, PICK, ACTIVITY_CHANGES)
# Some records first, so that changes and deletes find something; then any mix,
# changes weighted up (they are what moves aggregates between buckets).
STEPS = st.tuples(
    st.lists(NEW_CUSTOMER, min_size=1, max_size=3),
    st.lists(NEW_DEAL, min_size=1, max_size=5),
    st.lists(NEW_ACTIVITY, max_size=5),
    st.lists(
        st.one_of(
            *[CHANGE_DEAL] * 3,
            *[CHANGE_ACTIVITY] * 2,
            NEW_CUSTOMER,
            NEW_DEAL,
            NEW_ACTIVITY,
            DELETE,
        ),
        min_size=10,
        max_size=40,
    ),
).map(lambda parts: [step for part in parts for step in part])


# -- the check ------------------------------------------------------------------
def counters(buckets: dict[str, dict[str, Decimal]]) -> Series:
    """Stored buckets (shards summed) as bucket -> non-zero counters (a counter that
    went back to zero stays stored as 0; the recomputation never has one)."""
    out: Series = {}
    for bucket, row in buckets.items():
        if nonzero := {k: v for k, v in row.items() if v != 0}:
            out[bucket] = nonzero
    return out


def recomputed(crm: Crm) -> dict[tuple[str, ...], Series]:
    """Every series, brute force from the records (zero counters left out)."""
    deals = crm.opportunities
    series: dict[tuple[str, ...], Series] = {
        ("sales",): sales_series(deals),
        ("leads",): leads_series(deals),
        ("acquisition",): acquisition_series(crm.customers),
        ("activity",): activity_series(crm.activities),
    }
    for owner in (ALL, NOBODY, *(tag(u.id) for u in crm.users)):
        series["pipeline", owner] = pipeline_series(deals, owner)
        series["forecast", owner] = forecast_series(deals, owner)
    return {
        name: {sk: {k: v for k, v in row.items() if v != 0} for sk, row in rows.items()}
        for name, rows in series.items()
    }


async def assert_exact(repos: Repos, settle: Settle) -> None:
    """Once writes settle (the stream consumer has applied them), every series equals
    the recomputation."""
    await settle()
    expected = recomputed(await load_crm(repos))
    for name, series in expected.items():
        stored = counters(await repos.aggregates.buckets(repos.scope.key(*name)))
        assert stored == {sk: row for sk, row in series.items() if row}, name


async def empty(w: World) -> None:
    """Delete every record, dependents first."""
    repos = w.repos
    for repo, kind in (
        (repos.activities, Entity.ACTIVITY),
        (repos.opportunities, Entity.OPPORTUNITY),
        (repos.customers, Entity.CUSTOMER),
    ):
        for id in w.live.pop(kind, []):
            await repo.delete(id)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_aggregates_equal_a_recomputation_after_any_writes(
    db: Services, model: Model, settle: Settle, steps: list[Step]
) -> None:
    w = await new_world(db, model)
    for step in steps:
        await step.apply(w)
    await assert_exact(w.repos, settle)
    # Deleting everything takes every counter back to zero.
    await empty(w)
    await assert_exact(w.repos, settle)


def _deal_changes(rng: random.Random) -> dict[str, Any]:
    return {
        "stage": rng.choice(list(OpportunityStage)),
        "value": Decimal(rng.randrange(10**17)).scaleb(-2),
        "owner_id": rng.choice(OWNERS),
        "expected_close_date": date(2026, 3, 1) + timedelta(days=rng.randrange(90)),
    }


async def test_racing_writers_keep_aggregates_exact(
    db: Services, model: Model, settle: Settle
) -> None:
    """Many writers on the same deals at once: each write moves the aggregates from
    the version it replaced (it is conditioned on it), or loses and moves nothing."""
    w = await new_world(db, model)
    await NewCustomer("u-1", 0).apply(w)
    for n in range(3):
        lead = NewDeal(0, OpportunityStage.LEAD, Decimal("1000.10"), None, "u-1", None, n)
        await lead.apply(w)
    rng = random.Random(7)
    racing = [ChangeDeal(n, _deal_changes(rng), n) for n in range(24)]
    results = await asyncio.gather(*(c.apply(w) for c in racing), return_exceptions=True)
    lost = [r for r in results if r is not None]
    # A writer re-reads after a lost race; only after several does it give up.
    assert all(isinstance(r, VersionConflict) for r in lost), lost
    assert len(lost) < len(racing)
    await assert_exact(w.repos, settle)
