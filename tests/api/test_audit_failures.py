"""Read events that could not be written: never silent, and refused where required.

The failure is real: an HTTP proxy in front of DynamoDB Local refuses BatchWriteItem
with AccessDeniedException, as AWS answers a role that lacks the action (the
deployed role once did: issue 21).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from cli import parser
from dal.tenancy.registry import TenantRegistry
from jobs.privacy import commands as privacy
from services import Services
from settings import Settings
from tests.api.test_edge_envelope import services_at
from tests.api.test_edge_limits import serve
from tests.conftest import PREFIX, Tenants, token
from tests.integration.proxy import UnprocessingProxy
from tests.support import errors_of

CUSTOMER = 'mutation { createCustomer(input: {companyName: "Acme"}) { id } }'
CONTACT = """
mutation($c: ID!) { createContact(input: {customerId: $c, firstName: "Ann", lastName: "Lee",
  email: "ann@example.org"}) { id } }"""
READ = "query($c: ID!) { customer(id: $c) { contacts { edges { node { id email } } } } }"
UNWRITTEN = "zebros_audit_read_events_unwritten_total"


async def post(client: httpx.AsyncClient, document: str, **variables: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": document, "variables": variables})


async def unwritten(client: httpx.AsyncClient) -> float:
    scraped = (await client.get("/metrics")).text
    [line] = [line for line in scraped.splitlines() if line.startswith(UNWRITTEN)]
    return float(line.split()[-1])


async def test_unwritten_read_events_are_logged_counted_and_refused_where_required(
    settings: Settings,
    db: Services,
    tenants: Tenants,
    dynamodb_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with UnprocessingProxy(dynamodb_endpoint) as proxy:
        async with services_at(settings, proxy.url) as proxied, serve(settings, proxied) as client:
            client.headers["Authorization"] = f"Bearer {token(tenants.acme)}"
            customer = (await post(client, CUSTOMER)).json()["data"]["createCustomer"]["id"]
            assert (await post(client, CONTACT, c=customer)).status_code == 200
            proxy.denied.add("BatchWriteItem")
            await proxied.store.tenants.set_audit_reads(tenants.acme, True)
            with caplog.at_level(logging.ERROR, logger="schema.read_audit"):
                answered = await post(client, READ, c=customer)
            assert answered.status_code == 200, answered.text
            assert answered.json()["data"]["customer"]["contacts"]["edges"]  # the answer stands
            assert await unwritten(client) == 1
            await proxied.store.tenants.set_audit_reads(tenants.acme, True, required=True)
            withheld = await post(client, READ, c=customer)
            assert await unwritten(client) == 2
    logged = [r.getMessage() for r in caplog.records if r.name == "schema.read_audit"]
    assert logged[0].startswith(f"audit: 1 read events of tenant {tenants.acme} not written")
    assert "AccessDeniedException" in logged[0]
    assert withheld.status_code == 503, withheld.text
    assert withheld.json()["data"] is None
    [error] = errors_of(withheld.json())
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert withheld.headers["retry-after"] == "1"


async def test_zebros_privacy_audit_reads_required_sets_both_flags(
    settings: Settings, db: Services, tenants: Tenants
) -> None:
    states = []
    for state in ("required", "on", "off"):
        args = parser().parse_args(["privacy", "audit-reads", "--tenant", tenants.acme, state])
        assert await privacy.run(settings, args) == 0
        # A registry of its own: the command's change, as another server reads it.
        found = await TenantRegistry(db.store.dynamo, table_prefix=PREFIX).get(tenants.acme)
        assert found is not None
        states.append((found.audit_reads, found.audit_reads_required))
    assert states == [(True, True), (True, False), (False, False)]
