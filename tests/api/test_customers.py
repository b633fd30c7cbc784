"""Customers through GraphQL: create, read, filter, page, update with versions, delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dal.store import Repos
from tests.conftest import Gql, Tenants
from tests.support import codes, errors_of

CREATE = """
mutation Create($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id companyName industry tier contactInfo version owner { id } }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: UpdateCustomerInput!, $v: Int) {
  updateCustomer(id: $id, input: $input, expectedVersion: $v) { id companyName industry version }
}
"""
DELETE = "mutation Delete($id: ID!, $v: Int) { deleteCustomer(id: $id, expectedVersion: $v) }"
GET = "query Get($id: ID!) { customer(id: $id) { id companyName version } }"
LIST = """
query List($filter: CustomerFilter, $first: Int, $after: String) {
  customers(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id companyName } } pageInfo { hasNextPage endCursor }
  }
}
"""
ADD_CONTACT = """
mutation($input: CreateContactInput!) { createContact(input: $input) { id } }
"""


async def _create(gql: Gql, **fields: Any) -> dict[str, Any]:
    body = await gql(CREATE, {"input": {"companyName": "Acme Corp", **fields}})
    assert "errors" not in body, body
    created: dict[str, Any] = body["data"]["createCustomer"]
    return created


async def test_create_defaults_owner_to_caller_and_reads_back(gql: Gql) -> None:
    created = await _create(gql, industry="Software", contactInfo={"city": "Berlin"})
    assert created["owner"] == {"id": "u-admin"}
    assert (created["tier"], created["version"]) == ("STANDARD", 1)
    assert created["contactInfo"] == {"city": "Berlin"}
    got = await gql(GET, {"id": created["id"]})
    assert got["data"]["customer"]["companyName"] == "Acme Corp"


async def test_missing_customer_is_null(gql: Gql) -> None:
    assert (await gql(GET, {"id": "nope"}))["data"] == {"customer": None}


async def test_invalid_input_names_the_field(gql: Gql) -> None:
    cases = [
        ({"companyName": "  "}, "companyName"),
        ({"companyName": "x" * 201}, "companyName"),
        ({"companyName": "A", "industry": "i" * 101}, "industry"),
        ({"companyName": "A", "ownerId": "nobody"}, "ownerId"),
        ({"companyName": "A", "id": "bad id!"}, "id"),
        ({"companyName": "A", "contactInfo": {"blob": "x" * 2000}}, "contactInfo"),
    ]
    for fields, field in cases:
        body = await gql(CREATE, {"input": fields})
        assert codes(body) == ["BAD_USER_INPUT"], fields
        assert errors_of(body)[0]["extensions"]["field"] == field


async def test_unknown_tier_is_refused_before_execution(gql: Gql) -> None:
    body = await gql(CREATE, {"input": {"companyName": "A", "tier": "GOLD"}})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_update_increments_version_and_checks_expected(gql: Gql) -> None:
    c = await _create(gql)
    body = await gql(UPDATE, {"id": c["id"], "input": {"industry": "Retail"}, "v": 1})
    assert body["data"]["updateCustomer"]["version"] == 2
    stale = await gql(UPDATE, {"id": c["id"], "input": {"industry": "Food"}, "v": 1})
    assert codes(stale) == ["CONFLICT"]
    assert errors_of(stale)[0]["extensions"]["currentVersion"] == 2
    assert (await gql(GET, {"id": c["id"]}))["data"]["customer"]["version"] == 2


async def test_update_can_clear_optional_field_but_not_required(gql: Gql) -> None:
    c = await _create(gql, industry="Software")
    body = await gql(UPDATE, {"id": c["id"], "input": {"industry": None}})
    assert body["data"]["updateCustomer"]["industry"] is None
    body = await gql(UPDATE, {"id": c["id"], "input": {"companyName": None}})
    assert errors_of(body)[0]["extensions"]["field"] == "companyName"


async def test_update_and_delete_of_missing_record_are_not_found(gql: Gql) -> None:
    assert codes(await gql(UPDATE, {"id": "nope", "input": {"industry": "x"}})) == ["NOT_FOUND"]
    assert codes(await gql(DELETE, {"id": "nope"})) == ["NOT_FOUND"]


async def test_delete_refuses_customer_with_contacts(gql: Gql) -> None:
    c = await _create(gql)
    contact = {"customerId": c["id"], "firstName": "Ann", "lastName": "Lee"}
    contact_id = (await gql(ADD_CONTACT, {"input": contact}))["data"]["createContact"]["id"]
    refused = await gql(DELETE, {"id": c["id"]})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert (await gql(GET, {"id": c["id"]}))["data"]["customer"] is not None
    await gql("mutation($id: ID!) { deleteContact(id: $id) }", {"id": contact_id})
    assert (await gql(DELETE, {"id": c["id"], "v": 1}))["data"] == {"deleteCustomer": c["id"]}
    assert (await gql(GET, {"id": c["id"]}))["data"]["customer"] is None


async def test_pages_follow_cursors_without_gaps(gql: Gql) -> None:
    ids = {(await _create(gql, companyName=f"Co {i}"))["id"] for i in range(7)}
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(LIST, {"first": 3, "after": after}))["data"]["customers"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 7
    assert set(seen) == ids


async def test_first_out_of_range_and_tampered_cursor_are_bad_input(
    gql: Gql, tenants: Tenants
) -> None:
    for first in (0, 101, -1):
        body = await gql(LIST, {"first": first})
        assert errors_of(body)[0]["extensions"]["field"] == "first"
    await _create(gql)
    await _create(gql, companyName="Other")
    cursor = (await gql(LIST, {"first": 1}))["data"]["customers"]["pageInfo"]["endCursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    body = await gql(LIST, {"first": 1, "after": tampered})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    foreign = await gql(LIST, {"first": 1, "after": cursor}, tenant=tenants.globex)
    assert codes(foreign) == ["BAD_USER_INPUT"]


async def test_filters_by_owner_industry_and_name_prefix(gql: Gql) -> None:
    await _create(gql, companyName="Acme Corp", industry="Software")
    await _create(gql, companyName="acme labs", industry="Retail")
    await _create(gql, companyName="Globex", industry="Software")

    async def names(**f: Any) -> list[str]:
        body = await gql(LIST, {"filter": f})
        return sorted(e["node"]["companyName"] for e in body["data"]["customers"]["edges"])

    assert await names(nameStartsWith="ACME") == ["Acme Corp", "acme labs"]
    assert await names(industry="software") == ["Acme Corp", "Globex"]
    assert await names(ownerId="u-admin", industry="Software", nameStartsWith="glo") == ["Globex"]
    assert await names(ownerId="someone-else") == []


CONTACT_DETAILS = """
mutation($input: CreateContactInput!) { createContact(input: $input) { id details } }
"""
NAMES = "{ customers(first: 50) { edges { node { id contactInfo } } } }"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


async def test_json_inputs_are_bounded_in_depth(gql: Gql) -> None:
    c = await _create(gql, contactInfo=_nested(32))
    assert c["contactInfo"] == _nested(32)
    body = await gql(UPDATE, {"id": c["id"], "input": {"contactInfo": _nested(33)}})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert errors_of(body)[0]["extensions"]["field"] == "contactInfo"
    for depth in (400, 600):  # past the request's own bound (edge.operation.MAX_NESTING)
        body = await gql(UPDATE, {"id": c["id"], "input": {"contactInfo": _nested(depth)}})
        assert codes(body) == ["BAD_REQUEST"], depth
    assert (await gql(GET, {"id": c["id"]}))["data"]["customer"]["version"] == 1
    details = {"customerId": c["id"], "firstName": "A", "lastName": "B", "details": _nested(40)}
    body = await gql(CONTACT_DETAILS, {"input": details})
    assert errors_of(body)[0]["extensions"]["field"] == "details"


async def test_a_wide_json_input_is_refused_by_its_size(gql: Gql) -> None:
    body = await gql(CREATE, {"input": {"companyName": "A", "contactInfo": [0] * 100_000}})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "larger than 1000 characters" in errors_of(body)[0]["message"]


async def test_a_stored_value_too_deep_to_cache_is_still_listed(gql: Gql, repos: Repos) -> None:
    """A value stored before the bound (or by another path) that pickle cannot take:
    the cache skips it, the lists still answer from the store."""
    c = await _create(gql)
    await repos.customers.update(c["id"], lambda r: replace(r, contact_info=_nested(900)))
    for _ in range(2):
        body = await gql(NAMES)
        assert "errors" not in body, body
        assert [e["node"]["id"] for e in body["data"]["customers"]["edges"]] == [c["id"]]
