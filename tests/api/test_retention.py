"""Retention by data category, read back from the stores: TTLs on the system-log
tables, 7-year archive copies of deleted business records, a legal hold that
stops every purge, and who may handle privacy requests."""

from __future__ import annotations

import time
from typing import Any

from dal.dynamodb.tables import ARCHIVE, CHANGES, DOCUMENTS, JOBS
from dal.models import Role
from services import Services
from tests.conftest import PREFIX, Gql, Settle, Tenants

DAY = 86_400
CUSTOMER = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id } }"
CONTACT = """
mutation($c: ID!) { createContact(input: {customerId: $c, firstName: "Ann", lastName: "Lee"}) {
  id } }"""
DEAL = """
mutation($c: ID!) { createOpportunity(input: {customerId: $c, title: "T", value: "10"}) { id } }"""
DROP_CUSTOMER = "mutation($id: ID!) { deleteCustomer(id: $id) }"
DROP_DEAL = "mutation($id: ID!) { deleteOpportunity(id: $id) }"
DROP_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) }"
ERASE = "mutation($id: ID!) { requestErasure(subjectKind: CONTACT, subjectId: $id) { id } }"
AUDIT = "query($r: ID, $a: ID) { auditLog(recordId: $r, actorId: $a) { edges { node { id } } } }"
MANAGER = """
mutation { createUser(input: {id: "u-dpo", username: "dpo", email: "dpo@example.com",
  role: MANAGER, permissions: ["privacy:manage"]}) { id } }"""


def _id(body: dict[str, Any]) -> str:
    assert "errors" not in body, body["errors"]
    (value,) = body["data"].values()
    return str(value["id"] if isinstance(value, dict) else value)


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_system_logs_and_archives_expire_by_ttl(db: Services) -> None:
    for table in (CHANGES, JOBS, ARCHIVE, DOCUMENTS):
        got = await db.dynamo_client.describe_time_to_live(TableName=f"{PREFIX}{table.entity}")
        described = got["TimeToLiveDescription"]
        assert described["TimeToLiveStatus"] == "ENABLED", table.entity
        assert described["AttributeName"] == "expiresAt"


async def test_a_deleted_business_record_is_archived_for_seven_years_unless_on_hold(
    gql: Gql, db: Services, tenants: Tenants, settle: Settle
) -> None:
    repos = await db.store.open(tenants.acme)
    customer = _id(await gql(CUSTOMER, {"n": "Gone Ltd"}))
    _id(await gql(DROP_CUSTOMER, {"id": customer}))
    await settle()  # the copy is the stream consumer's
    (copy,) = (await repos.archive.page(10))[0]
    assert (copy.entity.value, copy.id, copy.record["companyName"]) == (
        "Customers", customer, "Gone Ltd",
    )  # fmt: skip
    assert copy.expires_at is not None
    years = (copy.expires_at - time.time()) / (365.25 * DAY)
    assert 6.9 < years < 7.1

    assert await repos.archive.hold(True) == 1
    kept = _id(await gql(CUSTOMER, {"n": "Kept Ltd"}))
    contact = _id(await gql(CONTACT, {"c": kept}))
    deal = _id(await gql(DEAL, {"c": kept}))
    _id(await gql(DROP_DEAL, {"id": deal}))
    leaver = _id(await gql(CONTACT, {"c": kept}))
    _id(await gql(DROP_CONTACT, {"id": leaver}))  # no purge under hold: kept too
    await settle()
    copies, _ = await repos.archive.page(10)
    assert sorted(c.entity.value for c in copies) == ["Contacts", "Customers", "Opportunities"]
    assert [c.expires_at for c in copies] == [None, None, None]  # no TTL purges anything
    refused = await gql(ERASE, {"id": contact})
    assert _code(refused) == "BAD_USER_INPUT"
    assert "legal hold" in refused["errors"][0]["message"]

    assert await repos.archive.hold(False) == 3
    copies, _ = await repos.archive.page(10)
    for c in copies:
        if c.entity.value == "Contacts":  # kept for the hold only: it goes now
            assert c.expires_at is not None
            assert abs(c.expires_at - time.time()) < 60
        else:
            assert c.expires_at == int(c.deleted_at.timestamp() + 7 * 366 * DAY)
    _id(await gql(DROP_CONTACT, {"id": _id(await gql(CONTACT, {"c": kept}))}))
    await settle()
    assert len((await repos.archive.page(10))[0]) == 3  # no hold: a contact's delete purges
    assert "errors" not in await gql(ERASE, {"id": contact})


async def test_privacy_requests_and_the_audit_log_are_for_admins_and_granted_managers(
    gql: Gql, tenants: Tenants
) -> None:
    customer = _id(await gql(CUSTOMER, {"n": "Acme"}))
    contact = _id(await gql(CONTACT, {"c": customer}))
    for role in (Role.SALES_REP, Role.MANAGER, Role.READ_ONLY):
        assert _code(await gql(ERASE, {"id": contact}, user="u-x", role=role)) == "FORBIDDEN"
        assert _code(await gql(AUDIT, {"r": contact}, user="u-x", role=role)) == "FORBIDDEN"
    _id(await gql(MANAGER))
    seen = await gql(AUDIT, {"r": contact}, user="u-dpo", role=Role.MANAGER)
    assert len(seen["data"]["auditLog"]["edges"]) == 1  # the contact's create
    assert _code(await gql(AUDIT, {})) == "BAD_USER_INPUT"  # neither recordId nor actorId
    assert _code(await gql(AUDIT, {"r": contact, "a": "u-admin"})) == "BAD_USER_INPUT"
    missing = await gql(ERASE, {"id": "con_00000000000000000000000000"})
    assert _code(missing) == "BAD_USER_INPUT"
    assert _id(await gql(ERASE, {"id": contact}, user="u-dpo", role=Role.MANAGER))
