"""Where each aggregate counter lives: the one place that spells their keys.

A series is one partition of the Aggregates table (``{tenant}#{name}``), so a
report reads it with one Query. Its buckets are sort keys: a stage, or a day
in the tenant's reporting time zone (``2026-11-24``), with the owner after the
day where a report groups by user.

Every bucket is split into ``SHARDS`` items (``{bucket}#{shard}``): a write
adds to one shard picked at random, a report sums them. Why: each deal write
adds to the same few buckets (its stage's pipeline, today's leads), and two
transactions that touch one item at once make DynamoDB cancel one of them;
with the counters spread over shards, concurrent writers of one tenant
mostly miss each other. Sums do not care which shard a contribution went to,
so a write may move a record's contribution from one shard to another.

Owners are ``u:{id}``, the tenant-wide series ``all``, records without an
owner ``none``: tags no user id can spell, so no user's figures can merge with
the totals (a user id may be ``-`` or ``*``).
"""

from __future__ import annotations

from datetime import date

from dal.tenancy.scope import TenantScope

SHARDS = 8
ALL = "all"
NONE = "none"
_SHARD_WIDTH = 3  # "#07"


def owner(owner_id: str | None) -> str:
    return NONE if owner_id is None else f"u:{owner_id}"


def owner_of(part: str) -> str | None:
    """The user id an owner tag names; None for records without an owner."""
    return part[2:] if part.startswith("u:") else None


def pipeline(scope: TenantScope, who: str) -> str:
    return scope.key("pipeline", who)


def forecast(scope: TenantScope, who: str) -> str:
    return scope.key("forecast", who)


def daily(scope: TenantScope, name: str) -> str:
    """sales, leads, acquisition and activity: one bucket per day."""
    return scope.key(name)


def day(d: date) -> str:
    return d.isoformat()


def day_of_owner(d: date, owner_id: str | None) -> str:
    return f"{d.isoformat()}#{owner(owner_id)}"


def split_day_owner(bucket: str) -> tuple[date, str | None]:
    when, _, who = bucket.partition("#")
    return date.fromisoformat(when), owner_of(who)


def sharded(bucket: str, shard: int) -> str:
    return f"{bucket}#{shard:02d}"


def unsharded(sort_key: str) -> str:
    return sort_key[:-_SHARD_WIDTH]
