"""Contacts, opportunities and activities through GraphQL: relations, rules, validation."""

from __future__ import annotations

from typing import Any

from tests.conftest import Gql
from tests.support import codes, errors_of

CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
CONTACT = """
mutation($i: CreateContactInput!) {
  createContact(input: $i) { id email customer { id } }
}
"""
OPPORTUNITY = """
mutation($i: CreateOpportunityInput!) {
  createOpportunity(input: $i) {
    id value stage probability closedAt customer { id } contact { id } owner { id }
  }
}
"""
UPDATE_OPPORTUNITY = """
mutation($id: ID!, $i: UpdateOpportunityInput!) {
  updateOpportunity(id: $id, input: $i) { stage probability closedAt version }
}
"""
ACTIVITY = """
mutation($i: CreateActivityInput!) {
  createActivity(input: $i) {
    id overdue related { __typename ... on Opportunity { id } ... on Customer { id } }
  }
}
"""
COMPLETE = "mutation($id: ID!) { completeActivity(id: $id) { completedAt overdue version } }"
CUSTOMER_TREE = """
query($id: ID!) { customer(id: $id) {
  contacts { edges { node { id opportunities { edges { node { id } } } } } }
  opportunities(stage: QUALIFIED) { edges { node { id stage } } }
  activities(upcoming: true) { edges { node { id } } }
} }
"""
ACTIVITIES = """
query($f: ActivityFilter) { activities(filter: $f) { edges { node { id subject } } } }
"""


async def _id(gql: Gql, document: str, payload: dict[str, Any], key: str) -> str:
    body = await gql(document, {"i": payload})
    assert "errors" not in body, body
    value: str = body["data"][key]["id"]
    return value


async def _customer_with_contact(gql: Gql) -> tuple[str, str]:
    cus = await _id(gql, CUSTOMER, {"companyName": "Acme"}, "createCustomer")
    con = await _id(
        gql, CONTACT, {"customerId": cus, "firstName": "A", "lastName": "B"}, "createContact"
    )
    return cus, con


async def test_contact_email_is_validated_and_normalised(gql: Gql) -> None:
    cus, _ = await _customer_with_contact(gql)
    bad = await gql(
        CONTACT,
        {"i": {"customerId": cus, "firstName": "A", "lastName": "B", "email": "not-an-email"}},
    )
    assert errors_of(bad)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "email"}
    ok = await gql(
        CONTACT,
        {"i": {"customerId": cus, "firstName": "A", "lastName": "B", "email": "Ann@Example.COM"}},
    )
    assert ok["data"]["createContact"]["email"] == "Ann@example.com"


async def test_contact_of_missing_customer_is_bad_input(gql: Gql) -> None:
    body = await gql(CONTACT, {"i": {"customerId": "ghost", "firstName": "A", "lastName": "B"}})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "customerId"}


async def test_opportunity_rules(gql: Gql) -> None:
    cus, con = await _customer_with_contact(gql)
    o = (
        await gql(
            OPPORTUNITY,
            {"i": {"customerId": cus, "contactId": con, "title": "Deal", "value": "1200.50"}},
        )
    )["data"]["createOpportunity"]
    assert (o["stage"], o["probability"], o["value"]) == ("LEAD", 10, "1200.50")
    assert o["contact"] == {"id": con}
    assert o["owner"] == {"id": "u-admin"}
    won = await gql(UPDATE_OPPORTUNITY, {"id": o["id"], "i": {"stage": "CLOSED_WON"}})
    assert won["data"]["updateOpportunity"]["probability"] == 100
    assert won["data"]["updateOpportunity"]["closedAt"] is not None
    reopened = await gql(
        UPDATE_OPPORTUNITY, {"id": o["id"], "i": {"stage": "PROPOSAL", "probability": 40}}
    )
    assert reopened["data"]["updateOpportunity"] == {
        "stage": "PROPOSAL",
        "probability": 40,
        "closedAt": None,
        "version": 3,
    }


async def test_opportunity_input_checks(gql: Gql) -> None:
    cus, _ = await _customer_with_contact(gql)
    other, other_contact = await _customer_with_contact(gql)
    base: dict[str, object] = {"customerId": cus, "title": "Deal", "value": "10"}
    cases: list[tuple[dict[str, object], str]] = [
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"value": "-5"}, "value"),
        ({"value": "1.234"}, "value"),
        ({"title": ""}, "title"),
        ({"contactId": other_contact}, "contactId"),
        ({"customerId": "ghost"}, "customerId"),
    ]
    for change, field in cases:
        body = await gql(OPPORTUNITY, {"i": base | change})
        assert codes(body) == ["BAD_USER_INPUT"], change
        assert errors_of(body)[0]["extensions"]["field"] == field, change
    assert other


async def test_customer_tree_and_stage_filter(gql: Gql) -> None:
    cus, con = await _customer_with_contact(gql)
    for stage in ("LEAD", "QUALIFIED"):
        await gql(
            OPPORTUNITY,
            {
                "i": {
                    "customerId": cus,
                    "contactId": con,
                    "title": stage,
                    "value": "5",
                    "stage": stage,
                }
            },
        )
    tree = (await gql(CUSTOMER_TREE, {"id": cus}))["data"]["customer"]
    assert len(tree["contacts"]["edges"][0]["node"]["opportunities"]["edges"]) == 2
    assert [e["node"]["stage"] for e in tree["opportunities"]["edges"]] == ["QUALIFIED"]


