"""Customers: codec and the tenant-bound repository with its list queries."""

from __future__ import annotations

from dal.codec import Codec, Ref, blob, choice, text
from dal.dynamo import SortCondition, matching
from dal.models import Customer, CustomerTier, Entity, Page
from dal.repo import Repo
from dal.tables import CUSTOMERS
from dal.tenancy import TenantScope
from dal.timefmt import dump_dt


def _index_keys(scope: TenantScope, c: Customer) -> dict[str, str | None]:
    return {
        "tenantKey": scope.key("all"),
        "createdKey": f"{dump_dt(c.created_at)}#{c.id}",
        "ownerKey": scope.key(c.owner_id) if c.owner_id else None,
        # Lower-cased so that filters and prefix search ignore case.
        "industryKey": scope.key(c.industry.lower()) if c.industry else None,
        "nameKey": f"{c.company_name.lower()}#{c.id}",
    }


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
        prefixes = {"nameKey": name_prefix.lower()} if name_prefix else {}
        if owner_id:
            return await self.page(
                "byOwner",
                self.scope.key(owner_id),
                first,
                after,
                forward=False,
                filter=matching(equals, prefixes),
            )
        if industry:
            return await self.page(
                "byIndustry",
                self.scope.key(industry.lower()),
                first,
                after,
                forward=False,
                filter=matching({}, prefixes),
            )
        if name_prefix:
            return await self.name_starts_with(name_prefix, first, after)
        return await self.newest(first, after)

    async def newest(self, first: int, after: str | None = None) -> Page[Customer]:
        return await self.page("byTenant", self.scope.key("all"), first, after, forward=False)

    async def by_owner(self, owner_id: str, first: int, after: str | None = None) -> Page[Customer]:
        partition = self.scope.key(owner_id)
        return await self.page("byOwner", partition, first, after, forward=False)

    async def by_industry(
        self, industry: str, first: int, after: str | None = None
    ) -> Page[Customer]:
        partition = self.scope.key(industry.lower())
        return await self.page("byIndustry", partition, first, after, forward=False)

    async def name_starts_with(
        self, prefix: str, first: int, after: str | None = None
    ) -> Page[Customer]:
        sort = SortCondition("begins_with", (prefix.lower(),))
        return await self.page("byName", self.scope.key("all"), first, after, sort=sort)
