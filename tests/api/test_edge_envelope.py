"""One error body everywhere, and a request id on every response of /graphql.

Failures are caused for real: a registry entry the code cannot read, a store
that refuses a tenant, a client whose DynamoDB endpoint does not listen, a
table deleted under a tenant, bodies no GraphQL server should choke on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from dal.store import Store
from dal.tenancy.scope import Model
from services import Services, open_services
from settings import CacheSettings, Settings
from tests.api.test_edge_limits import serve, with_limits
from tests.api.test_rate_limit import flush, limited
from tests.conftest import PREFIX, Tenants, fresh_tenant, token
from tests.support import errors_of

ME = "query { me { id } }"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
CLOSED_PORT = "http://127.0.0.1:1"  # nothing listens on port 1: connection refused
DEPTH = 100_000
GET_DEPTH = 5_000  # what fits in a URL; as far beyond Python's recursion limit
JSON = {"Content-Type": "application/json"}


def bearer(tenant: str, user: str = "u-admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant, user)}"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error body: data null, one error with a message and a code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "errors"}
    assert body["data"] is None
    [error] = errors_of(body)
    assert isinstance(error["message"], str)
    assert error["extensions"]["code"] == code
    extensions: dict[str, Any] = error["extensions"]
    return extensions


def masked(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A 500 or 503: its request id is in the body and in the header."""
    extensions = envelope(response, status, code)
    assert extensions["requestId"] == response.headers["x-request-id"]
    return extensions


@asynccontextmanager
async def services_at(settings: Settings, dynamodb: str) -> AsyncIterator[Services]:
    """The production clients, their DynamoDB at ``dynamodb``; one attempt per call. No
    cache: what these tests break is DynamoDB, and a cached answer would not ask it."""
    aws = settings.aws.model_copy(update={"dynamodb_endpoint_url": dynamodb, "max_attempts": 1})
    off = CacheSettings(enabled=False)
    async with open_services(settings.model_copy(update={"aws": aws, "cache": off})) as opened:
        yield opened


