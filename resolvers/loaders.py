"""Per-request dataloaders: one BatchGetItem per entity per tick, one Query per list key.

A nested query therefore costs one round of requests per level of the tree,
whatever the number of parents at that level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from aiodataloader import DataLoader

from dal.cache.records import CachedRecords, Source
from dal.cache.session import CacheSession
from dal.models import (
    Activity,
    Contact,
    Customer,
    Document,
    Opportunity,
    OpportunityStage,
    Page,
    Record,
)
from dal.records.activity_query import ActivityQuery, Window
from dal.records.repo import Repo
from dal.store import Repos
from dal.timefmt import dump_dt, load_dt
from resolvers.periods import today, zone_of

R = TypeVar("R", bound=Record)
TODAY_MAX = 100  # activities of one user's day: a list field, not a connection
K = TypeVar("K")
# Entity -> (layer, TTL) of the types cached as records (schema: @cacheControl on a type).
RecordHints = dict[str, tuple[str, float]]


@dataclass(frozen=True, slots=True)
class PageKey:
    """One list of one parent: the loader key of a connection field."""

    parent: str
    first: int
    after: str | None = None
    # Filters are part of the identity: the same parent with another filter is another list.
    stage: OpportunityStage | None = None
    window: Window = field(default_factory=Window)


class ById(DataLoader[str, R | None]):
    def __init__(self, repo: Source[R]) -> None:
        super().__init__()
        self._repo = repo

    async def batch_load_fn(self, ids: Sequence[str]) -> list[R | None]:
        return await self._repo.get_many(ids)

    def prime_all(self, records: Sequence[R]) -> None:
        for record in records:
            self.prime(record.id, record)
        if isinstance(self._repo, CachedRecords):
            self._repo.keep(records)


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


class Lists(DataLoader[str, list[R]]):
    """A whole list per key (a customer's files): one Query per key, all at once."""

    def __init__(self, fetch: Callable[[str], Awaitable[list[R]]]) -> None:
        super().__init__()
        self._fetch = fetch

    async def batch_load_fn(self, keys: Sequence[str]) -> list[list[R]]:
        return list(await asyncio.gather(*(self._fetch(k) for k in keys)))


class Loaders:
    """Every loader of one request, named ``x_by_y``; ``now`` is the request's."""

    def __init__(
        self,
        repos: Repos,
        now: str,
        cache: CacheSession | None = None,
        records: RecordHints | None = None,
    ) -> None:
        self.customer_by_id = ById(_through(cache, records or {}, repos.customers))
        self.contact_by_id = ById(repos.contacts)
        self.opportunity_by_id = ById(repos.opportunities)
        self.activity_by_id = ById(repos.activities)
        self.user_by_id = ById(repos.users)
        r = repos
        self.contacts_by_customer: PageLoader[PageKey, Contact] = PageLoader(
            lambda k: r.contacts.by_customer(k.parent, k.first, k.after), self.contact_by_id
        )
        self.opportunities_by_customer: PageLoader[PageKey, Opportunity] = PageLoader(
            lambda k: r.opportunities.by_customer(k.parent, k.first, k.after, k.stage),
            self.opportunity_by_id,
        )
        self.opportunities_by_contact: PageLoader[PageKey, Opportunity] = PageLoader(
            lambda k: r.opportunities.by_contact(k.parent, k.first, k.after),
            self.opportunity_by_id,
        )
        self.activities_by_related: PageLoader[PageKey, Activity] = PageLoader(
            lambda k: r.activities.by_related(k.parent, now, k.first, k.after, k.window),
            self.activity_by_id,
        )
        self.customers_by_owner: PageLoader[PageKey, Customer] = PageLoader(
            lambda k: r.customers.by_owner(k.parent, k.first, k.after), self.customer_by_id
        )
        self.opportunities_by_owner: PageLoader[PageKey, Opportunity] = PageLoader(
            lambda k: r.opportunities.by_owner(k.parent, k.first, k.after), self.opportunity_by_id
        )
        self.documents_by_customer: Lists[Document] = Lists(r.documents.of_customer)
        self.attachments_by_activity: Lists[Document] = Lists(r.documents.of_activity)
        self.todays_activities_by_user: PageLoader[str, Activity] = PageLoader(
            self._todays(repos, now), self.activity_by_id
        )
        self.activities_by_owner: PageLoader[PageKey, Activity] = PageLoader(
            lambda k: r.activities.by_owner(k.parent, now, k.first, k.after, k.window),
            self.activity_by_id,
        )

    def _todays(self, repos: Repos, now: str) -> Callable[[str], Awaitable[Page[Activity]]]:
        """A user's activities of today in their zone: one Query per user, however
        many times the user appears in the answer."""

        async def fetch(user_id: str) -> Page[Activity]:
            user = await self.user_by_id.load(user_id)
            start, end = today(load_dt(now), zone_of(user.preferences if user else None))
            window = Window(dump_dt(start), dump_dt(end))
            query = ActivityQuery(owner_id=user_id, window=window)
            return await repos.activities.find(query, now, TODAY_MAX)

        return fetch


def _through(cache: CacheSession | None, records: RecordHints, repo: Repo[R]) -> Source[R]:
    """The repository, or the record layer in front of it when its type is cached."""
    entity = repo.codec.entity.value
    if cache is None or entity not in records:
        return repo
    layer, ttl = records[entity]
    return CachedRecords(cache, repo, entity, layer, ttl)
