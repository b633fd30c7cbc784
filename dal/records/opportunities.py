"""Opportunities: codec and repository."""

from __future__ import annotations

from decimal import Decimal

from dal.derived.contributions import Count, Derived
from dal.dynamodb.client import SortCondition
from dal.dynamodb.conditions import Condition, matching
from dal.dynamodb.tables import OPPORTUNITIES
from dal.models import Entity, Opportunity, OpportunityStage, Page
from dal.records.codec import Codec, Ref, choice, day, moment, number, text
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_date, dump_dt

# Opportunities without a close date sort after every dated one.
NO_DATE = "9999-12-31"


def _index_keys(scope: TenantScope, o: Opportunity) -> dict[str, str | None]:
    close = dump_date(o.expected_close_date) if o.expected_close_date else NO_DATE
    closed = o.stage.closed and o.closed_at is not None
    return {
        "tenantKey": scope.key("all"),
        "createdKey": f"{dump_dt(o.created_at)}#{o.id}",
        "customerKey": scope.key(o.customer_id),
        "customerStageKey": scope.key(o.customer_id, o.stage.value),
        "contactKey": scope.key(o.contact_id) if o.contact_id else None,
        "ownerKey": scope.key(o.owner_id) if o.owner_id else None,
        "stageKey": scope.key(o.stage.value),
        "closeKey": f"{close}#{o.id}",
        # Sparse: only closed deals are in byClosed.
        "closedKey": scope.key(o.stage.value) if closed else None,
        "closedSortKey": f"{dump_dt(o.closed_at)}#{o.id}" if closed and o.closed_at else None,
    }


ALL_OWNERS = "*"  # the tenant-wide series next to each owner's
NO_OWNER = "-"


def _figures(pk: str, sk: str, o: Opportunity) -> list[Count]:
    weighted = o.value * o.probability / 100
    return [
        Count(pk, sk, "count", 1),
        Count(pk, sk, "total", o.value),
        Count(pk, sk, "weighted", weighted),
    ]


def _derived(scope: TenantScope, o: Opportunity) -> Derived:
    """Pipeline per stage and forecast per close day (tenant and owner), won deals per
    close day, and leads per creation day with how many were won or lost."""
    counts: list[Count] = []
    for owner in (ALL_OWNERS, o.owner_id or NO_OWNER):
        counts += _figures(scope.key("pipeline", owner), o.stage.value, o)
        if o.expected_close_date and not o.stage.closed:
            counts += _figures(scope.key("forecast", owner), dump_date(o.expected_close_date), o)
    if o.stage is OpportunityStage.CLOSED_WON and o.closed_at:
        day = dump_dt(o.closed_at)[:10]
        counts += [
            Count(scope.key("sales"), day, "dealsWon", 1),
            Count(scope.key("sales"), day, "revenue", o.value),
        ]
    created = dump_dt(o.created_at)[:10]
    counts.append(Count(scope.key("leads"), created, "leads", 1))
    if o.stage.closed:
        outcome = "won" if o.stage is OpportunityStage.CLOSED_WON else "lost"
        counts.append(Count(scope.key("leads"), created, outcome, 1))
    return Derived(counts=tuple(counts))


def _refs(o: Opportunity) -> list[Ref]:
    refs = [Ref(Entity.CUSTOMER, o.customer_id, "customerId")]
    if o.contact_id:
        refs.append(Ref(Entity.CONTACT, o.contact_id, "contactId"))
    if o.owner_id:
        refs.append(Ref(Entity.USER, o.owner_id, "ownerId", counted=False))
    return refs


CODEC = Codec(
    Opportunity,
    OPPORTUNITIES,
    (
        text("customerId", "customer_id"),
        text("contactId", "contact_id"),
        text("title", "title"),
        number("value", "value", Decimal),
        choice("stage", "stage", OpportunityStage),
        number("probability", "probability"),
        day("expectedCloseDate", "expected_close_date"),
        moment("closedAt", "closed_at"),
        text("ownerId", "owner_id"),
    ),
    _index_keys,
    _refs,
    _derived,
)


class OpportunityRepo(Repo[Opportunity]):
    async def find(
        self,
        first: int,
        after: str | None = None,
        *,
        stage: OpportunityStage | None = None,
        owner_id: str | None = None,
        customer_id: str | None = None,
        closing: tuple[str, str] | None = None,
    ) -> Page[Opportunity]:
        """Opportunities matching every given filter (``closing``: ISO dates, inclusive)."""
        index, partition, forward, sort, filter = OpportunityQuery.plan(
            self, stage=stage, owner_id=owner_id, customer_id=customer_id, closing=closing
        )
        return await self.page(
            index, partition, first, after, forward=forward, sort=sort, filter=filter
        )

    async def closed(
        self, stage: OpportunityStage, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        """Won (or lost) deals, most recently closed first."""
        partition = self.scope.key(stage.value)
        return await self.page("byClosed", partition, first, after, forward=False)

    async def newest(self, first: int, after: str | None = None) -> Page[Opportunity]:
        return await self.page("byTenant", self.scope.key("all"), first, after, forward=False)

    async def by_customer(
        self, customer_id: str, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        partition = self.scope.key(customer_id)
        return await self.page("byCustomer", partition, first, after, forward=False)

    async def by_customer_stage(
        self, customer_id: str, stage: OpportunityStage, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        partition = self.scope.key(customer_id, stage.value)
        return await self.page("byCustomerStage", partition, first, after, forward=False)

    async def by_contact(
        self, contact_id: str, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        partition = self.scope.key(contact_id)
        return await self.page("byContact", partition, first, after, forward=False)

    async def by_owner(
        self, owner_id: str, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        return await self.page("byOwner", self.scope.key(owner_id), first, after, forward=False)

    async def by_stage(
        self,
        stage: OpportunityStage,
        first: int,
        after: str | None = None,
        *,
        closing: tuple[str, str] | None = None,
    ) -> Page[Opportunity]:
        """A stage ordered by expected close date, optionally within [from, to] (ISO dates)."""
        sort = None
        if closing is not None:
            # "~" sorts after "#", so every id on the last day is inside the range.
            sort = SortCondition("between", (closing[0], f"{closing[1]}~"))
        partition = self.scope.key(stage.value)
        return await self.page("byStage", partition, first, after, sort=sort)


class OpportunityQuery:
    """Which index serves a filter combination, and what DynamoDB filters on top."""

    @staticmethod
    def plan(
        repo: OpportunityRepo,
        *,
        stage: OpportunityStage | None,
        owner_id: str | None,
        customer_id: str | None,
        closing: tuple[str, str] | None,
    ) -> tuple[str, str, bool, SortCondition | None, Condition | None]:
        key = repo.scope.key
        equals: dict[str, str] = {}
        if owner_id:
            equals["ownerKey"] = key(owner_id)
        ranges = {"expectedCloseDate": closing} if closing else {}
        if stage is not None and customer_id:
            partition = key(customer_id, stage.value)
            return "byCustomerStage", partition, False, None, matching(equals, None, ranges)
        if stage is not None:
            sort = SortCondition("between", (closing[0], f"{closing[1]}~")) if closing else None
            return "byStage", key(stage.value), True, sort, matching(equals)
        if customer_id:
            return "byCustomer", key(customer_id), False, None, matching(equals, None, ranges)
        if owner_id:
            del equals["ownerKey"]
            return "byOwner", key(owner_id), False, None, matching(equals, None, ranges)
        return "byTenant", key("all"), False, None, matching(equals, None, ranges)
