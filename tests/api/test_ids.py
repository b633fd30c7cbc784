"""An id names one record in a tenant, whatever its entity (DESIGN, "Ids"): server ids
are typed and time-ordered, and a client-chosen id must carry its entity's prefix."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import Gql
from tests.support import codes, errors_of

CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"
ACTIVITY = """mutation($i: CreateActivityInput!) {
  createActivity(input: $i) { id related { __typename ... on Customer { id } } } }"""
ACTIVITIES_OF = """query($c: ID!, $p: ID!) {
  customer(id: $c) { activities { edges { node { id } } } }
  contact(id: $p) { activities { edges { node { id } } } }
}"""
SERVER_ID = re.compile(r"^cus_[0-9a-hjkmnp-tv-z]{26}$")


async def test_server_ids_are_typed_and_time_ordered(gql: Gql) -> None:
    made = []
    for n in range(3):
        made.append(
            (await gql(CUSTOMER, {"i": {"companyName": f"C{n}"}}))["data"]["createCustomer"]["id"]
        )
        await asyncio.sleep(0.002)  # a millisecond apart at least
    assert all(SERVER_ID.fullmatch(i) for i in made), made
    assert made == sorted(made)


async def test_a_client_chosen_id_must_carry_its_entitys_prefix(gql: Gql) -> None:
    for bad in ("x1", "con_x1", "cus_", "cus_a b"):
        body = await gql(CUSTOMER, {"i": {"id": bad, "companyName": "C"}})
        assert errors_of(body)[0]["extensions"]["field"] == "id", bad
    ok = await gql(CUSTOMER, {"i": {"id": "cus_x1", "companyName": "C"}})
    assert ok["data"]["createCustomer"]["id"] == "cus_x1"
    contact = {"id": "cus_x2", "customerId": "cus_x1", "firstName": "A", "lastName": "B"}
    assert errors_of(await gql(CONTACT, {"i": contact}))[0]["extensions"]["field"] == "id"


async def test_a_customer_and_a_contact_of_the_same_suffix_are_two_records(gql: Gql) -> None:
    """Today's cus_x1 and con_x1 cannot be mistaken for one another: an activity on
    the customer belongs to the customer alone."""
    await gql(CUSTOMER, {"i": {"id": "cus_x1", "companyName": "C"}})
    contact = {"id": "con_x1", "customerId": "cus_x1", "firstName": "A", "lastName": "B"}
    assert "errors" not in await gql(CONTACT, {"i": contact})
    body = await gql(ACTIVITY, {"i": {"relatedId": "cus_x1", "type": "NOTE", "subject": "S"}})
    assert body["data"]["createActivity"]["related"] == {"__typename": "Customer", "id": "cus_x1"}
    activity = body["data"]["createActivity"]["id"]
    lists = (await gql(ACTIVITIES_OF, {"c": "cus_x1", "p": "con_x1"}))["data"]
    assert lists["customer"]["activities"]["edges"] == [{"node": {"id": activity}}]
    assert lists["contact"]["activities"]["edges"] == []


async def test_related_id_must_name_a_customer_contact_or_opportunity(gql: Gql) -> None:
    for related in ("x1", "act_x1", "usr_x1"):
        body = await gql(ACTIVITY, {"i": {"relatedId": related, "type": "NOTE", "subject": "S"}})
        assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "relatedId"}


JOB = "query($id: ID!) { job(id: $id) { id } }"
PRIVACY_REQUEST = "query($id: ID!) { privacyRequest(id: $id) { id } }"
CANCEL_JOB = "mutation($id: ID!) { cancelJob(id: $id) { id } }"


async def test_a_malformed_job_id_is_bad_input_not_an_outage(gql: Gql) -> None:
    """DynamoDB refuses an empty key (ValidationException): that is the client's
    id, checked first, and never the 503 of an outage."""
    for document in (JOB, PRIVACY_REQUEST, CANCEL_JOB):
        for bad in ("", "j" * 3000):
            body = await gql(document, {"id": bad})
            assert codes(body) == ["BAD_USER_INPUT"], (document, len(bad))
            assert errors_of(body)[0]["extensions"]["field"] == "id"
    for document in (JOB, PRIVACY_REQUEST):
        assert "errors" not in await gql(document, {"id": "job_unknown"})
