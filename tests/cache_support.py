"""The cache suite's servers and clients: the app over a Redis of the test's choosing.

``cache_backend`` runs a test once against one Redis node (the shared test
Redis) and once against a local three-node Redis Cluster that the session
starts (tests/redis_servers.py), so every cache path is proven on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from dal.cache.client import Cache
from dal.cache.generations import FIELDS
from server import create_app
from services import Services, open_services
from settings import Settings
from tests.conftest import Tenants, token
from tests.redis_servers import RedisClusterServers
from tests.support import RequestLog


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    with RedisClusterServers() as cluster:
        yield cluster


def on_redis(
    settings: Settings, url: str, *, cluster: bool = False, timeout: float = 0.1, **cache: Any
) -> Settings:
    update = {"url": url, "cluster": cluster, "timeout": timeout}
    redis = settings.redis.model_copy(update=update)
    given = settings.cache.model_copy(update=cache)
    return settings.model_copy(update={"redis": redis, "cache": given})


@dataclass
class Api:
    """An app and its services, and the DynamoDB requests they send."""

    http: httpx.AsyncClient
    services: Services
    log: RequestLog
    tenant: str

    @property
    def cache(self) -> Cache:
        return self.services.cache

    async def post(self, document: str, variables: dict[str, Any] | None = None, **who: Any) -> Any:
        response = await self.send(document, variables, **who)
        assert response.status_code == 200, response.text
        return response.json()

    async def send(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        tenant: str | None = None,
        **who: Any,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token(tenant or self.tenant, **who)}"}
        body = {"query": document, "variables": variables or {}}
        return await self.http.post("/graphql", json=body, headers=headers)

    async def requests(
        self, document: str, variables: dict[str, Any] | None = None, **who: Any
    ) -> tuple[Any, dict[str, int]]:
        """The answer and the DynamoDB requests it cost."""
        self.log.clear()
        body = await self.post(document, variables, **who)
        return body, dict(self.log.counts())

    async def forget(self, tenant: str | None = None) -> None:
        """The tenant's cache forgotten (its epoch bumped): the next reads are cold."""
        assert await self.cache.bump(tenant or self.tenant, FIELDS)


@asynccontextmanager
async def api_on(settings: Settings, tenants: Tenants) -> AsyncIterator[Api]:
    """The app on its own services (its own Redis client, breaker and counters)."""
    async with open_services(settings) as services:
        log = RequestLog()
        services.dynamo_client.meta.events.register("before-send.dynamodb", log.hook)
        transport = httpx.ASGITransport(app=create_app(settings, services))
        async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as http:
            yield Api(http, services, log, tenants.acme)


@pytest_asyncio.fixture(params=["node", "cluster"])
async def api(
    request: pytest.FixtureRequest, settings: Settings, db: Services, tenants: Tenants
) -> AsyncIterator[Api]:
    """The app over one Redis node, then over a three-node Redis Cluster. Redis gets
    1 s to answer (not 0.1 s): on a loaded 2-core machine a reply can take longer
    than 0.1 s, the breaker would open, and a test of what the cache does would
    see DynamoDB answer instead (test_cache_outage.py tests that on purpose)."""
    if request.param == "cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        settings = on_redis(settings, cluster.url, cluster=True, timeout=1.0)
    else:
        settings = on_redis(settings, settings.redis.url, timeout=1.0)
    async with api_on(settings, tenants) as opened:
        yield opened
