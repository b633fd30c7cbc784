"""Redis is never required: stopped, frozen (SIGSTOP), flushed or restarted
during a run, requests answer from DynamoDB with no error, the breaker stops
waiting on a dead Redis, the cache comes back by itself, and a write whose
invalidation could not reach Redis is paid for (the tenant's cache forgotten)
before anything of that tenant is read from the cache again.

Each test runs its own redis-server (tests/redis_servers.py); the shared one
is never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from dal.cache.keys import Layer
from services import Services
from settings import Settings
from tests.cache_support import Api, api_on, on_redis
from tests.conftest import Tenants
from tests.redis_servers import RedisServer

PAUSE_S = 0.5  # the breaker's pause, short so the tests see it close again
REQUESTS = 20
CUSTOMER = "query($id: ID!) { customer(id: $id) { id tier } }"
TIER = "query($id: ID!) { customer(id: $id) { tier } }"
CREATE = 'mutation { createCustomer(input: {companyName: "Outage"}) { id } }'
UPDATE = "mutation($id: ID!) { updateCustomer(id: $id, input: {tier: PREMIUM}) { id } }"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest_asyncio.fixture
async def api(
    settings: Settings, db: Services, tenants: Tenants, redis_server: RedisServer
) -> AsyncIterator[Api]:
    given = on_redis(settings, redis_server.url, breaker_pause_seconds=PAUSE_S)
    async with api_on(given, tenants) as opened:
        yield opened


async def _created(api: Api) -> str:
    body = await api.post(CREATE)
    return str(body["data"]["createCustomer"]["id"])


async def _back(api: Api) -> None:
    """Past the breaker's pause: the next call tries Redis again."""
    await asyncio.sleep(PAUSE_S * 1.5)


async def test_a_stopped_redis_costs_no_error_and_one_attempt(
    api: Api, redis_server: RedisServer
) -> None:
    id = await _created(api)
    await api.post(CUSTOMER, {"id": id})
    port = redis_server.port
    redis_server.stop()
    for _ in range(REQUESTS):
        body, sent = await api.requests(CUSTOMER, {"id": id})
        assert body == {"data": {"customer": {"id": id, "tier": "STANDARD"}}}
        assert sent == {"BatchGetItem": 1}  # from DynamoDB
    # Each failed attempt opened the breaker, and while it was open requests did
    # not try Redis: far fewer attempts than requests (one per pause, at most).
    errors = api.cache.stats.get("generations", "error")
    assert errors == api.cache.breaker.opened
    assert 1 <= errors < REQUESTS / 2
    redis_server.start(port)
    await _back(api)
    await api.post(CUSTOMER, {"id": id})
    _, sent = await api.requests(CUSTOMER, {"id": id})
    assert sent == {}  # the cache came back by itself


async def test_a_frozen_redis_times_out_once_then_is_left_alone(
    api: Api, redis_server: RedisServer
) -> None:
    id = await _created(api)
    redis_server.pause()
    try:
        answers = [await api.post(CUSTOMER, {"id": id}) for _ in range(5)]
    finally:
        redis_server.resume()
    assert all(a["data"]["customer"]["id"] == id for a in answers)
    assert 1 <= api.cache.breaker.opened < len(answers)
    await _back(api)
    await api.post(TIER, {"id": id})
    _, sent = await api.requests(TIER, {"id": id})
    assert sent == {}


async def test_a_flushed_redis_starts_cold_and_correct(api: Api) -> None:
    id = await _created(api)
    await api.post(CUSTOMER, {"id": id})
    await api.cache.redis.flushall()
    body, sent = await api.requests(CUSTOMER, {"id": id})
    assert body["data"]["customer"]["id"] == id
    assert sent == {"BatchGetItem": 1}
    assert api.cache.stats.get("generations", "error") == 0


async def test_a_write_while_redis_is_down_is_not_lost_when_it_returns(
    api: Api, redis_server: RedisServer
) -> None:
    """The stale entry survives in Redis; the owed bump makes sure it is never served."""
    id = await _created(api)
    await api.post(TIER, {"id": id})  # the record and this answer are cached
    redis_server.pause()
    try:
        await api.post(UPDATE, {"id": id})  # its invalidation cannot land
    finally:
        redis_server.resume()
    await _back(api)
    body = await api.post(TIER, {"id": id})
    assert body["data"]["customer"]["tier"] == "PREMIUM"
    assert api.cache.stats.get("epoch", "invalidation") == 1


async def test_a_restarted_redis_is_used_again(api: Api, redis_server: RedisServer) -> None:
    id = await _created(api)
    redis_server.restart()
    await api.post(CUSTOMER, {"id": id})  # the first call meets the closed connection
    await _back(api)
    await api.post(CUSTOMER, {"id": id})
    hits = api.cache.stats.get(Layer.RESPONSE, "hit")
    _, sent = await api.requests(CUSTOMER, {"id": id})
    assert sent == {}
    assert api.cache.stats.get(Layer.RESPONSE, "hit") == hits + 1
