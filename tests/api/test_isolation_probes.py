"""Cross-tenant probes: tenant B tries every way into tenant A's data.

Each probe is sent twice by B: once naming something of A (an id, a cursor,
a filter value) and once naming something that exists nowhere. The two
answers must be the same, byte for byte once the probed value is blanked
out, and cost the same DynamoDB requests (the deterministic stand-in for
"the same timing class"). Nothing of A may appear in any answer. A write
that reached A's data would answer differently from its control, so equal
answers also prove that nothing of A changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dal.models import Activity, ActivityType, Contact, Customer, Entity, Opportunity, Role, User
from dal.store import Repos
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from tests.conftest import Gql, Tenants
from tests.support import RequestLog

PROBES_PER_MODEL = 1000
SECRET = "Zq-secret-of-acme"  # in every name of A's records: must never reach B
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40)
PAYLOAD = st.text(max_size=60)

BY_ID = {
    "customer": "query($id: ID!) { customer(id: $id) { id companyName } }",
    "contact": "query($id: ID!) { contact(id: $id) { id firstName } }",
    "opportunity": "query($id: ID!) { opportunity(id: $id) { id title } }",
    "activity": "query($id: ID!) { activity(id: $id) { id subject } }",
    "user": "query($id: ID!) { user(id: $id) { id username } }",
}
WRITES = {
    "updateCustomer": "mutation($id: ID!, $s: String) { updateCustomer(id: $id, input: {industry: $s}) { id } }",
    "deleteCustomer": "mutation($id: ID!) { deleteCustomer(id: $id) }",
    "updateContact": "mutation($id: ID!, $s: String) { updateContact(id: $id, input: {position: $s}) { id } }",
    "deleteContact": "mutation($id: ID!) { deleteContact(id: $id) }",
    "updateOpportunity": "mutation($id: ID!, $s: String) { updateOpportunity(id: $id, input: {title: $s}) { id } }",
    "deleteOpportunity": "mutation($id: ID!) { deleteOpportunity(id: $id) }",
    "updateActivity": "mutation($id: ID!, $s: String) { updateActivity(id: $id, input: {description: $s}) { id } }",
    "completeActivity": "mutation($id: ID!) { completeActivity(id: $id) { id } }",
    "deleteActivity": "mutation($id: ID!) { deleteActivity(id: $id) }",
    "updateUser": "mutation($id: ID!, $s: String) { updateUser(id: $id, input: {username: $s}) { id } }",
}
REFERENCES = {
    "contact.customerId": 'mutation($id: ID!, $s: String!) { createContact(input: {customerId: $id, firstName: $s, lastName: "x"}) { id } }',
    "opportunity.customerId": 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: $id, title: $s, value: "1"}) { id } }',
    "opportunity.contactId": 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: "cus_b", contactId: $id, title: $s, value: "1"}) { id } }',
    "opportunity.ownerId": 'mutation($id: ID!, $s: String!) { createOpportunity(input: {customerId: "cus_b", ownerId: $id, title: $s, value: "1"}) { id } }',
    "activity.relatedId": "mutation($id: ID!, $s: String!) { createActivity(input: {relatedId: $id, type: NOTE, subject: $s}) { id } }",
    "activity.ownerId": 'mutation($id: ID!, $s: String!) { createActivity(input: {relatedId: "cus_b", ownerId: $id, type: NOTE, subject: $s}) { id } }',
    "customer.ownerId": "mutation($id: ID!, $s: String!) { createCustomer(input: {companyName: $s, ownerId: $id}) { id } }",
    "updateCustomer.ownerId": 'mutation($id: ID!) { updateCustomer(id: "cus_b", input: {ownerId: $id}) { id } }',
    "updateOpportunity.contactId": 'mutation($id: ID!) { updateOpportunity(id: "opp_b", input: {contactId: $id}) { id } }',
}
FILTERS = {
    "customers.ownerId": "query($id: ID!) { customers(filter: {ownerId: $id}) { edges { node { id } } } }",
    "opportunities.ownerId": "query($id: ID!) { opportunities(filter: {ownerId: $id}) { edges { node { id } } } }",
    "opportunities.customerId": "query($id: ID!) { opportunities(filter: {customerId: $id}) { edges { node { id } } } }",
    "activities.relatedId": "query($id: ID!) { activities(filter: {relatedId: $id}) { edges { node { id } } } }",
    "activities.ownerId": "query($id: ID!) { activities(filter: {ownerId: $id}) { edges { node { id } } } }",
    "user.customers": "query($id: ID!) { user(id: $id) { customers { edges { node { id } } } } }",
}
CURSORS = {
    "customers": "query($c: String) { customers(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } }",
    "users": "query($c: String) { users(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } }",
    "contacts": "query($c: String, $cus: ID!) { customer(id: $cus) { contacts(first: 1, after: $c) { edges { node { id } } pageInfo { endCursor } } } }",
}
ID_PROBES = {**BY_ID, **WRITES, **REFERENCES, **FILTERS}
A_IDS = ["cus_a", "con_a", "opp_a", "act_a", "a-user"]

tally: dict[str, dict[str, int]] = {}


@dataclass
class World:
    gql: Gql
    b: str  # the prober's tenant
    log: RequestLog
    a_cursors: dict[str, str]
    b_cursors: dict[str, str]


async def _records(repos: Repos, tag: str) -> None:
    now = utcnow()
    at: dict[str, Any] = {"created_at": now, "updated_at": now}
    who = f"{tag}-user"
    await repos.users.create(
        User(id=who, username=f"{SECRET}-{tag}", email=f"{tag}@x.example", role=Role.ADMIN, **at)
    )
    for n in ("", "2"):
        await repos.customers.create(
            Customer(id=f"cus_{tag}{n}", company_name=f"{SECRET} {tag} {n}", owner_id=who, **at)
        )
    for n in ("", "2"):
        await repos.contacts.create(
            Contact(
                id=f"con_{tag}{n}", customer_id=f"cus_{tag}", first_name=SECRET, last_name=n, **at
            )
        )
    await repos.opportunities.create(
        Opportunity(
            id=f"opp_{tag}",
            customer_id=f"cus_{tag}",
            contact_id=f"con_{tag}",
            title=SECRET,
            value=Decimal(5),
            owner_id=who,
            **at,
        )
    )
    await repos.activities.create(
        Activity(
            id=f"act_{tag}",
            related_id=f"opp_{tag}",
            related_type=Entity.OPPORTUNITY,
            type=ActivityType.CALL,
            subject=SECRET,
            owner_id=who,
            scheduled_at=now - timedelta(days=1),
            **at,
        )
    )


async def _cursors(gql: Gql, tenant: str, tag: str) -> dict[str, str]:
    out = {}
    for name, document in CURSORS.items():
        variables = _cursor_variables(name, None, tag)
        body = await gql(document, variables, tenant=tenant, user=f"{tag}-user")
        assert "errors" not in body, body
        data = body["data"]["customer"]["contacts"] if name == "contacts" else body["data"][name]
        out[name] = data["pageInfo"]["endCursor"]
    return out


@pytest.fixture
async def world(
    repos: Repos, neighbour: Repos, tenants: Tenants, gql: Gql, request_log: RequestLog
) -> World:
    # Same shape in both tenants, ids prefixed a- (acme, A) and b- (globex, B): B's
    # own records make the probes that need a valid record of B's (contactId on b-opp, ...).
    await _records(repos, "a")
    await _records(neighbour, "b")
    a_cursors = await _cursors(gql, tenants.acme, "a")
    b_cursors = await _cursors(gql, tenants.globex, "b")
    return World(gql, tenants.globex, request_log, a_cursors, b_cursors)


def _blank(body: dict[str, Any], value: str) -> str:
    return json.dumps(body, sort_keys=True).replace(json.dumps(value), '"<probe>"')


async def _send(
    w: World, document: str, variables: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, int]]:
    w.log.clear()
    body = await w.gql(document, variables, tenant=w.b, user="b-user")
    return body, dict(w.log.counts())


async def _compare(
    w: World, document: str, make: Callable[[str], dict[str, Any]], probe: str, control: str
) -> None:
    body, cost = await _send(w, document, make(probe))
    expected, expected_cost = await _send(w, document, make(control))
    text = json.dumps(body)
    assert SECRET not in text, text
    assert not any(a in text for a in A_IDS), text
    assert _blank(body, probe) == _blank(expected, control), (document, body, expected)
    assert cost == expected_cost, (document, cost, expected_cost)


def _cursor_variables(name: str, cursor: str | None, tag: str = "b") -> dict[str, Any]:
    return {"c": cursor, "cus": f"cus_{tag}"} if name == "contacts" else {"c": cursor}


def _tampered(cursor: str) -> str:
    body, mac = cursor.split(".")
    return f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"


@pytest.mark.isolation
@settings(
    max_examples=PROBES_PER_MODEL,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(sorted(ID_PROBES) + [f"cursor:{c}" for c in CURSORS]),
    target=st.sampled_from(A_IDS),
    control=IDS,
    text=PAYLOAD,
)
async def test_tenant_b_cannot_reach_tenant_a(
    world: World, model: Model, kind: str, target: str, control: str, text: str
) -> None:
    # Exists in neither tenant, and is of the target's kind (its prefix).
    kind_of = target.split("_")[0] if "_" in target else "nx"
    control = f"{kind_of}_nx{control}" if "_" in target else f"nx-{control}"
    if kind.startswith("cursor:"):
        name = kind.split(":", 1)[1]
        probe, control_cursor = world.a_cursors[name], _tampered(world.b_cursors[name])
        await _compare(
            world, CURSORS[name], lambda c: _cursor_variables(name, c), probe, control_cursor
        )
    else:
        await _compare(
            world, ID_PROBES[kind], lambda i: {"id": i, "s": text or "x"}, target, control
        )
    counts = tally.setdefault(model.value, {"probes": 0, "leaks": 0})
    counts["probes"] += 1
