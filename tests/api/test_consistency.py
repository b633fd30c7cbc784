"""Checks decided where they cannot go stale: in the write's transaction, or by a
strongly consistent read; malformed ids refused as bad input; no sentinel key
that a user id can spell; the documented order of answers."""

from __future__ import annotations

import ast
from pathlib import Path

from dal.models import Role
from tests.conftest import Gql, Settle
from tests.support import RequestLog, codes, errors_of

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = 'mutation($id: ID!) { createCustomer(input: {id: $id, companyName: "C"}) { id } }'
CONTACT = """mutation($id: ID!, $c: ID!) {
  createContact(input: {id: $id, customerId: $c, firstName: "A", lastName: "B"}) { id } }"""
DEAL = """mutation($c: ID!, $p: ID) {
  createOpportunity(input: {customerId: $c, contactId: $p, title: "D", value: "10"}) { id } }"""
UPDATE = """mutation($id: ID!) { updateCustomer(id: $id, input: {industry: "X"}) { id } }"""
DELETE = """mutation($id: ID!) { deleteContact(id: $id) }"""
CREATE_USER = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }"
GRANT = """mutation($id: ID!) { updateUser(id: $id, input: {permissions: ["write:any"]}) { id } }"""
ACTIVITY = """mutation($r: ID!) {
  createActivity(input: {relatedId: $r, type: NOTE, subject: "S"}) { id } }"""
OWNED_DEAL = """mutation($c: ID!, $o: ID!, $v: Decimal!) {
  createOpportunity(input: {customerId: $c, ownerId: $o, title: "D", value: $v}) { id } }"""
PIPELINES = """query($a: ID, $b: ID) {
  all: pipeline { totalValue } a: pipeline(ownerId: $a) { totalValue }
  b: pipeline(ownerId: $b) { totalValue } }"""


async def test_a_contact_of_another_customer_is_refused_by_the_write_itself(
    gql: Gql, request_log: RequestLog
) -> None:
    for customer in ("cus_1", "cus_2"):
        await gql(CUSTOMER, {"id": customer})
    await gql(CONTACT, {"id": "con_of2", "c": "cus_2"})
    request_log.clear()
    body = await gql(DEAL, {"c": "cus_1", "p": "con_of2"})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "contactId"}
    # No read of the contact beforehand (eventually consistent, it could be stale):
    # the condition is part of the transaction.
    assert not [
        op for op, call in request_log.calls if call.get("TableName", "").endswith("Contacts")
    ]
    assert "TransactWriteItems" in request_log.operations
    ok = await gql(DEAL, {"c": "cus_2", "p": "con_of2"})
    assert "errors" not in ok


async def test_a_permission_is_read_strongly_consistent(gql: Gql, request_log: RequestLog) -> None:
    """A grant made a moment ago must count: the caller's record is read with
    ConsistentRead, not through the eventually consistent BatchGetItem."""
    await gql("query { me { id } }", user="u-rep", role=Role.SALES_REP)
    await gql(CUSTOMER, {"id": "cus_theirs"})  # owned by u-admin
    await gql(GRANT, {"id": "u-rep"})
    request_log.clear()
    body = await gql(UPDATE, {"id": "cus_theirs"}, user="u-rep", role=Role.SALES_REP)
    assert "errors" not in body, body
    reads = [(op, c) for op, c in request_log.calls if op in ("GetItem", "BatchGetItem")]
    users = [
        (op, c)
        for op, c in reads
        if str(c.get("TableName", c.get("RequestItems", ""))).find("Users") >= 0
    ]
    assert users
    assert all(op == "GetItem" and c.get("ConsistentRead") for op, c in users), users


async def test_malformed_ids_on_update_and_delete_are_bad_input(gql: Gql) -> None:
    for id in ("not an id", "x" * 65, "cus_ä"):
        assert errors_of(await gql(UPDATE, {"id": id}))[0]["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": "id",
        }, id
        assert errors_of(await gql(DELETE, {"id": id}))[0]["extensions"]["field"] == "id"
    # Well-formed but of another entity, or missing: nothing there.
    assert codes(await gql(UPDATE, {"id": "con_1"})) == ["NOT_FOUND"]
    assert codes(await gql(UPDATE, {"id": "cus_missing"})) == ["NOT_FOUND"]


async def test_a_role_refused_activities_hears_forbidden_whatever_related_id_names(
    gql: Gql,
) -> None:
    await gql(CUSTOMER, {"id": "cus_here"})
    for related in ("cus_here", "cus_nowhere", "opp_nowhere"):
        body = await gql(ACTIVITY, {"r": related}, user="u-reader", role=Role.READ_ONLY)
        assert codes(body) == ["FORBIDDEN"], related
        assert errors_of(body)[0]["extensions"]["action"] == "activity.create"
    missing = await gql(ACTIVITY, {"r": "cus_nowhere"})
    assert errors_of(missing)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "relatedId"}


async def test_no_user_id_spells_the_tenant_wide_series(gql: Gql, settle: Settle) -> None:
    """Users whose ids are "*" and "-" (a token's subject may be either) own deals:
    each sees their own pipeline, never the tenant's or the unowned deals'."""
    await gql(CUSTOMER, {"id": "cus_s"})
    for user in ("*", "-"):
        email = f"{'star' if user == '*' else 'dash'}@x.example"
        await gql(
            CREATE_USER, {"i": {"id": user, "username": user, "email": email, "role": "SALES_REP"}}
        )
    await gql(OWNED_DEAL, {"c": "cus_s", "o": "*", "v": "1.00"})
    await gql(OWNED_DEAL, {"c": "cus_s", "o": "-", "v": "2.00"})
    await gql(OWNED_DEAL, {"c": "cus_s", "o": "u-admin", "v": "4.00"})
    await settle()
    found = (await gql(PIPELINES, {"a": "*", "b": "-"}))["data"]
    assert (found["all"], found["a"], found["b"]) == (
        {"totalValue": "7.00"},
        {"totalValue": "1.00"},
        {"totalValue": "2.00"},
    )


def test_no_assert_is_reachable_from_a_request() -> None:
    """``python -O`` drops asserts, and an AssertionError is a 500 at best: a request
    path answers with the error tree, never an assert."""
    found = []
    for folder in ("schema", "resolvers", "dal", "edge"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            found += [
                f"{path.relative_to(ROOT)}:{n.lineno}"
                for n in ast.walk(tree)
                if isinstance(n, ast.Assert)
            ]
    for module in ("server.py", "auth.py", "services.py", "settings.py"):
        tree = ast.parse((ROOT / module).read_text())
        found += [f"{module}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    assert found == []