async def refusals(client: httpx.AsyncClient, tenant: str) -> dict[int, httpx.Response]:
    """One request per refusal the edge makes, each with its own client request id."""

    async def send(status: int, method: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Request-Id": f"r-{status}", **kwargs.pop("headers", {})}
        return await client.request(method, "/graphql", headers=headers, **kwargs)

    auth = bearer(tenant)
    return {
        401: await send(401, "POST", json={"query": ME}),
        405: await send(405, "PUT", json={"query": ME}, headers=auth),
        415: await send(415, "POST", content=ME, headers={"Content-Type": "text/plain"}),
        413: await send(413, "POST", content=b" " * 1_048_577, headers=auth | JSON),
        400: await send(400, "POST", json=[{"query": ME}] * 2, headers=auth),
    }


async def test_every_refusal_carries_the_request_id(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    for status, response in (await refusals(client, tenants.acme)).items():
        assert response.status_code == status, response.text
        assert response.headers.get("x-request-id") == f"r-{status}", status
    generated = await client.post("/graphql", json={"query": ME})
    assert GENERATED_ID.fullmatch(generated.headers.get("x-request-id", ""))


async def test_a_rate_limited_response_carries_the_request_id(
    settings: Settings, db: Services, redis_client: aioredis.Redis, tenants: Tenants
) -> None:
    await flush(redis_client, tenants)
    async with serve(limited(settings, user_burst=1, user_per_second=0.1), db) as client:
        await client.post("/graphql", json={"query": ME}, headers=bearer(tenants.acme))
        headers = bearer(tenants.acme) | {"X-Request-Id": "r-429"}
        refused = await client.post("/graphql", json={"query": ME}, headers=headers)
    envelope(refused, 429, "RATE_LIMITED")
    assert refused.headers["x-request-id"] == "r-429"


async def test_a_json_scalar_body_is_a_bad_request(client: httpx.AsyncClient) -> None:
    headers = bearer(fresh_tenant("scalar")) | {"Content-Type": "application/json"}
    for body in ("5", '"x"', "null", "true"):
        response = await client.post("/graphql", content=body, headers=headers)
        envelope(response, 400, "BAD_REQUEST")
        assert response.headers["x-request-id"]


async def test_a_batch_of_scalars_is_a_bad_request(settings: Settings, db: Services) -> None:
    headers = bearer(fresh_tenant("batch"))
    async with serve(with_limits(settings, max_batch=2), db) as client:
        response = await client.post("/graphql", json=[5, "x"], headers=headers)
    envelope(response, 400, "BAD_REQUEST")


async def test_deeply_nested_variables_are_a_bad_request(client: httpx.AsyncClient) -> None:
    headers = bearer(fresh_tenant("deep")) | {"Content-Type": "application/json"}
    body = '{"query": "{ me { id } }", "variables": {"a": ' + nested(DEPTH) + "}}"
    posted = await client.post("/graphql", content=body, headers=headers)
    envelope(posted, 400, "BAD_REQUEST")
    params = {"query": ME, "variables": '{"a": ' + nested(GET_DEPTH) + "}"}
    got = await client.get("/graphql", params=params, headers=headers)
    envelope(got, 400, "BAD_REQUEST")


# Decodable (under orjson's 1,024 levels and Python's recursion limit), yet deeper than
# anything the schema takes: the Idempotency-Key's digest and the response cache's key
# walked such variables recursively (a 500), before any bound.
DECODABLE = 1_000
CREATE = 'mutation($i: JSON) { createCustomer(input: {companyName: "D", contactInfo: $i}) { id } }'


def _with_variable(query: str, value: str) -> str:
    return '{"query": ' + json.dumps(query) + ', "variables": {"i": ' + value + "}}"


async def test_variables_nested_past_the_bound_are_refused_before_any_walk(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer(fresh_tenant("deep-key")) | JSON
    for query, key in ((CREATE, {"Idempotency-Key": "k-deep"}), (ME, {})):
        body = _with_variable(query, nested(DECODABLE))
        posted = await client.post("/graphql", content=body, headers=headers | key)
        envelope(posted, 400, "BAD_REQUEST")
        assert "nested" in posted.json()["errors"][0]["message"]
    within = _with_variable(ME, nested(40))
    assert (await client.post("/graphql", content=within, headers=headers)).status_code == 200


async def test_an_unreadable_registry_entry_is_a_masked_500(
    client: httpx.AsyncClient, db: Services, caplog: pytest.LogCaptureFixture
) -> None:
    # A tenants-registry item naming a model this code does not know: the
    # context cannot be built, and nobody planned for that.
    tenant = fresh_tenant("corrupt")
    item = {"pk": {"S": tenant}, "model": {"S": "no-such-model"}}
    await db.dynamo_client.put_item(TableName=f"{PREFIX}Tenants", Item=item)
    headers = bearer(tenant) | {"X-Request-Id": "req-corrupt"}
    with caplog.at_level(logging.ERROR, logger="zebros.errors"):
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
    extensions = masked(response, 500, "INTERNAL_SERVER_ERROR")
    assert extensions["requestId"] == "req-corrupt"
    assert response.json()["errors"][0]["message"] == "Internal server error"
    assert "no-such-model" not in response.text
    [record] = [r for r in caplog.records if "req-corrupt" in r.getMessage()]
    assert record.name == "zebros.errors"
    assert record.exc_info is not None


async def test_an_unknown_tenant_is_401(settings: Settings, db: Services) -> None:
    # As production's: a tenant not in the registry is refused, not registered.
    store = Store(db.store.dynamo, table_prefix=PREFIX, cursor_secret=b"x" * 32)
    async with serve(settings, replace(db, store=store)) as client:
        unknown = await client.post(
            "/graphql", json={"query": ME}, headers=bearer(fresh_tenant("nobody"))
        )
    envelope(unknown, 401, "UNAUTHENTICATED")
    assert unknown.json()["errors"][0]["message"] == "unknown tenant"
    assert unknown.headers["www-authenticate"] == "Bearer"


async def test_an_unreachable_store_is_503_while_building_the_context(
    settings: Settings, db: Services
) -> None:
    async with services_at(settings, CLOSED_PORT) as down, serve(settings, down) as client:
        response = await client.post(
            "/graphql", json={"query": ME}, headers=bearer(fresh_tenant("down"))
        )
    extensions = masked(response, 503, "UNAVAILABLE")
    assert isinstance(extensions["retryAfter"], int)
    assert response.headers["retry-after"] == str(extensions["retryAfter"])


async def test_a_table_missing_under_the_context_is_503(
    client: httpx.AsyncClient, db: Services
) -> None:
    # The just-in-time user write needs the Users table: a silo tenant without one.
    silo = fresh_tenant("silo")
    await db.store.tenants.create(silo, Model.SILO)
    repos = db.store.for_tenant(silo, Model.SILO)
    await db.dynamo_client.delete_table(TableName=repos.users.table_name)
    response = await client.post("/graphql", json={"query": ME}, headers=bearer(silo))
    extensions = masked(response, 503, "UNAVAILABLE")
    assert "Users" not in response.text
    assert response.headers["retry-after"] == str(extensions["retryAfter"])
