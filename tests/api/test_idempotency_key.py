"""``Idempotency-Key`` on ordinary mutations: a retry answers the first answer."""

from __future__ import annotations

from typing import Any

import httpx

from dal.store import Repos
from dal.sync.receipts import Receipts
from edge.idempotency import client_of
from tests.conftest import Tenants, token

CREATE = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id version } }"
BAD = 'mutation { createCustomer(input: {companyName: " "}) { id } }'
COUNT = "{ customers(first: 100) { edges { node { id } } } }"


async def _post(
    client: httpx.AsyncClient, tenant: str, body: dict[str, Any], key: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(tenant)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/graphql", json=body, headers=headers)


async def test_a_retried_mutation_is_applied_once(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    body = {"query": CREATE, "variables": {"n": "Once"}}
    first = await _post(client, tenants.acme, body, "k-1")
    again = await _post(client, tenants.acme, body, "k-1")
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = (await _post(client, tenants.acme, {"query": COUNT}, None)).json()
    assert len(listed["data"]["customers"]["edges"]) == 1
    other = await _post(client, tenants.acme, {"query": CREATE, "variables": {"n": "Two"}}, "k-1")
    assert other.status_code == 422
    assert other.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_failed_mutation_keeps_its_answer_and_keys_are_per_tenant(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    first = await _post(client, tenants.acme, {"query": BAD}, "k-bad")
    again = await _post(client, tenants.acme, {"query": BAD}, "k-bad")
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    theirs = await _post(client, tenants.globex, {"query": CREATE, "variables": {"n": "G"}}, "k-1")
    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers


async def test_a_malformed_key_is_refused(client: httpx.AsyncClient, tenants: Tenants) -> None:
    refused = await _post(
        client, tenants.acme, {"query": CREATE, "variables": {"n": "X"}}, "bad key!"
    )
    assert refused.status_code == 400


async def test_a_key_whose_answer_is_missing_answers_409(
    client: httpx.AsyncClient, tenants: Tenants, repos: Repos
) -> None:
    """The claim committed with the write, the process died before keeping the answer."""
    body = {"query": CREATE, "variables": {"n": "Lost"}}
    first = await _post(client, tenants.acme, body, "k-lost")
    receipts = Receipts(repos.journal.dynamo, repos.scope, 3600)
    found = await receipts.find(client_of("u-admin"), "k-lost")
    assert found is not None
    await receipts.finish(client_of("u-admin"), "k-lost", {"pending": True})
    again = await _post(client, tenants.acme, body, "k-lost")
    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["errors"][0]["extensions"]["code"] == "CONFLICT"
