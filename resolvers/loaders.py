"""Per-request dataloaders: one BatchGetItem per entity per tick, one Query per list key.

A nested query therefore costs one round of requests per level of the tree,
whatever the number of parents at that level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiodataloader import DataLoader

from dal.models import Activity, Contact, Customer, Opportunity, OpportunityStage, Page, Record
from dal.records.repo import Repo
from dal.store import Repos

R = TypeVar("R", bound=Record)
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class PageKey:
    """One list of one parent: the loader key of a connection field."""

    parent: str
    first: int
    after: str | None = None
    # Filters are part of the identity: the same parent with another filter is another list.
    stage: OpportunityStage | None = None
    window: tuple[str | None, str | None] = (None, None)


class ById(DataLoader[str, R | None]):
    def __init__(self, repo: Repo[R]) -> None:
        super().__init__()
        self._repo = repo

    async def batch_load_fn(self, ids: Sequence[str]) -> list[R | None]:
        return await self._repo.get_many(ids)

    def prime_all(self, records: Sequence[R]) -> None:
        for record in records:
            self.prime(record.id, record)


class PageLoader(DataLoader[K, Page[R]]):
    """Runs one Query per distinct key of the batch, all at once."""

    def __init__(
        self, fetch: Callable[[K], Awaitable[Page[R]]], primes: ById[R] | None = None
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._primes = primes

    async def batch_load_fn(self, keys: Sequence[K]) -> list[Page[R]]:
        pages = await asyncio.gather(*(self._fetch(k) for k in keys))
        if self._primes is not None:
            for page in pages:
                self._primes.prime_all(page.items)
        return list(pages)


class Loaders:
    """Every loader of one request, named ``x_by_y``."""

    def __init__(self, repos: Repos) -> None:
        self.customer_by_id = ById(repos.customers)
        self.contact_by_id = ById(repos.contacts)
        self.opportunity_by_id = ById(repos.opportunities)
        self.activity_by_id = ById(repos.activities)
        self.user_by_id = ById(repos.users)
        r = repos
        self.contacts_by_customer: PageLoader[PageKey, Contact] = PageLoader(
            lambda k: r.contacts.by_customer(k.parent, k.first, k.after), self.contact_by_id
        )
        self.opportunities_by_customer: PageLoader[PageKey, Opportunity] = PageLoader(
            self._opportunities_of_customer(repos), self.opportunity_by_id
        )
        self.opportunities_by_contact: PageLoader[PageKey, Opportunity] = PageLoader(
            lambda k: r.opportunities.by_contact(k.parent, k.first, k.after),
            self.opportunity_by_id,
        )
        self.activities_by_related: PageLoader[PageKey, Activity] = PageLoader(
            lambda k: r.activities.by_related(k.parent, k.first, k.after, k.window),
            self.activity_by_id,
        )
        self.customers_by_owner: PageLoader[PageKey, Customer] = PageLoader(
            lambda k: r.customers.by_owner(k.parent, k.first, k.after), self.customer_by_id
        )
        self.opportunities_by_owner: PageLoader[PageKey, Opportunity] = PageLoader(
            lambda k: r.opportunities.by_owner(k.parent, k.first, k.after), self.opportunity_by_id
        )
        self.activities_by_owner: PageLoader[PageKey, Activity] = PageLoader(
            lambda k: r.activities.by_owner(k.parent, k.first, k.after, k.window),
            self.activity_by_id,
        )

    @staticmethod
    def _opportunities_of_customer(
        repos: Repos,
    ) -> Callable[[PageKey], Awaitable[Page[Opportunity]]]:
        async def fetch(k: PageKey) -> Page[Opportunity]:
            if k.stage is None:
                return await repos.opportunities.by_customer(k.parent, k.first, k.after)
            return await repos.opportunities.by_customer_stage(k.parent, k.stage, k.first, k.after)

        return fetch
