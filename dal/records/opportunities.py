"""Opportunities: codec and repository."""

from __future__ import annotations

from decimal import Decimal

from dal import money
from dal.derived import series
from dal.derived.contributions import Count, Derived
from dal.dynamodb.client import SortCondition
from dal.dynamodb.conditions import matching
from dal.dynamodb.tables import OPPORTUNITIES
from dal.models import Entity, Opportunity, OpportunityStage, Page
from dal.records.codec import Codec, choice, day, moment, number, text
from dal.records.pages import Listing
from dal.records.refs import Ref
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
        "contactKey": scope.key(o.contact_id) if o.contact_id else None,
        "ownerKey": scope.key(o.owner_id) if o.owner_id else None,
        "stageKey": scope.key(o.stage.value),
        "closeKey": f"{close}#{o.id}",
        # Sparse: only closed deals are in byClosed.
        "closedKey": scope.key(o.stage.value) if closed else None,
        "closedSortKey": f"{dump_dt(o.closed_at)}#{o.id}" if closed and o.closed_at else None,
    }


def _figures(pk: str, sk: str, o: Opportunity) -> list[Count]:
    return [
        Count(pk, sk, "count", 1),
        Count(pk, sk, "total", o.value),
        Count(pk, sk, "weighted", money.weighted(o.value, o.probability)),
    ]


def _derived(scope: TenantScope, o: Opportunity) -> Derived:
    """Pipeline per stage and forecast per close date (tenant-wide and the owner's),
    won deals per close day, and leads per creation day with how many were won or
    lost; days are the tenant's (its reporting time zone)."""
    counts: list[Count] = []
    for who in (series.ALL, series.owner(o.owner_id)):
        counts += _figures(series.pipeline(scope, who), o.stage.value, o)
        if o.expected_close_date and not o.stage.closed:
            close = series.day(o.expected_close_date)
            counts += _figures(series.forecast(scope, who), close, o)
    if o.stage is OpportunityStage.CLOSED_WON and o.closed_at:
        won = series.day(scope.day(o.closed_at))
        sales = series.daily(scope, "sales")
        counts += [Count(sales, won, "dealsWon", 1), Count(sales, won, "revenue", o.value)]
    leads, created = series.daily(scope, "leads"), series.day(scope.day(o.created_at))
    counts.append(Count(leads, created, "leads", 1))
    if o.stage.closed:
        outcome = "won" if o.stage is OpportunityStage.CLOSED_WON else "lost"
        counts.append(Count(leads, created, outcome, 1))
    return Derived(counts=tuple(counts))


def _refs(o: Opportunity) -> list[Ref]:
    refs = [Ref(Entity.CUSTOMER, o.customer_id, "customerId")]
    if o.contact_id:
        of_customer = (("customerId", o.customer_id),)
        problem = "must name a contact of the same customer"
        refs.append(
            Ref(Entity.CONTACT, o.contact_id, "contactId", where=of_customer, problem=problem)
        )
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
    referenced=True,
    archived=True,
    about=lambda o: o.contact_id,
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
        listing = self._plan(stage, owner_id, customer_id, closing)
        return await self.page(listing, first, after)

    def _plan(
        self,
        stage: OpportunityStage | None,
        owner_id: str | None,
        customer_id: str | None,
        closing: tuple[str, str] | None,
    ) -> Listing:
        """The narrowest index for the filters; DynamoDB filters the rest."""
        key = self.scope.key
        owner = {"ownerKey": key(owner_id)} if owner_id else {}
        ranges = {"expectedCloseDate": closing} if closing else {}
        if customer_id:
            staged = owner | ({"stage": stage.value} if stage else {})
            where = matching(staged, None, ranges)
            return self.listing("byCustomer", key(customer_id), forward=False, filter=where)
        if stage is not None:
            sort = _closing(closing) if closing else None
            return self.listing("byStage", key(stage.value), sort=sort, filter=matching(owner))
        if owner_id:
            where = matching({}, None, ranges)
            return self.listing("byOwner", key(owner_id), forward=False, filter=where)
        where = matching({}, None, ranges)
        return self.listing("byTenant", key("all"), forward=False, filter=where)

    async def closed(
        self, stage: OpportunityStage, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        """Won (or lost) deals, most recently closed first."""
        listing = self.listing("byClosed", self.scope.key(stage.value), forward=False)
        return await self.page(listing, first, after)

    async def newest(self, first: int, after: str | None = None) -> Page[Opportunity]:
        return await self.find(first, after)

    async def by_customer(
        self,
        customer_id: str,
        first: int,
        after: str | None = None,
        stage: OpportunityStage | None = None,
    ) -> Page[Opportunity]:
        """A customer's deals, newest first; in one stage: the same index, filtered
        (a customer has few deals, so an index per stage would cost more than it saves)."""
        return await self.find(first, after, customer_id=customer_id, stage=stage)

    async def by_contact(
        self, contact_id: str, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        return await self.page(self._of_contact(contact_id), first, after)

    async def all_of_contact(self, contact_id: str) -> list[Opportunity]:
        return await self.every(self._of_contact(contact_id))

    def _of_contact(self, contact_id: str) -> Listing:
        return self.listing("byContact", self.scope.key(contact_id), forward=False)

    async def by_owner(
        self, owner_id: str, first: int, after: str | None = None
    ) -> Page[Opportunity]:
        return await self.find(first, after, owner_id=owner_id)

    async def by_stage(
        self,
        stage: OpportunityStage,
        first: int,
        after: str | None = None,
        *,
        closing: tuple[str, str] | None = None,
    ) -> Page[Opportunity]:
        """A stage ordered by expected close date, optionally within [from, to] (ISO dates)."""
        return await self.find(first, after, stage=stage, closing=closing)


def _closing(closing: tuple[str, str]) -> SortCondition:
    # "~" sorts after "#", so every id on the last day is inside the range.
    return SortCondition("between", (closing[0], f"{closing[1]}~"))
