"""One filler per cold key, on the real Redis: shared, and not hostage to its first caller."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from dal.cache.client import MISSING, Cache
from dal.cache.flight import Flight
from tests.conftest import fresh_tenant


def _flight(redis_client: aioredis.Redis) -> Flight:
    return Flight(Cache(redis_client, secret=b"test", release="flight"))


async def test_concurrent_callers_share_one_computation(redis_client: aioredis.Redis) -> None:
    flight, runs = _flight(redis_client), []

    async def compute() -> str:
        runs.append(1)
        await asyncio.sleep(0.05)
        return "value"

    async def reread() -> object:
        return MISSING

    key = f"zc.flight:{{{fresh_tenant('f')}}}:k"
    answers = await asyncio.gather(*(flight.run(key, compute, reread) for _ in range(50)))
    assert (set(answers), len(runs)) == ({"value"}, 1)


async def test_a_cancelled_first_caller_does_not_fail_the_others(
    redis_client: aioredis.Redis,
) -> None:
    flight = _flight(redis_client)
    started = asyncio.Event()

    async def compute() -> str:
        started.set()
        await asyncio.sleep(0.1)
        return "value"

    async def reread() -> object:
        return MISSING

    key = f"zc.flight:{{{fresh_tenant('f')}}}:k"
    first = asyncio.ensure_future(flight.run(key, compute, reread))
    await started.wait()
    second = asyncio.ensure_future(flight.run(key, compute, reread))
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "value"
