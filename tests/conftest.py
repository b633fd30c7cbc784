"""Real servers for the suite: DynamoDB Local, a moto server for S3, and the Redis
the README names. A missing service fails the run with what to start; nothing is
skipped.

The stores are set up once per session (tables and buckets). Each test gets
tenants of its own, fresh names, so no test sees another's records and
nothing is reset between tests. A test runs under one isolation model (bridge,
the default) unless it is marked ``isolation``: then once per model.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aioboto3
import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from pydantic import SecretStr

import auth
from dal.dynamodb.client import Dynamo
from dal.dynamodb.provision import create_tables
from dal.models import Role
from dal.storage.buckets import BucketSettings, create_buckets
from dal.store import Repos
from dal.streams.apply import Applier
from dal.streams.archive import Archiver
from dal.streams.changes import Scopes
from dal.streams.consumer import Consumer
from dal.tenancy.registry import TenantRegistry
from dal.tenancy.scope import Model
from embedded import EmbeddedAws
from jobs.worker import Worker
from server import create_app
from services import Services, job_worker, open_services
from settings import MIB, Settings
from tests import aws_actions
from tests.dynamodb_local import DynamoDBLocal, Unavailable
from tests.support import RequestLog

# Every AWS call of the session, as IAM actions: hooked before any client exists.
aws_actions.install()

REDIS_URL = os.environ.get("ZEBROS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PREFIX = "test-"
DEFAULT_MODEL = Model.BRIDGE

Gql = Callable[..., Awaitable[dict[str, Any]]]
# The cache suite's fixtures (a Redis Cluster, the app over a chosen Redis).
pytest_plugins = ["tests.cache_support"]
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
_numbers = itertools.count(1)


LAST = "tests/api/test_aws_actions.py"  # checks the calls of every test before it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.startswith(LAST))  # stable: the rest keep order


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``model``: every model for tests marked ``isolation``, else the default one."""
    if "model" not in metafunc.fixturenames:
        return
    every = metafunc.definition.get_closest_marker("isolation") is not None
    models = list(Model) if every else [DEFAULT_MODEL]
    metafunc.parametrize("model", models, ids=[m.value for m in models], scope="function")


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    server = DynamoDBLocal()
    try:
        url = server.start()
    except Unavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server over HTTP: S3 for the suite, and DynamoDB for the smoke set."""
    server = EmbeddedAws()
    yield server.start()
    server.stop()


def store_settings(dynamodb: str, s3: str) -> Settings:
    return Settings(
        env="dev",
        aws={
            "dynamodb_endpoint_url": dynamodb,
            "s3_endpoint_url": s3,
            "sqs_endpoint_url": s3,  # the moto server serves SQS too
            "access_key_id": "test",
            "secret_access_key": SecretStr("test"),
        },
        dynamo={"table_prefix": PREFIX},
        s3={"bucket_prefix": PREFIX},
        # Small enough that a multipart test moves a few MiB (S3's least part is 5 MiB).
        uploads={
            "max_bytes": 24 * MIB,
            "multipart_threshold_bytes": 5 * MIB,
            "part_bytes": 5 * MIB,
        },
        redis={"url": REDIS_URL},
        auth={"jwt_secret": SecretStr(JWT_SECRET)},
    )


@pytest.fixture(scope="session")
def settings(dynamodb_endpoint: str, moto_endpoint: str) -> Settings:
    return store_settings(dynamodb_endpoint, moto_endpoint)


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
    """The application's clients, and the shared tables and buckets (`zebros init`)."""
    async with open_services(settings) as opened:
        await create_tables(opened.dynamo_client, PREFIX)
        await create_buckets(opened.s3_client, BucketSettings(PREFIX))
        yield opened


@pytest_asyncio.fixture(scope="session")
async def consumer(services: Services) -> AsyncIterator[Consumer]:
    """The stream consumer over the suite's tables; ``settle`` runs it to the end. Its
    DynamoDB client is its own: the requests tests count are the application's."""
    session = aioboto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    url = services.settings.aws.dynamodb_endpoint
    async with session.client("dynamodb", endpoint_url=url) as client:
        own = Dynamo(client)
        registry = TenantRegistry(own, table_prefix=PREFIX)
        scopes = Scopes(registry, PREFIX, services.store.default_time_zone)
        applier = Applier(own, scopes, services.store.cache, Archiver(own, scopes).operations)
        yield Consumer(services.streams_client, applier, PREFIX)


Settle = Callable[[], Awaitable[None]]


@pytest.fixture
def settle(consumer: Consumer) -> Settle:
    """Apply every change committed so far (aggregates, archive copies): "once writes
    settle", as a test of derived data says it."""
    return consumer.settle


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


def fresh_tenant(name: str) -> str:
    """A tenant id no other test of this session uses."""
    return f"{name}-{os.getpid()}-{next(_numbers)}"


@dataclass(frozen=True)
class Tenants:
    """This test's two tenants: ``acme``, where it works, and ``globex``, a neighbour."""

    acme: str
    globex: str


@pytest.fixture
def tenants() -> Tenants:
    return Tenants(fresh_tenant("acme"), fresh_tenant("globex"))


@pytest_asyncio.fixture
async def db(
    services: Services, tenants: Tenants, request_log: RequestLog, model: Model
) -> Services:
    """The test's tenants registered under ``model`` (`zebros tenant create`)."""
    for tenant in (tenants.acme, tenants.globex):
        await services.store.tenants.create(tenant, model)
    request_log.clear()
    return services


@pytest.fixture
def repos(db: Services, tenants: Tenants, model: Model) -> Repos:
    return db.store.for_tenant(tenants.acme, model)


@pytest.fixture
def neighbour(db: Services, tenants: Tenants, model: Model) -> Repos:
    return db.store.for_tenant(tenants.globex, model)


def token(tenant: str, user: str = "u-admin", role: Role = Role.ADMIN, **extra: Any) -> str:
    return auth.mint(JWT_SECRET, tenant=tenant, user=user, role=role, extra=extra)


@pytest_asyncio.fixture
async def client(db: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as c:
        yield c


@pytest.fixture
def gql(client: httpx.AsyncClient, tenants: Tenants) -> Gql:
    """POST a GraphQL document as a tenant's user (acme's by default); the JSON body."""

    async def run(
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        tenant: str | None = None,
        user: str = "u-admin",
        role: Role = Role.ADMIN,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token(tenant or tenants.acme, user, role)}"}
        response = await client.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        body: dict[str, Any] = response.json()
        return body

    return run


@pytest.fixture
def worker(db: Services) -> Worker:
    """The job worker over the suite's clients; a test drives it (``drain``)."""
    return job_worker(db)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The cross-tenant probes fail the run if a model's probes missed an
    (operation, target) pair: then that model proved nothing about the pair."""
    from tests.api.test_isolation_probes import tally

    if session.exitstatus == pytest.ExitCode.OK and any(t.missing() for t in tally.values()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.api.test_isolation_probes import PAIRS, tally

    for model, t in sorted(tally.items()):
        terminalreporter.write_line(
            f"cross-tenant probes [{model}]: {t.probes} probes, {len(t.pairs)} distinct "
            f"(operation, target) pairs of {len(PAIRS)}, {t.leaks} leaks"
        )
        if missing := t.missing():
            terminalreporter.write_line(
                f"cross-tenant probes [{model}]: FAILED, pairs never probed: {missing}", red=True
            )
