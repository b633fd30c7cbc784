"""The audit log: every write's facts by record and by actor, one Query each; and,
for a tenant that asks, every read of a personal field. Never a value."""

from __future__ import annotations

import json
from typing import Any

from dal.models import Role
from services import Services
from tests.conftest import Gql, Tenants

CUSTOMER = 'mutation { createCustomer(input: {companyName: "Acme"}) { id } }'
CONTACT = """
mutation($c: ID!) { createContact(input: {customerId: $c, firstName: "Hermione",
  lastName: "Quillfeather", email: "hq@example.org", phone: "+1 555 0199"}) { id } }"""
EDIT = """
mutation($id: ID!) { updateContact(id: $id, input: {phone: "+1 555 0100"}) { id } }"""
READ = """
query($c: ID!) { customer(id: $c) { contacts { edges { node { id firstName email } } } } }"""
AUDIT = """
query($r: ID, $a: ID, $from: DateTime, $first: Int, $after: String) {
  auditLog(recordId: $r, actorId: $a, from: $from, first: $first, after: $after) {
    edges { cursor node { id at actorId action entity recordId requestId fields } }
    pageInfo { hasNextPage endCursor } } }"""
SYNC = "{ sync(entities: [CONTACT]) { changes { id } } }"
VALUES = ("Hermione", "Quillfeather", "hq@example.org", "555 0199", "555 0100")


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _seed(gql: Gql, tenant: str) -> tuple[str, str]:
    customer = data(await gql(CUSTOMER, tenant=tenant))["createCustomer"]["id"]
    contact = data(await gql(CONTACT, {"c": customer}, tenant=tenant))["createContact"]["id"]
    data(await gql(EDIT, {"id": contact}, tenant=tenant))
    return customer, contact


async def _events(gql: Gql, tenant: str, **variables: Any) -> list[dict[str, Any]]:
    found = data(await gql(AUDIT, variables, tenant=tenant))["auditLog"]
    assert not [v for v in VALUES if v in json.dumps(found)]  # facts, never values
    return [e["node"] for e in found["edges"]]


async def test_writes_and_audited_reads_are_listed_by_record_and_actor(
    gql: Gql, db: Services, tenants: Tenants
) -> None:
    await db.store.tenants.set_audit_reads(tenants.acme, True)
    customer, contact = await _seed(gql, tenants.acme)
    data(await gql(READ, {"c": customer}, user="u-rep", role=Role.SALES_REP))
    events = await _events(gql, tenants.acme, r=contact)
    assert [(e["action"], e["actorId"], e["fields"]) for e in events] == [
        ("read", "u-rep", ["email", "firstName"]),
        ("update", "u-admin", ["phone"]),
        ("create", "u-admin", ["createdAt", "customerId", "email", "firstName", "id",
                               "lastName", "phone"]),
    ]  # fmt: skip
    assert {e["entity"] for e in events} == {"Contact"}
    assert all(e["recordId"] == contact and e["requestId"] for e in events)
    assert len({e["id"] for e in events}) == 3
    mine = await _events(gql, tenants.acme, a="u-rep")
    # Their first request provisioned their user record: a write of theirs too.
    assert [(e["action"], e["recordId"]) for e in mine] == [("read", contact), ("create", "u-rep")]

    # Pages: cursors resume where the last page stopped, and are bound to their list.
    first = data(await gql(AUDIT, {"r": contact, "first": 2}))["auditLog"]
    assert first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    rest = data(await gql(AUDIT, {"r": contact, "first": 2, "after": after}))["auditLog"]
    assert [e["node"]["action"] for e in rest["edges"]] == ["create"]
    crossed = await gql(AUDIT, {"a": "u-admin", "after": after})
    assert crossed["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    elsewhere = await gql(AUDIT, {"r": contact, "after": after}, tenant=tenants.globex)
    assert elsewhere["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    late = await _events(gql, tenants.acme, r=contact, **{"from": "2999-01-01T00:00:00Z"})
    assert late == []

    # A device's sync page hands the record out whole: a read of its personal fields.
    data(await gql(SYNC, user="u-phone", role=Role.SALES_REP))
    synced = [e for e in await _events(gql, tenants.acme, a="u-phone") if e["action"] == "read"]
    assert [(e["recordId"], e["fields"]) for e in synced] == [
        (contact, ["email", "firstName", "lastName", "phone"])
    ]


async def test_a_tenant_that_does_not_audit_reads_records_none(gql: Gql, tenants: Tenants) -> None:
    customer, contact = await _seed(gql, tenants.globex)
    data(await gql(READ, {"c": customer}, tenant=tenants.globex))
    events = await _events(gql, tenants.globex, r=contact)
    assert [e["action"] for e in events] == ["update", "create"]
    assert await _events(gql, tenants.acme, r=contact) == []  # another tenant's record
