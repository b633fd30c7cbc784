"""``Idempotency-Key`` on ordinary mutations: a retry answers the first answer."""

from __future__ import annotations

from typing import Any

import httpx

from dal.dynamodb.tables import CHANGES, KEY, SORT
from dal.store import Repos
from dal.sync.receipts import Receipts
from edge.idempotency import client_of
from tests.conftest import Tenants, token

CREATE = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id version } }"
BAD = 'mutation { createCustomer(input: {companyName: " "}) { id } }'
COUNT = "{ customers(first: 100) { edges { node { id } } } }"
PUSH = "mutation($i: SyncPushInput!) { syncPush(input: $i) { results { outcome replayed } } }"


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
    receipts = Receipts(repos.journal.dynamo, repos.scope, 3600, "u-admin")
    found = await receipts.find(client_of("u-admin"), "k-lost")
    assert found is not None
    await receipts.finish(client_of("u-admin"), "k-lost", {"pending": True})
    again = await _post(client, tenants.acme, body, "k-lost")
    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json()["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_a_sync_push_with_a_key_is_refused_and_the_refusal_kept_where_erasure_looks(
    client: httpx.AsyncClient, tenants: Tenants, repos: Repos
) -> None:
    made = {"clientMutationId": "m1", "entity": "CUSTOMER", "op": "UPSERT", "id": "cus_keyed",
            "changes": {"companyName": "Keyed"}}  # fmt: skip
    body = {"query": PUSH, "variables": {"i": {"clientId": "phone-1", "mutations": [made]}}}
    first = await _post(client, tenants.acme, body, "k-push")
    again = await _post(client, tenants.acme, body, "k-push")
    error = first.json()["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "BAD_USER_INPUT", "Idempotency-Key",
    )  # fmt: skip
    assert "without an Idempotency-Key" in error["message"]
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    listed = (await _post(client, tenants.acme, {"query": COUNT}, None)).json()
    assert listed["data"]["customers"]["edges"] == []
    # Kept as every receipt is: the tenant's, expiring, and listed where an erasure looks.
    table = repos.scope.table(CHANGES.entity)
    keys, _ = await repos.journal.dynamo.query(
        table, "byReceipt", ("receiptKey", repos.scope.key("receipts")), limit=100
    )
    [key] = [(k[KEY], k[SORT]) for k in keys if k[SORT] == "k-push"]
    item = await repos.journal.dynamo.get(table, *key)
    assert item is not None
    assert repos.scope.owns(item)
    assert item["expiresAt"] > 0


async def test_an_answer_is_kept_only_onto_its_claim(repos: Repos) -> None:
    receipts = Receipts(repos.journal.dynamo, repos.scope, 3600, "u-admin")
    await receipts.finish(client_of("u-admin"), "k-never-claimed", {"status": 200, "body": "{}"})
    table = repos.scope.table(CHANGES.entity)
    everything, _ = await repos.journal.dynamo.query(
        table, None, (KEY, receipts._pk(client_of("u-admin"))), limit=100
    )
    assert everything == []
