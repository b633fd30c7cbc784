"""The edge over HTTP: document limits, batches, CSRF checks and prod's hidden schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from graphql import get_introspection_query

from server import create_app
from services import Services
from settings import Settings
from tests.conftest import fresh_tenant, token
from tests.support import RequestLog, codes, errors_of

ME = "query { me { id } }"
CUSTOMERS = "query { customers { edges { node { id } } } }"
CREATE = 'mutation { createCustomer(input: {id: "cus_get", companyName: "Via GET"}) { id } }'
CUSTOMER = 'query { customer(id: "cus_get") { id } }'
COSTLY = """
query($n: Int) {
  customers(first: $n) { edges { node {
    contacts(first: $n) { edges { node {
      opportunities(first: $n) { edges { node { id } } }
    } } }
  } } }
}
"""
DEEP = "query { me { " + "customers { edges { node { owner { " * 4 + "id" + " } } } }" * 4 + " } }"
ALIASES = "query { " + " ".join(f"a{i}: me {{ id }}" for i in range(16)) + " }"
ROOT_FIELDS = "query { " + "me { id } " * 21 + "}"
TYPO = "query { me { usrname } }"
INTROSPECTION = get_introspection_query()
# One tenant for the module: these tests are about the edge, not the data.
AUTH = {"Authorization": f"Bearer {token(fresh_tenant('edge'))}"}


@asynccontextmanager
async def serve(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app on changed settings, over the services of the suite."""
    transport = httpx.ASGITransport(app=create_app(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as client:
        yield client


def with_limits(settings: Settings, **limits: Any) -> Settings:
    return settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})


def prod(settings: Settings, **limits: Any) -> Settings:
    # Rate limits (on in prod) are tested in test_rate_limit.py.
    rate_limit = settings.rate_limit.model_copy(update={"enabled": False})
    return with_limits(settings, **limits).model_copy(
        update={"env": "prod", "rate_limit": rate_limit}
    )


async def post(client: httpx.AsyncClient, body: object) -> httpx.Response:
    return await client.post("/graphql", json=body, headers=AUTH)


def too_complex(response: httpx.Response, metric: str) -> dict[str, Any]:
    """The refusal's extensions for ``metric``; a refusal runs nothing."""
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert set(codes(body)) == {"QUERY_TOO_COMPLEX"}
    found: list[dict[str, Any]] = [e["extensions"] for e in errors_of(body)]
    [measured] = [extensions for extensions in found if metric in extensions]
    return measured


def graphql_shaped(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    [error] = errors_of(body)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    message: str = error["message"]
    return message


async def test_a_costly_query_is_refused_before_any_request(
    client: httpx.AsyncClient, request_log: RequestLog
) -> None:
    await post(client, {"query": ME})  # provisions the caller first
    request_log.clear()
    response = await post(client, {"query": COSTLY, "variables": {"n": 100}})
    assert too_complex(response, "cost") == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 1 + 100 * (1 + 100 * 1),
        "limit": 10_000,
    }
    assert len(request_log) == 0


