"""What the logs say in dev: a request line a person can read, and which Redis is used."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import httpx
import pytest

import embedded
from observe.logs import formatter
from services import redis_client
from settings import RedisSettings, Settings
from tests.conftest import REDIS_URL, Tenants, token

ME = "query { me { id } }"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


async def test_a_dev_request_line_says_method_path_status_and_time(
    client: httpx.AsyncClient, tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {token(tenants.acme)}"}
    with caplog.at_level(logging.INFO, logger="zebros.request"):
        await client.post("/graphql", json={"query": ME}, headers=headers)
    [record] = [r for r in caplog.records if r.name == "zebros.request"]
    line = formatter("text").format(record)  # what `zebros serve` prints in dev
    assert re.search(r" request .*method=POST path=/graphql .*status=200 ", line), line
    assert re.search(r" duration_ms=\d+(\.\d+)?( |$)", line), line


async def test_embedded_mode_says_whether_the_real_redis_or_the_fake_is_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="zebros"):
        real = await embedded.reachable_redis(
            redis_client(Settings(redis=RedisSettings(url=REDIS_URL)))
        )
        dead = redis_client(Settings(redis=RedisSettings(url=DEAD_REDIS)))
        assert await embedded.reachable_redis(dead) is None
        fake = embedded.fake_redis()
    assert real is not None
    await real.aclose()
    await fake.aclose()
    said = [r.getMessage() for r in caplog.records if r.name == "zebros"]
    url = urlsplit(REDIS_URL)
    where = f"{url.hostname}:{url.port or 6379}/{url.path.strip('/') or 0}"
    assert said[0] == f"cache: Redis at {where} answers, the real one is used (embedded mode)"
    assert said[1:] == ["Redis not reachable: using an in-process fake (embedded mode)"]
