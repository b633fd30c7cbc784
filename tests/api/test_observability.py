"""`/metrics` scraped and parsed with prometheus-client; the JSON log lines of a run
read back, and searched for every personal value the run's records hold."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dal.loading.seed import seed_demo
from dal.store import Repos
from observe.logs import JsonFormatter
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import Gql, Tenants

ME = "query Me { me { id } }"
BROKEN = "query Broken { me { nothing } }"
EVERYTHING = """query Everything {
  customers(first: 50) { edges { node {
    id companyName industry contactInfo
    contacts(first: 10) { edges { node { id firstName lastName email phone position details } } }
    activities(first: 10) { edges { node { id subject description } } }
    opportunities(first: 10) { edges { node { id title value } } }
  } } }
  users(first: 20) { edges { node { id username email } } }
}"""
SEARCH = """query Search($p: String!) {
  customers(filter: {namePrefix: $p}) { edges { node { id } } }
}"""
RENAME = """mutation Rename($id: ID!, $n: String!) {
  updateCustomer(id: $id, input: {companyName: $n}) { id }
}"""
NEW_CONTACT = """mutation NewContact($c: ID!, $e: String!) {
  createContact(
    input: {customerId: $c, firstName: "Zelda", lastName: "Quixote-Private", email: $e}
  ) { id }
}"""


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_requests_store_calls_and_the_cache(
    client: httpx.AsyncClient, gql: Gql, tenants: Tenants
) -> None:
    await gql(ME)
    await gql(ME)
    await gql(BROKEN)
    await client.post("/graphql", json={"query": ME})  # no token: 401
    for _ in range(2):
        await gql("query Listed { customers(first: 5) { edges { node { id } } } }")
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)
    assert _value(samples, "zebros_requests_total", operation="Me", code="OK") == 2
    # Refused at the gate, before the body is read: no name to give it.
    assert _value(samples, "zebros_requests_total", operation="-", code="UNAUTHENTICATED") == 1
    assert _value(samples, "zebros_requests_total", operation="Broken", code="BAD_USER_INPUT") == 1
    assert _value(samples, "zebros_request_duration_seconds_count", operation="Me") == 2
    assert _value(samples, "zebros_dynamodb_requests_total", operation="Query") >= 1
    assert _value(samples, "zebros_dynamodb_request_duration_seconds_count", operation="Query") >= 1
    capacity = "zebros_dynamodb_consumed_capacity_total"
    assert _value(samples, capacity, table="Users", kind="write") > 0  # the caller's record
    assert (capacity, (("kind", "read"), ("table", "Customers"))) in samples
    # The second list is answered whole from the response cache; the first filled the list.
    assert _value(samples, "zebros_cache_hit_total", layer="response") >= 1
    assert _value(samples, "zebros_cache_miss_total", layer="customer_list") >= 1
    assert ("zebros_rate_limited_total", ()) in samples
    assert ("zebros_dynamodb_throttles_total", ()) not in samples  # none so far, none invented


async def test_metrics_are_guarded(db: Services, settings: Settings) -> None:
    cases = {
        "prod by default": settings.model_copy(update={"env": "prod"}),
        "off": settings.model_copy(
            update={"metrics": settings.metrics.model_copy(update={"enabled": False})}
        ),
        "another network only": settings.model_copy(
            update={"metrics": settings.metrics.model_copy(update={"allow": ["10.0.0.0/8"]})}
        ),
        "this client allowed": settings.model_copy(
            update={"metrics": settings.metrics.model_copy(update={"allow": ["127.0.0.1/32"]})}
        ),
    }
    seen = {}
    for what, given in cases.items():
        transport = httpx.ASGITransport(app=create_app(given, db), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://z") as c:
            seen[what] = (await c.get("/metrics")).status_code
    assert seen == {
        "prod by default": 404,
        "off": 404,
        "another network only": 404,
        "this client allowed": 200,
    }


@pytest.fixture
async def seeded(repos: Repos) -> set[str]:
    """A small demo tenant; every personal value its records hold."""
    await seed_demo(repos, customers=4)
    values: set[str] = set()
    for customer in (await repos.customers.newest(50)).items:
        values.add(customer.company_name)
        for contact in (await repos.contacts.by_customer(customer.id, 50)).items:
            values |= {
                contact.first_name,
                contact.last_name,
                contact.email or "",
                contact.phone or "",
            }
    for user in (await repos.users.all(50)).items:
        values |= {user.username, user.email}
    return {v for v in values if len(v) >= 4}


async def test_log_lines_are_json_with_ids_and_no_personal_data(
    gql: Gql, seeded: set[str], caplog: pytest.LogCaptureFixture, tenants: Tenants
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.setFormatter(JsonFormatter())
    everything = await gql(EVERYTHING)
    assert "errors" not in everything
    first = everything["data"]["customers"]["edges"][0]["node"]
    await gql(SEARCH, {"p": first["companyName"][:5]})
    await gql(RENAME, {"id": first["id"], "n": "Renamed Privately Ltd"})
    await gql(NEW_CONTACT, {"c": first["id"], "e": "zelda.private@example.org"})
    await gql(NEW_CONTACT, {"c": "cus_missing", "e": "not-an-email"})  # refused
    lines = [json.loads(line) for line in caplog.text.splitlines() if line.strip()]
    requests = [line for line in lines if line["message"] == "request"]
    assert [r["operation"] for r in requests] == [
        "Everything",
        "Search",
        "Rename",
        "NewContact",
        "NewContact",
    ]
    assert {r["tenant"] for r in requests} == {tenants.acme}
    assert {r["code"] for r in requests} == {"OK", "BAD_USER_INPUT"}
    assert all(r["request_id"] and r["duration_ms"] >= 0 for r in requests)
    assert requests[0]["dynamodb_requests"] >= 3
    personal = seeded | {
        "Renamed Privately Ltd",
        "Zelda",
        "Quixote-Private",
        "zelda.private@example.org",
        "not-an-email",
    }
    # The ids logged by design (tenant, user "u-admin") may contain a generic
    # username ("admin"); a value is a leak when found outside them.
    text = caplog.text.replace(tenants.acme, "").replace("u-admin", "")
    leaked = sorted(v for v in personal if v in text)
    assert leaked == [], leaked
