"""Requests built to stall or crash the edge: each is refused at once, GraphQL-shaped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import httpx

from tests.conftest import Tenants, fresh_tenant, token
from tests.support import codes, errors_of

ME = "query { me { id } }"


def _bomb(levels: int) -> str:
    """F1 spreads F0 ten times, ..., F{levels} spreads F{levels - 1}: 10**levels copies."""
    chain = [f"fragment F{i} on Query {{ {f'...F{i - 1} ' * 10}}}" for i in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} fragment F0 on Query {{ me {{ id }} }} " + " ".join(chain)


BOMB, DEEPER = _bomb(8), _bomb(9)  # the query (730 characters here), one level more
# Over the 15,000-character limit many times, under the 1 MiB body limit.
HUGE = "mutation { " + "a: me { id } " * 75_000 + "}"
TWO = "query A { me { id } } query B { me { username } }"
AUTH = {"Authorization": f"Bearer {token(fresh_tenant('abuse'))}"}
# Generous on a loaded machine; the unbounded walk held the process for 75 s, and
# a 1 MB document took 2.1 s to parse.
PROMPT_SECONDS = 1.0


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_a_fragment_bomb_is_refused_at_once_and_healthz_stays_fast(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/graphql", json={"query": ME}, headers=AUTH)  # provisions the caller
    for document, copies in ((BOMB, 10**8), (DEEPER, 10**9)):
        bombed = _timed(client.post("/graphql", json={"query": document}, headers=AUTH))
        (refused, took), (health, waited) = await asyncio.gather(
            bombed, _timed(client.get("/healthz"))
        )
        assert set(codes(refused.json())) == {"QUERY_TOO_COMPLEX"}
        measured = [e["extensions"].get("rootFields") for e in errors_of(refused.json())]
        assert copies in measured
        assert health.status_code == 200
        assert took < PROMPT_SECONDS, took
        assert waited < PROMPT_SECONDS, waited


async def test_a_huge_mutation_with_an_idempotency_key_is_refused_unparsed(
    client: httpx.AsyncClient, tenants: Tenants
) -> None:
    headers = {"Authorization": f"Bearer {token(tenants.acme)}", "Idempotency-Key": "k-huge"}
    await client.post("/graphql", json={"query": ME}, headers=headers)  # provisions the caller
    for _ in range(2):
        refused, took = await _timed(client.post("/graphql", json={"query": HUGE}, headers=headers))
        assert set(codes(refused.json())) == {"QUERY_TOO_COMPLEX"}
        assert errors_of(refused.json())[0]["extensions"]["characters"] == len(HUGE)
        # Not a mutation as far as the key goes: it claimed nothing, so nothing is replayed.
        assert "idempotent-replayed" not in refused.headers
        assert took < PROMPT_SECONDS, took


async def test_several_operations_need_an_operation_name(client: httpx.AsyncClient) -> None:
    unnamed = await client.post("/graphql", json={"query": TWO}, headers=AUTH)
    body = unnamed.json()
    assert body.get("data") is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "operation name" in errors_of(body)[0]["message"]
    named = await client.post("/graphql", json={"query": TWO, "operationName": "B"}, headers=AUTH)
    assert named.json()["data"]["me"].keys() == {"username"}


async def test_invalid_utf8_in_the_body_is_a_graphql_shaped_400(
    client: httpx.AsyncClient,
) -> None:
    content = b'{"query": "{ me { id } }", "variables": {"x": "\xff\xfe"}}'
    headers = AUTH | {"Content-Type": "application/json"}
    refused = await client.post("/graphql", content=content, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "data": None,
        "errors": [
            {
                "message": "Unable to parse request body as JSON",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ],
    }
