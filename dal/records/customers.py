"""Customers: codec and the tenant-bound repository with its list queries."""

from __future__ import annotations

from dal.derived import series
from dal.derived.contributions import Count, Derived
from dal.dynamodb.conditions import Condition, matching
from dal.dynamodb.tables import CUSTOMERS
from dal.models import Customer, CustomerTier, Entity, Page
from dal.records import search
from dal.records.codec import Codec, blob, choice, text
from dal.records.refs import Ref
from dal.records.repo import Repo
from dal.records.search import Search, words
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt


def _index_keys(scope: TenantScope, c: Customer) -> dict[str, str | None]:
    return {
        "tenantKey": scope.key("all"),
        "createdKey": f"{dump_dt(c.created_at)}#{c.id}",
        "ownerKey": scope.key(c.owner_id) if c.owner_id else None,
        # Lower-cased so that filters and prefix search ignore case.
        "industryKey": scope.key(c.industry.lower()) if c.industry else None,
        # " acme corp": `contains " corp"` is a word-prefix filter for combined filters.
        "nameWords": " " + " ".join(words(c.company_name)),
    }


def _derived(scope: TenantScope, c: Customer) -> Derived:
    day = series.day(scope.day(c.created_at))
    counts = (Count(series.daily(scope, "acquisition"), day, "newCustomers", 1),)
    return Derived(counts=counts, terms=search.terms(scope, c.id, c.company_name))


def _word_prefix(prefix: str) -> Condition:
    """A filter: some word of the name (or the name) starts with ``prefix``."""
    return Condition(
        "contains(#nw, :nw)", {"#nw": "nameWords"}, {":nw": " " + " ".join(words(prefix))}
    )


def _refs(c: Customer) -> list[Ref]:
    return [Ref(Entity.USER, c.owner_id, "ownerId", counted=False)] if c.owner_id else []


CODEC = Codec(
    Customer,
    CUSTOMERS,
    (
        text("companyName", "company_name"),
        text("industry", "industry"),
        choice("tier", "tier", CustomerTier),
        blob("contactInfo", "contact_info"),
        text("ownerId", "owner_id"),
    ),
    _index_keys,
    _refs,
    _derived,
    referenced=True,
    archived=True,
)


class CustomerRepo(Repo[Customer]):
    async def find(
        self,
        first: int,
        after: str | None = None,
        *,
        owner_id: str | None = None,
        industry: str | None = None,
        name_prefix: str | None = None,
    ) -> Page[Customer]:
        """Customers matching every given filter, via the most selective index.

        One filter is one Query per page; further filters are applied by
        DynamoDB (FilterExpression) on that index's partition.
        """
        equals = {"industryKey": self.scope.key(industry.lower())} if industry else {}
        named = _word_prefix(name_prefix) if name_prefix else None
        if owner_id:
            where = matching(equals, extra=named)
            listing = self.listing("byOwner", self.scope.key(owner_id), forward=False, filter=where)
            return await self.page(listing, first, after)
        if industry:
            partition = self.scope.key(industry.lower())
            where = matching({}, extra=named)
            listing = self.listing("byIndustry", partition, forward=False, filter=where)
            return await self.page(listing, first, after)
        if name_prefix:
            return await self.search(name_prefix, first, after)
        return await self.newest(first, after)

    async def search(self, prefix: str, first: int, after: str | None = None) -> Page[Customer]:
        """Customers with a word (or, for a prefix with a space, the whole name)
        starting with ``prefix``, A-Z, each once (see ``search.py``)."""
        found = await Search(self.dynamo, self.scope, self._cursors).page(prefix, first, after)
        records = await self.get_many(found.ids)
        kept = [(r, c) for r, c in zip(records, found.cursors, strict=False) if r is not None]
        cursors = [c for _, c in kept] + found.cursors[len(found.ids) :]
        return Page([r for r, _ in kept], cursors, has_next=found.has_next)

    async def newest(self, first: int, after: str | None = None) -> Page[Customer]:
        listing = self.listing("byTenant", self.scope.key("all"), forward=False)
        return await self.page(listing, first, after)

    async def by_owner(self, owner_id: str, first: int, after: str | None = None) -> Page[Customer]:
        listing = self.listing("byOwner", self.scope.key(owner_id), forward=False)
        return await self.page(listing, first, after)

    async def by_industry(
        self, industry: str, first: int, after: str | None = None
    ) -> Page[Customer]:
        listing = self.listing("byIndustry", self.scope.key(industry.lower()), forward=False)
        return await self.page(listing, first, after)
