"""A store that throttles, contends or is missing a table: UNAVAILABLE, HTTP 503, Retry-After.

The throttling is real: an HTTP proxy in front of DynamoDB Local keeps
BatchGetItem keys unprocessed and cancels transactions with
TransactionConflict, past the DAL's retries.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from dal.store import Repos
from dal.tenancy.scope import Model
from services import Services
from settings import Settings
from tests.api.test_edge_envelope import services_at
from tests.api.test_edge_limits import serve
from tests.conftest import Tenants, fresh_tenant, token
from tests.graph import Shape, build
from tests.integration.proxy import UnprocessingProxy
from tests.support import errors_of

ME = "query { me { id } }"
CUSTOMER = 'query { customer(id: "cus_000") { id } }'
CUSTOMERS = "query { customers { edges { node { id } } } }"
CREATE = 'mutation { createCustomer(input: {companyName: "Busy"}) { id } }'


@pytest.fixture
def proxy(dynamodb_endpoint: str) -> Iterator[UnprocessingProxy]:
    with UnprocessingProxy(dynamodb_endpoint, hold=0) as running:
        yield running


@pytest_asyncio.fixture
async def behind_proxy(
    settings: Settings, db: Services, tenants: Tenants, proxy: UnprocessingProxy
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on clients whose DynamoDB is the proxy; the caller already provisioned."""
    async with services_at(settings, proxy.url) as proxied, serve(settings, proxied) as client:
        client.headers["Authorization"] = f"Bearer {token(tenants.acme)}"
        assert (await client.post("/graphql", json={"query": ME})).status_code == 200
        yield client


def unavailable(response: httpx.Response) -> int:
    """The 503 answer: UNAVAILABLE with whole seconds in the body and the header."""
    assert response.status_code == 503, response.text
    [error] = errors_of(response.json())
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    retry_after = error["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    assert response.headers["retry-after"] == str(retry_after)
    return retry_after


async def test_keys_left_unprocessed_past_the_retries_are_503(
    behind_proxy: httpx.AsyncClient, repos: Repos, proxy: UnprocessingProxy
) -> None:
    await build(repos, Shape(customers=1, contacts=0, opportunities=0, activities=0))
    proxy.hold = None  # every BatchGetItem keeps half its keys back, forever
    response = await behind_proxy.post("/graphql", json={"query": CUSTOMER})
    assert unavailable(response) == 1
    assert response.json()["data"] == {"customer": None}  # a field error, as GraphQL has it


async def test_transaction_conflicts_past_the_retries_are_503(
    behind_proxy: httpx.AsyncClient, proxy: UnprocessingProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.conflicts = 1_000
    with caplog.at_level(logging.WARNING, logger="zebros.errors"):
        response = await behind_proxy.post(
            "/graphql", json={"query": CREATE}, headers={"X-Request-Id": "req-busy"}
        )
    unavailable(response)
    assert proxy.transactions >= 2  # the DAL retried before giving up
    assert any("req-busy" in r.getMessage() for r in caplog.records)


async def test_a_table_missing_under_a_resolver_is_503(
    client: httpx.AsyncClient, db: Services
) -> None:
    silo = fresh_tenant("silo")
    await db.store.tenants.create(silo, Model.SILO)
    repos = db.store.for_tenant(silo, Model.SILO)
    await db.dynamo_client.delete_table(TableName=repos.customers.table_name)
    headers = {"Authorization": f"Bearer {token(silo)}"}
    response = await client.post("/graphql", json={"query": CUSTOMERS}, headers=headers)
    unavailable(response)
    assert "Customers" not in response.text
