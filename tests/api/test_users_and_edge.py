"""Users, masked errors, health and readiness."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
import pytest

from dal.tenancy.scope import Model
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import Gql, Tenants, fresh_tenant, token
from tests.support import codes, errors_of

CREATE_USER = """
mutation($i: CreateUserInput!) {
  createUser(input: $i) { id username email role permissions preferences version }
}
"""
UPDATE_USER = """
mutation($id: ID!, $i: UpdateUserInput!, $v: Int) {
  updateUser(id: $id, input: $i, expectedVersion: $v) { role permissions version }
}
"""
USERS = """
query($after: String) {
  users(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}
"""
CUSTOMER = 'query { customer(id: "cus_bad") { id companyName } }'
USER = "query($id: ID!) { user(id: $id) { id } }"


async def test_create_and_update_user(gql: Gql) -> None:
    user = {
        "id": "u-rep",
        "username": "rep",
        "email": "rep@acme.example",
        "role": "SALES_REP",
        "permissions": ["export:data", "export:data"],
        "preferences": {"timeZone": "UTC"},
    }
    created = (await gql(CREATE_USER, {"i": user}))["data"]["createUser"]
    assert created["permissions"] == ["export:data"]
    assert created["version"] == 1
    updated = await gql(UPDATE_USER, {"id": "u-rep", "i": {"role": "MANAGER"}, "v": 1})
    assert updated["data"]["updateUser"] == {
        "role": "MANAGER",
        "permissions": ["export:data"],
        "version": 2,
    }


async def test_user_input_checks(gql: Gql) -> None:
    base: dict[str, object] = {"username": "x", "email": "x@acme.example", "role": "ADMIN"}
    cases: list[tuple[dict[str, object], str]] = [
        ({"email": "nope"}, "email"),
        ({"username": ""}, "username"),
        ({"permissions": ["p"] * 21}, "permissions"),
    ]
    for change, field in cases:
        body = await gql(CREATE_USER, {"i": base | change})
        assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_a_user_id_is_never_an_email_address(gql: Gql) -> None:
    """Ids stay in keys an erasure cannot rewrite (ownerId, the change log's actor):
    an e-mail address as a user's id is refused where users are made."""
    user = {"id": "ann@acme.example", "username": "ann", "email": "ann@acme.example",
            "role": "SALES_REP"}  # fmt: skip
    body = await gql(CREATE_USER, {"i": user})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert "@" in errors_of(body)[0]["message"]
    assert (await gql(USER, {"id": "ann@acme.example"}))["data"]["user"] is None


async def test_users_page_through_the_tenant_only(gql: Gql, tenants: Tenants) -> None:
    for n in range(3):
        await gql("query { me { id } }", user=f"u-{n}")
    await gql("query { me { id } }", tenant=tenants.globex, user="outsider")
    seen, after = [], None
    while True:
        page = (await gql(USERS, {"after": after}))["data"]["users"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == ["u-0", "u-1", "u-2", "u-admin"]


async def test_unexpected_error_is_masked_with_request_id(
    client: httpx.AsyncClient, db: Services, caplog: pytest.LogCaptureFixture
) -> None:
    # A stored customer this code cannot read (no timestamps, no name): an
    # error nobody planned for. (A missing table is UNAVAILABLE: test_edge_unavailable.)
    tenant = fresh_tenant("corrupt")
    repos = db.store.for_tenant(tenant, Model.BRIDGE)
    item = {
        "pk": {"S": repos.scope.pk("cus_bad")},
        "tenantId": {"S": tenant},
        "id": {"S": "cus_bad"},
    }
    await db.dynamo_client.put_item(TableName=repos.customers.table_name, Item=item)
    headers = {"Authorization": f"Bearer {token(tenant)}", "X-Request-Id": "req-123"}
    with caplog.at_level(logging.ERROR, logger="zebros.errors"):
        response = await client.post("/graphql", json={"query": CUSTOMER}, headers=headers)
    body = response.json()
    assert codes(body) == ["INTERNAL_SERVER_ERROR"]
    error = errors_of(body)[0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["requestId"] == "req-123" == response.headers["x-request-id"]
    assert "cus_bad" not in response.text
    assert any("req-123" in r.getMessage() for r in caplog.records)


async def test_health_and_readiness(
    client: httpx.AsyncClient, db: Services, settings: Settings
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"dynamodb": "ok", "s3": "ok", "redis": "ok"}
    # Settings naming tables that were never created: DynamoDB answers, the tables do not.
    dynamo = settings.dynamo.model_copy(update={"table_prefix": "none-"})
    elsewhere = settings.model_copy(update={"dynamo": dynamo})
    transport = httpx.ASGITransport(app=create_app(elsewhere, replace(db, settings=elsewhere)))
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as other:
        not_ready = await other.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["dynamodb"].startswith("down")
