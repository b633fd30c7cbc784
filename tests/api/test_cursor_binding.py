"""A cursor belongs to the whole query it came from: index, partition, sort condition,
filter and, for windows relative to now, the "now" of the first page. Reused with
anything else it is BAD_USER_INPUT (DynamoDB would refuse the start key with an
error); the same query asked later keeps its first page's window."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from dal.models import Activity, ActivityType, Customer, Entity
from dal.store import Repos
from dal.timefmt import utcnow
from tests.conftest import Gql
from tests.support import errors_of

UPCOMING = """
query($id: ID!, $after: String) {
  customer(id: $id) {
    activities(upcoming: true, first: 1, after: $after) {
      edges { node { id } } pageInfo { hasNextPage endCursor }
    }
  }
}
"""
SEARCH = """
query($prefix: String!, $first: Int!, $after: String) {
  customers(filter: {nameStartsWith: $prefix}, first: $first, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""
BY_TYPE = """
query($type: ActivityType!, $after: String) {
  activities(filter: {type: $type}, first: 1, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""
CLOSING = """
query($from: Date!, $after: String) {
  opportunities(filter: {stage: LEAD, closingFrom: $from}, first: 1, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE_CUSTOMER = "mutation($n: String!) { createCustomer(input: {companyName: $n}) { id } }"
CREATE_DEAL = """mutation($c: ID!, $close: Date!) {
  createOpportunity(input: {customerId: $c, title: "D", value: "1", expectedCloseDate: $close})
  { id } }"""


def _connection(body: dict[str, Any], *path: str) -> dict[str, Any]:
    assert "errors" not in body, body
    node: dict[str, Any] = body["data"]
    for key in path:
        node = node[key]
    return node


async def _activities(repos: Repos, customer: str, offsets: list[float]) -> list[str]:
    now = utcnow()
    await repos.customers.create(
        Customer(id=customer, company_name="Soon", created_at=now, updated_at=now)
    )
    ids = []
    for n, seconds in enumerate(offsets):
        ids.append(f"act_soon{n}")
        await repos.activities.create(
            Activity(
                id=ids[-1],
                related_id=customer,
                related_type=Entity.CUSTOMER,
                type=ActivityType.CALL,
                subject="Call",
                scheduled_at=now + timedelta(seconds=seconds),
                created_at=now,
                updated_at=now,
            )
        )
    return ids


async def test_later_pages_of_upcoming_keep_the_first_pages_window(gql: Gql, repos: Repos) -> None:
    """Page 2 asked after page 1's last activity fell into the past still follows
    page 1's list (its "now"), instead of a start key outside the new window."""
    ids = await _activities(repos, "cus_soon", [2.0, 2.5, 60, 120])
    page = _connection(await gql(UPCOMING, {"id": "cus_soon"}), "customer", "activities")
    seen = [e["node"]["id"] for e in page["edges"]]
    await asyncio.sleep(3)  # the first two are in the past now
    while page["pageInfo"]["hasNextPage"]:
        after = page["pageInfo"]["endCursor"]
        body = await gql(UPCOMING, {"id": "cus_soon", "after": after})
        page = _connection(body, "customer", "activities")
        seen += [e["node"]["id"] for e in page["edges"]]
    assert seen == ids
    fresh = _connection(await gql(UPCOMING, {"id": "cus_soon"}), "customer", "activities")
    assert [e["node"]["id"] for e in fresh["edges"]] == ids[2:3]  # a new list: a new now


async def test_a_search_cursor_is_refused_with_another_prefix(gql: Gql) -> None:
    for name in ("Alpha One", "Alpha Two", "Beta One"):
        await gql(CREATE_CUSTOMER, {"n": name})
    first = _connection(await gql(SEARCH, {"prefix": "al", "first": 1}), "customers")
    after = first["pageInfo"]["endCursor"]
    assert after is not None
    for prefix in ("be", "alp", "al pha"):
        body = await gql(SEARCH, {"prefix": prefix, "first": 1, "after": after})
        assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    again = await gql(SEARCH, {"prefix": "al", "first": 1, "after": after})
    assert len(_connection(again, "customers")["edges"]) == 1


async def test_a_cursor_is_refused_under_another_filter(gql: Gql, repos: Repos) -> None:
    await _activities(repos, "cus_typed", [3600, 7200])
    first = _connection(await gql(BY_TYPE, {"type": "CALL"}), "activities")
    body = await gql(BY_TYPE, {"type": "EMAIL", "after": first["pageInfo"]["endCursor"]})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_a_cursor_is_refused_under_another_sort_condition(gql: Gql) -> None:
    """A start key outside the new key condition (closing from a later day) would be
    refused by DynamoDB with an error; the cursor is refused first, as bad input."""
    customer = (await gql(CREATE_CUSTOMER, {"n": "Dates"}))["data"]["createCustomer"]["id"]
    for close in ("2030-01-01", "2030-02-01", "2030-03-01"):
        await gql(CREATE_DEAL, {"c": customer, "close": close})
    first = _connection(await gql(CLOSING, {"from": "2030-01-01"}), "opportunities")
    body = await gql(CLOSING, {"from": "2030-02-15", "after": first["pageInfo"]["endCursor"]})
    assert errors_of(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_forty_alpha_atlas_customers_page_one_by_one_each_exactly_once(
    gql: Gql, repos: Repos
) -> None:
    """Each name has two words starting with "a": a customer is listed at the first
    only, so after the 40 "alpha" terms come 40 repeats to skip. Every page has a
    customer or, cut short, a cursor to follow: never an empty page that claims
    more with nowhere to resume."""
    now = utcnow()
    ids = [f"cus_atlas{n:02}" for n in range(40)]
    for n, id in enumerate(ids):
        name = f"Alpha Atlas {n}"
        await repos.customers.create(
            Customer(id=id, company_name=name, created_at=now, updated_at=now)
        )
    seen: list[str] = []
    after = None
    for _ in range(200):
        page = _connection(
            await gql(SEARCH, {"prefix": "a", "first": 1, "after": after}), "customers"
        )
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after is not None, page
    assert seen == sorted(ids)  # A-Z by the term ("alpha"), then by id
