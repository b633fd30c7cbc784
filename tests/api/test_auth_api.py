"""The bearer-token gate, GraphiQL, just-in-time users and request ids, through the ASGI app."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from auth import Verifier
from dal.models import Role
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import Gql, Tenants, token
from tests.support import errors_of

ME = "query { me { id username role } }"
USERS = "query { users { edges { node { id } } } }"
USER = "query($id: ID!) { user(id: $id) { id username role } }"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def unauthenticated(message: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
    }


def assert_401(response: httpx.Response, message: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    [error] = errors_of(body)
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    if message is not None:
        assert body == unauthenticated(message)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": ME})
    assert_401(response, "missing Authorization header (Bearer token)")


async def test_expired_token_is_401(client: httpx.AsyncClient, tenants: Tenants) -> None:
    expired = token(tenants.acme, exp=int(time.time()) - 3600)
    response = await client.post("/graphql", json={"query": ME}, headers=bearer(expired))
    assert_401(response, "token expired")


async def test_bad_tokens_are_401(client: httpx.AsyncClient, tenants: Tenants) -> None:
    forged = token(tenants.acme)[:-4] + "AAAA"
    for headers in (bearer("not-a-jwt"), bearer(forged), {"Authorization": "Basic dTpw"}):
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
        assert_401(response)


async def test_get_with_query_and_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": ME})
    assert_401(response, "missing Authorization header (Bearer token)")
    html = await client.get("/graphql", params={"query": ME}, headers={"Accept": "text/html"})
    assert_401(html)


async def test_get_with_percent_encoded_query_key_and_no_token_is_401(
    client: httpx.AsyncClient,
) -> None:
    # "%71uery" is "query" once decoded: Strawberry runs it, so the gate must see it too.
    response = await client.get(f"/graphql?%71uery={quote(ME)}")
    assert_401(response)


async def test_get_with_query_and_token_runs_it(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    response = await client.get(
        "/graphql", params={"query": ME}, headers=bearer(token(tenants.acme))
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["id"] == "u-admin"


async def test_plain_get_serves_graphiql_without_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_first_time_user_is_provisioned(
    client: httpx.AsyncClient, gql: Gql, tenants: Tenants
) -> None:
    newcomer = token(tenants.acme, user="u-newcomer", role=Role.SALES_REP, username="newbie")
    response = await client.post("/graphql", json={"query": ME}, headers=bearer(newcomer))
    record = {"id": "u-newcomer", "username": "newbie", "role": "SALES_REP"}
    assert response.json() == {"data": {"me": record}}
    listed = await gql(USERS)
    ids = {edge["node"]["id"] for edge in listed["data"]["users"]["edges"]}
    assert ids == {"u-admin", "u-newcomer"}
    found = await gql(USER, {"id": "u-newcomer"})
    assert found == {"data": {"user": record}}
    # Provisioned in its own tenant only.
    elsewhere = await gql(USERS, tenant=tenants.globex, user="g-admin")
    assert [e["node"]["id"] for e in elsewhere["data"]["users"]["edges"]] == ["g-admin"]


async def test_provisioning_keeps_the_first_record(client: httpx.AsyncClient, gql: Gql) -> None:
    await gql(ME, user="u-returning", role=Role.READ_ONLY)
    await gql(ME, user="u-returning", role=Role.ADMIN)
    found = await gql(USER, {"id": "u-returning"})
    assert found["data"]["user"]["role"] == "READ_ONLY"


async def test_response_carries_a_request_id(client: httpx.AsyncClient, tenants: Tenants) -> None:
    response = await client.post(
        "/graphql", json={"query": ME}, headers=bearer(token(tenants.acme))
    )
    assert response.status_code == 200
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_client_request_id_is_echoed(client: httpx.AsyncClient, tenants: Tenants) -> None:
    headers = bearer(token(tenants.acme)) | {"X-Request-Id": "client-req_42.a"}
    response = await client.post("/graphql", json={"query": ME}, headers=headers)
    assert response.headers["x-request-id"] == "client-req_42.a"


async def test_invalid_client_request_id_is_replaced(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    for given in ("has spaces", "x" * 65, "semi;colon"):
        headers = bearer(token(tenants.acme)) | {"X-Request-Id": given}
        response = await client.post("/graphql", json={"query": ME}, headers=headers)
        assert GENERATED_ID.match(response.headers["x-request-id"]), given


async def test_me_shows_the_role_this_request_acts_with(gql: Gql) -> None:
    """The record keeps the role seen first; ``me.role`` is the token's, which every
    permission of the request is decided by."""
    await gql(ME, user="u-promoted", role=Role.READ_ONLY)
    promoted = await gql(ME, user="u-promoted", role=Role.MANAGER)
    assert promoted["data"]["me"]["role"] == "MANAGER"
    stored = await gql(USER, {"id": "u-promoted"})
    assert stored["data"]["user"]["role"] == "READ_ONLY"


def closed_port() -> int:
    """A local port nothing listens on: bound, then released (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_jwks_is_503_with_the_cause_only_in_the_log(
    db: Services, settings: Settings, tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json"
    app = create_app(settings, replace(db, verifier=Verifier(secret=None, jwks_url=url)))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "u-1", "tenant_id": tenants.acme, "exp": int(time.time()) + 60}
    signed = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as c:
        response = await c.post("/graphql", json={"query": ME}, headers=bearer(signed))
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    [error] = errors_of(response.json())
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "fetch" not in response.text.lower()
    assert "127.0.0.1" not in response.text
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Fail to fetch data" in logged
    assert url in logged
