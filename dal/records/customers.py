"""Customers: codec and the tenant-bound repository with its list queries."""

from __future__ import annotations

import re

from dal.derived.contributions import Count, Derived, Term
from dal.dynamodb.client import SortCondition
from dal.dynamodb.conditions import Condition, matching
from dal.dynamodb.items import Item
from dal.dynamodb.tables import CUSTOMERS, KEY, SEARCH_TERMS, SORT
from dal.models import Customer, CustomerTier, Entity, Page
from dal.records.codec import Codec, Ref, blob, choice, text
from dal.records.repo import MAX_FILTERED_CALLS, Repo
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


MAX_TERMS = 12  # words of a name that are searchable (a transaction holds 100 writes)
# Two partitions, so each customer appears at most once per search: single words,
# and whole names of several words (a prefix with a space searches those).
WORDS, NAMES = "customer-words", "customer-names"


def words(text: str) -> list[str]:
    """Lower-cased words, first occurrence only: how names and prefixes are compared."""
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


# Ends a term in its sort key: below " ", so "acme corp" sorts before "acme corp europe".
END = "\x1f"


def _terms(scope: TenantScope, c: Customer) -> tuple[Term, ...]:
    """Each word of the name, and the whole name when it has several."""
    found = words(c.company_name)
    terms = [Term(scope.key(WORDS), f"{w}{END}{c.id}", c.id) for w in found[:MAX_TERMS]]
    if len(found) > 1:
        terms.append(Term(scope.key(NAMES), f"{' '.join(found)}{END}{c.id}", c.id))
    return tuple(terms)


def _listed_here(c: Customer, term: str, sort_key: str) -> bool:
    """Whether this word is the customer's first (A-Z) starting with ``term``: a search
    lists a customer at that word only, so once across all pages."""
    matching = (w for w in words(c.company_name)[:MAX_TERMS] if w.startswith(term))
    return sort_key.split(END)[0] == min(matching, default="")


def _derived(scope: TenantScope, c: Customer) -> Derived:
    day = dump_dt(c.created_at)[:10]
    acquired = Count(scope.key("acquisition"), day, "newCustomers", 1)
    return Derived(counts=(acquired,), terms=_terms(scope, c))


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
            partition = self.scope.key(owner_id)
            return await self.page(
                "byOwner",
                partition,
                first,
                after,
                forward=False,
                filter=matching(equals, extra=named),
            )
        if industry:
            partition = self.scope.key(industry.lower())
            return await self.page(
                "byIndustry",
                partition,
                first,
                after,
                forward=False,
                filter=matching({}, extra=named),
            )
        if name_prefix:
            return await self.search(name_prefix, first, after)
        return await self.newest(first, after)

    async def search(self, prefix: str, first: int, after: str | None = None) -> Page[Customer]:
        """Customers with a word (or, for a prefix with a space, the whole name)
        starting with ``prefix``, A-Z: one Query on the terms, one BatchGetItem.

        A name with two words starting with the prefix has two terms; it is listed
        at the first only, so it appears once across all pages. The Query reads up
        to ``2 * first + 1`` terms so that such repeats rarely cost a second round."""
        term = " ".join(words(prefix))
        if not term:  # no letter or digit: nothing can start with it
            return Page([])
        partition = self.scope.key(NAMES if " " in term else WORDS)
        position = self._open_cursor("SearchTerms", KEY, partition, after)
        kept: list[tuple[Customer, Item]] = []
        for _ in range(MAX_FILTERED_CALLS):
            items, position = await self.dynamo.query(
                self.scope.table(SEARCH_TERMS.entity),
                None,
                (KEY, partition),
                sort=(SORT, SortCondition("begins_with", (term,))),
                limit=2 * first + 1,
                start=position,
            )
            kept += await self._listed(term, items)
            if len(kept) > first or position is None:
                break
        cursors = [self._cursor("SearchTerms", {KEY: i[KEY], SORT: i[SORT]}) for _, i in kept]
        has_next = len(kept) > first or position is not None
        return Page([c for c, _ in kept[:first]], cursors[:first], has_next=has_next)

    async def _listed(self, term: str, items: list[Item]) -> list[tuple[Customer, Item]]:
        """The customers of a page of terms, each at the term where it is listed."""
        found = await self.get_many([str(i["targetId"]) for i in items]) if items else []
        return [
            (c, i)
            for c, i in zip(found, items, strict=True)
            if c is not None and (" " in term or _listed_here(c, term, str(i[SORT])))
        ]

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
