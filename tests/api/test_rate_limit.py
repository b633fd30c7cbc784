"""Rate limits per tenant and per user: token buckets in the suite's real Redis.

Each test runs a fresh app with low limits and empties the buckets it uses
first. Fail-open is tested against real servers that do not answer: a port
where nothing listens, and a socket that accepts and then stays silent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

import services as services_module
from dal.cache.breaker import Breaker
from dal.cache.client import MISSING, Cache, Client
from dal.cache.ratelimit import Rate, RateLimiter, keys
from services import Services
from settings import RedisSettings, Settings
from tests.api.test_edge_limits import serve
from tests.conftest import Tenants, token

ME = "query { me { id } }"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def limited(settings: Settings, **rates: Any) -> Settings:
    rate_limit = settings.rate_limit.model_copy(update={"enabled": True, **rates})
    return settings.model_copy(update={"rate_limit": rate_limit})


async def flush(redis: aioredis.Redis, tenants: Tenants) -> None:
    """Fresh tenants have no buckets yet; emptied anyway, so a rerun starts full."""
    users = [(tenants.acme, u) for u in ("u-admin", "u-1", "u-2")] + [(tenants.globex, "u-admin")]
    await redis.delete(*(key for pair in users for key in keys(*pair)))


async def me(client: httpx.AsyncClient, tenant: str, user: str = "u-admin") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(tenant, user)}"}
    return await client.post("/graphql", json={"query": ME}, headers=headers)


def remaining(response: httpx.Response) -> int:
    return int(response.headers["ratelimit-remaining"])


@asynccontextmanager
async def unreachable(url: str) -> AsyncIterator[Client]:
    """The production client (its short timeouts) pointed at ``url``."""
    client = services_module.redis_client(Settings(redis=RedisSettings(url=url)))
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers: a hung Redis."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_every_authenticated_response_carries_ratelimit_headers(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(limited(settings, user_burst=5, user_per_second=1), db) as client:
        first, second = await me(client, tenants.acme), await me(client, tenants.acme)
        unauthenticated = await client.post("/graphql", json={"query": ME})
    assert first.headers["ratelimit-limit"] == "5"
    assert (remaining(first), remaining(second)) == (4, 3)
    assert 1 <= int(second.headers["ratelimit-reset"]) <= 2
    assert "ratelimit-limit" not in unauthenticated.headers


async def test_a_user_out_of_tokens_gets_429_with_retry_after(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(limited(settings, user_burst=2, user_per_second=0.2), db) as client:
        allowed = [await me(client, tenants.acme) for _ in range(2)]
        refused = await me(client, tenants.acme)
    assert [r.status_code for r in allowed] == [200, 200]
    assert refused.status_code == 429
    body = refused.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry_after = error["extensions"]["retryAfter"]
    assert 1 <= retry_after <= 5
    assert refused.headers["retry-after"] == str(retry_after)
    assert remaining(refused) == 0


async def test_the_tenant_bucket_is_shared_by_its_users_only(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    rates = {"tenant_burst": 3, "tenant_per_second": 0.2, "user_burst": 10}
    async with serve(limited(settings, **rates), db) as client:
        served = [await me(client, tenants.acme, user) for user in ("u-admin", "u-1", "u-2")]
        refused = await me(client, tenants.acme, "u-1")
        elsewhere = await me(client, tenants.globex, "u-admin")
    assert [r.status_code for r in served] == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "3"  # the tenant's bucket is the nearer
    assert elsewhere.status_code == 200


async def test_tokens_come_back_at_the_configured_rate(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(limited(settings, user_burst=1, user_per_second=20), db) as client:
        assert (await me(client, tenants.acme)).status_code == 200
        started = time.monotonic()
        while (await me(client, tenants.acme)).status_code == 429:
            assert time.monotonic() - started < 1, "no token came back within 1 s"


async def test_buckets_are_keyed_by_tenant_and_expire(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(limited(settings), db) as client:
        await me(client, tenants.acme)
    for key in keys(tenants.acme, "u-admin"):
        assert 0 < await redis_client.pttl(key) <= 3_000, key
    assert keys("acme", "u-admin") == ("rl:{acme}", "rl:{acme}:u-admin")


async def test_on_in_prod_and_off_in_dev_by_default(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(settings.model_copy(update={"env": "prod"}), db) as client:
        in_prod = await me(client, tenants.acme)
    async with serve(settings, db) as client:
        in_dev = await me(client, tenants.acme)
    assert in_prod.headers["ratelimit-limit"] == "20"  # a user's default burst
    assert "ratelimit-limit" not in in_dev.headers


async def test_the_limiter_fails_open_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(Rate(1, 1), Rate(1, 1), warn_every=60, pause=0)
    with caplog.at_level(logging.WARNING, logger="zebros.ratelimit"):
        async with unreachable(DEAD_REDIS) as dead:
            verdicts = [await limiter.check(dead, "acme", "u-admin") for _ in range(3)]
    assert verdicts == [None, None, None]
    assert len(caplog.records) == 1
    assert "requests pass unlimited" in caplog.records[0].getMessage()


async def test_a_hung_redis_costs_one_timeout_then_nothing() -> None:
    limiter = RateLimiter(Rate(1, 1), Rate(1, 1), pause=60)
    async with silent_server() as url, unreachable(url) as hung:
        started = time.monotonic()
        assert await limiter.check(hung, "acme", "u-admin") is None
        first = time.monotonic() - started
        started = time.monotonic()
        assert await limiter.check(hung, "acme", "u-admin") is None
        second = time.monotonic() - started
    assert first < 1  # two 100 ms attempts, not redis-py's default minute
    assert second < 0.01  # paused: Redis is not asked again


async def test_requests_pass_unlimited_when_redis_is_down(
    settings: Settings, db: Services, tenants: Tenants
) -> None:
    async with unreachable(DEAD_REDIS) as dead:
        down = dataclasses.replace(db, redis=dead)
        async with serve(limited(settings, user_burst=1, user_per_second=0.1), down) as client:
            responses = [await me(client, tenants.acme) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("ratelimit-limit" not in r.headers for r in responses)


class DroppedConnection:
    """A Redis client failing as redis-py's cluster client has on a connection another
    task dropped (dal/cache/breaker.py, OUTAGE): AttributeError, no RedisError. A
    stand-in for a failure only: it answers nothing, so no success is faked."""

    async def evalsha(self, *args: Any) -> Any:
        raise AttributeError("'NoneType' object has no attribute 'send_packed_command'")

    async def eval(self, *args: Any) -> Any:
        return await self.evalsha(*args)

    async def get(self, *args: Any) -> Any:
        return await self.evalsha(*args)


async def test_any_failure_the_cache_counts_as_an_outage_fails_open(
    settings: Settings, db: Services, tenants: Tenants
) -> None:
    broken: Any = DroppedConnection()
    limiter = RateLimiter(Rate(1, 1), Rate(1, 1), pause=0)
    assert await limiter.check(broken, tenants.acme, "u-admin") is None
    # The cache reads through the same client as a miss: one definition of an outage.
    cache = Cache(broken, secret=b"k" * 32, release="r", breaker=Breaker(pause=0))
    assert await cache.call("values", lambda: broken.get("k")) is MISSING
    down = dataclasses.replace(db, redis=broken)
    async with serve(limited(settings, user_burst=1, user_per_second=0.1), down) as client:
        responses = [await me(client, tenants.acme) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200], responses[0].text