async def test_activity_relates_to_any_record_and_completes(gql: Gql) -> None:
    cus, con = await _customer_with_contact(gql)
    opp = await _id(
        gql, OPPORTUNITY, {"customerId": cus, "title": "D", "value": "1"}, "createOpportunity"
    )
    past = {
        "relatedId": opp,
        "type": "CALL",
        "subject": "Follow up",
        "scheduledAt": "2020-01-01T09:00:00Z",
    }
    a = (await gql(ACTIVITY, {"i": past}))["data"]["createActivity"]
    assert a["related"] == {"__typename": "Opportunity", "id": opp}
    assert a["overdue"] is True
    overdue = await gql(ACTIVITIES, {"f": {"overdue": True}})
    assert [e["node"]["id"] for e in overdue["data"]["activities"]["edges"]] == [a["id"]]
    done = (await gql(COMPLETE, {"id": a["id"]}))["data"]["completeActivity"]
    assert done["overdue"] is False
    assert done["version"] == 2
    overdue = await gql(ACTIVITIES, {"f": {"overdue": True}})
    assert overdue["data"]["activities"]["edges"] == []
    assert con


async def test_activity_with_unknown_related_id_is_bad_input(gql: Gql) -> None:
    body = await gql(ACTIVITY, {"i": {"relatedId": "ghost", "type": "NOTE", "subject": "x"}})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "relatedId"}


async def test_activities_filter_by_owner_and_related(gql: Gql) -> None:
    cus, _ = await _customer_with_contact(gql)
    for subject in ("one", "two"):
        await gql(
            ACTIVITY,
            {
                "i": {
                    "relatedId": cus,
                    "type": "TASK",
                    "subject": subject,
                    "scheduledAt": "2031-05-01T10:00:00Z",
                }
            },
        )
    mine = await gql(ACTIVITIES, {"f": {"ownerId": "u-admin", "relatedId": cus}})
    assert sorted(e["node"]["subject"] for e in mine["data"]["activities"]["edges"]) == [
        "one",
        "two",
    ]
    theirs = await gql(ACTIVITIES, {"f": {"ownerId": "someone"}})
    assert theirs["data"]["activities"]["edges"] == []


async def test_time_without_zone_is_utc(gql: Gql) -> None:
    cus, _ = await _customer_with_contact(gql)
    naive = {"relatedId": cus, "type": "CALL", "subject": "x", "scheduledAt": "2020-01-01T09:00:00"}
    body = await gql(ACTIVITY, {"i": naive})
    assert body["data"]["createActivity"]["overdue"] is True
    listed = await gql(
        ACTIVITIES,
        {"f": {"scheduledFrom": "2020-01-01T09:00:00", "scheduledTo": "2020-01-01T09:00:00"}},
    )
    assert len(listed["data"]["activities"]["edges"]) == 1


ACTIVITY_AT = """mutation($at: DateTime!) { createActivity(input: {relatedId: "cus_dates",
  type: CALL, subject: "Call", scheduledAt: $at}) { id scheduledAt } }"""
METRICS = (
    "query($from: DateTime!, $to: DateTime!) { activityMetrics(from: $from, to: $to) { planned } }"
)
CLOSE_ON = """mutation($d: Date) { createOpportunity(input: {customerId: "cus_dates", title: "D",
  value: "1.00", expectedCloseDate: $d}) { expectedCloseDate } }"""
DATES_CUSTOMER = 'mutation { createCustomer(input: {id: "cus_dates", companyName: "D"}) { id } }'


async def test_times_and_dates_out_of_range_or_not_iso_are_bad_input(gql: Gql) -> None:
    """Converting a time near datetime's ends overflowed (an HTTP 500); a date in
    ISO 8601's basic form ("20260101") was read as a date."""
    assert "errors" not in await gql(DATES_CUSTOMER)
    for at in (
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "20260101T000000Z",
        "2026-01-01T1030",  # ISO 8601's basic form of the time, or of the offset
        "2026-01-01T10:00:00+0100",
        "2026-01-01 10:00:00",
        "2026-01-01",
        "2026-01-01T10:00:00,5Z",
        "2026-01-01T10:00:00.123456789Z",
    ):
        body = await gql(ACTIVITY_AT, {"at": at})
        assert codes(body) == ["BAD_USER_INPUT"], at
    window = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}
    assert set(codes(await gql(METRICS, window))) == {"BAD_USER_INPUT"}
    widest = {"from": "1000-01-01T00:00:00-14:00", "to": "9998-12-31T23:59:59+14:00"}
    assert "errors" not in await gql(METRICS, widest)
    for day in (
        "20260101",
        "2026-1-1",
        "9999-12-31",
        "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661",
    ):
        assert codes(await gql(CLOSE_ON, {"d": day})) == ["BAD_USER_INPUT"], day
    body = await gql(ACTIVITY_AT, {"at": "2031-05-01T10:00:00+02:00"})
    assert body["data"]["createActivity"]["scheduledAt"] == "2031-05-01T08:00:00+00:00"
    ok = await gql(CLOSE_ON, {"d": "2031-05-01"})
    assert ok["data"]["createOpportunity"]["expectedCloseDate"] == "2031-05-01"
