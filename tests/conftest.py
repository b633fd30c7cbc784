"""Real servers for the suite: a moto server over HTTP and the Redis the README names.

A missing service fails the run with what to start; nothing is skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from pydantic import SecretStr

import auth
from dal.dynamodb.provision import create_tables
from dal.models import Role
from dal.storage.buckets import create_buckets
from dal.store import Repos
from dal.tenancy.scope import Model
from embedded import EmbeddedAws
from server import create_app
from services import Services, open_services
from settings import Settings
from tests.support import RequestLog

REDIS_URL = os.environ.get("ZEBROS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PREFIX = "test-"
TENANTS = ("acme", "globex")

Gql = Callable[..., Awaitable[dict[str, Any]]]
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = EmbeddedAws()
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def settings(moto_endpoint: str) -> Settings:
    return Settings(
        env="dev",
        aws={
            "endpoint_url": moto_endpoint,
            "access_key_id": "test",
            "secret_access_key": SecretStr("test"),
        },
        dynamo={"table_prefix": PREFIX},
        s3={"bucket_prefix": PREFIX},
        redis={"url": REDIS_URL},
        auth={"jwt_secret": SecretStr(JWT_SECRET)},
    )


@pytest_asyncio.fixture(scope="session")
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(
            f"Redis is not answering at {REDIS_URL} ({exc}). Start one, e.g. "
            "`redis-server --port 6379 --save ''` or `docker run -p 6379:6379 redis:7`, "
            "or point ZEBROS_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    yield client
    await client.aclose()


@pytest_asyncio.fixture(scope="session")
async def services(settings: Settings, redis_client: aioredis.Redis) -> AsyncIterator[Services]:
    async with open_services(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def request_log(services: Services) -> RequestLog:
    """Every HTTP request the DynamoDB client sends, by operation name."""
    log = RequestLog()
    services.dynamo_client.meta.events.register("before-send.dynamodb", log.hook)
    return log


@pytest.fixture(autouse=True)
def no_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every access pattern is a Query or a get: a test that reaches DynamoDB fails
    if any Scan was sent since the last check (its fixtures' setup included)."""
    if "services" not in request.fixturenames:
        yield  # no DynamoDB in this test
        return
    log: RequestLog = request.getfixturevalue("request_log")  # registers the hook
    yield
    scans, log.scans = log.scans, 0
    assert scans == 0, f"{scans} DynamoDB Scan request(s) sent"


@pytest.fixture(params=list(Model), ids=[m.value for m in Model])
def model(request: pytest.FixtureRequest) -> Model:
    """Every test that touches the store runs once per isolation model."""
    chosen: Model = request.param
    return chosen


@pytest_asyncio.fixture
async def db(
    services: Services, moto_endpoint: str, request_log: RequestLog, model: Model
) -> Services:
    """Empty tables and buckets (moto reset, then `zebros init`), and the test tenants
    ``acme`` and ``globex`` provisioned under ``model`` (`zebros tenant create`)."""
    async with httpx.AsyncClient() as http:
        (await http.post(f"{moto_endpoint}/moto-api/reset", timeout=10)).raise_for_status()
    await create_tables(services.dynamo_client, PREFIX)
    await create_buckets(services.s3_client, PREFIX, "us-east-1")
    for tenant in TENANTS:
        await services.store.tenants.create(services.dynamo_client, tenant, model)
    request_log.clear()
    return services


@pytest.fixture
def repos(db: Services, model: Model) -> Repos:
    return db.store.for_tenant("acme", model)


def token(
    tenant: str = "acme", user: str = "u-admin", role: Role = Role.ADMIN, **extra: Any
) -> str:
    return auth.mint(JWT_SECRET, tenant=tenant, user=user, role=role, extra=extra)


@pytest_asyncio.fixture
async def client(db: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as c:
        yield c


@pytest.fixture
def gql(client: httpx.AsyncClient) -> Gql:
    """POST a GraphQL document as a tenant's user; returns the JSON body."""

    async def run(
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        tenant: str = "acme",
        user: str = "u-admin",
        role: Role = Role.ADMIN,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token(tenant, user, role)}"}
        response = await client.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.api.test_isolation_probes import tally

    for model, counts in sorted(tally.items()):
        terminalreporter.write_line(
            f"cross-tenant probes [{model}]: {counts['probes']} probes, {counts['leaks']} leaks"
        )