async def test_the_same_query_with_smaller_pages_runs(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": COSTLY, "variables": {"n": 50}})
    assert response.json() == {"data": {"customers": {"edges": []}}}


async def test_depth_aliases_and_root_fields_are_refused(client: httpx.AsyncClient) -> None:
    depth = too_complex(await post(client, {"query": DEEP}), "depth")
    assert (depth["depth"], depth["limit"]) == (17, 15)
    aliases = too_complex(await post(client, {"query": ALIASES}), "aliases")
    assert (aliases["aliases"], aliases["limit"]) == (16, 15)
    roots = too_complex(await post(client, {"query": ROOT_FIELDS}), "rootFields")
    assert (roots["rootFields"], roots["limit"]) == (21, 20)


async def test_an_oversized_document_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": ME + " " * 15_000})
    assert too_complex(response, "characters")["characters"] == 15_000 + len(ME)


async def test_limits_come_from_the_settings(settings: Settings, db: Services) -> None:
    async with serve(with_limits(settings, max_depth=1, max_cost=1), db) as client:
        response = await post(client, {"query": CUSTOMERS})
    assert too_complex(response, "depth") == {"code": "QUERY_TOO_COMPLEX", "depth": 3, "limit": 1}


async def test_a_batch_is_refused_by_default(client: httpx.AsyncClient) -> None:
    response = await post(client, [{"query": ME}, {"query": ME}])
    assert graphql_shaped(response, 400) == "Batching is not enabled"


async def test_batches_up_to_the_configured_size_run(settings: Settings, db: Services) -> None:
    async with serve(with_limits(settings, max_batch=2), db) as client:
        ran = await post(client, [{"query": ME}, {"query": ME}])
        refused = await post(client, [{"query": ME}] * 3)
    assert ran.json() == [{"data": {"me": {"id": "u-admin"}}}] * 2
    assert graphql_shaped(refused, 400) == "Too many operations"


async def test_a_post_must_be_json(client: httpx.AsyncClient) -> None:
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
    ):
        headers = AUTH | {"Content-Type": content_type}
        response = await client.post("/graphql", content=f'{{"query": "{ME}"}}', headers=headers)
        assert "application/json" in graphql_shaped(response, 415), content_type
    # Refused before authentication: no token needed to learn that.
    bare = await client.post("/graphql", content=ME, headers={"Content-Type": "text/plain"})
    graphql_shaped(bare, 415)


async def test_json_with_a_charset_is_accepted(client: httpx.AsyncClient) -> None:
    headers = AUTH | {"Content-Type": "application/json; charset=utf-8"}
    response = await client.post("/graphql", content=f'{{"query": "{ME}"}}', headers=headers)
    assert response.json() == {"data": {"me": {"id": "u-admin"}}}


async def test_the_json_media_type_is_matched_in_any_case(client: httpx.AsyncClient) -> None:
    for content_type in ("Application/JSON", "APPLICATION/JSON; Charset=UTF-8"):
        headers = AUTH | {"Content-Type": content_type}
        response = await client.post("/graphql", content=f'{{"query": "{ME}"}}', headers=headers)
        assert response.json() == {"data": {"me": {"id": "u-admin"}}}, content_type


async def test_only_get_and_post_are_served(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await client.request(method, "/graphql", json={"query": ME}, headers=AUTH)
        graphql_shaped(response, 405)
        assert response.headers["allow"] == "GET, POST"


async def test_a_mutation_over_get_is_refused_and_not_run(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": CREATE}, headers=AUTH)
    assert "mutations are not allowed" in graphql_shaped(response, 400)
    found = await client.get("/graphql", params={"query": CUSTOMER}, headers=AUTH)
    assert found.json() == {"data": {"customer": None}}


async def test_prod_hides_the_schema(settings: Settings, db: Services) -> None:
    async with serve(prod(settings), db) as client:
        introspection = await post(client, {"query": INTROSPECTION})
        typo = await post(client, {"query": TYPO})
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert set(codes(introspection.json())) == {"BAD_USER_INPUT"}
    assert "introspection has been disabled" in introspection.text
    assert errors_of(typo.json())[0]["message"] == "Cannot query field 'usrname' on type 'User'."
    assert ide.status_code == 404


async def test_prod_may_allow_introspection(settings: Settings, db: Services) -> None:
    async with serve(prod(settings, introspection=True), db) as client:
        introspection = await post(client, {"query": INTROSPECTION})
    assert "errors" not in introspection.json()


async def test_dev_suggests_and_introspects(client: httpx.AsyncClient) -> None:
    typo = await post(client, {"query": TYPO})
    assert "Did you mean 'username'?" in errors_of(typo.json())[0]["message"]
    introspection = await post(client, {"query": INTROSPECTION})
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
