"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import strawberry

from auth import Principal
from dal.cache.session import CacheSession
from dal.store import Repos
from dal.timefmt import dump_dt, utcnow
from resolvers.loaders import Loaders, RecordHints


@dataclass(frozen=True, slots=True)
class PageLimits:
    default: int = 20
    maximum: int = 100


@dataclass
class Context:
    request_id: str
    principal: Principal
    repos: Repos
    loaders: Loaders
    limits: PageLimits = field(default_factory=PageLimits)
    # One "now" per request, so every field of one answer agrees on what is overdue.
    now: datetime = field(default_factory=utcnow)
    # The caller's permissions once read (policy.py): None until then.
    permissions: tuple[str, ...] | None = None
    # The request's view of the cache; None when caching is off.
    cache: CacheSession | None = None
    # Personal fields read, per (entity, id), for a tenant that audits reads.
    reads: dict[tuple[str, str], set[str]] = field(default_factory=dict)


def build_context(
    request_id: str,
    principal: Principal,
    repos: Repos,
    limits: PageLimits,
    cache: CacheSession | None = None,
    records: RecordHints | None = None,
) -> Context:
    now = utcnow()
    loaders = Loaders(repos, dump_dt(now), cache, records or {})
    return Context(request_id, principal, repos, loaders, limits, now, cache=cache)


Info = strawberry.Info[Context, None]
