"""A nested query costs one Query per distinct parent at each level, never per record."""

from __future__ import annotations

from dal.store import Repos
from tests.conftest import Gql
from tests.graph import Shape, build
from tests.support import RequestLog

NESTED = """
query {
  customers(first: 20) { edges { node {
    contacts { edges { node {
      opportunities { edges { node {
        activities { edges { node { id } } }
      } } }
    } } }
  } } }
}
"""
WARM_UP = "query { me { id } }"


async def test_nested_query_costs_one_query_per_distinct_parent(
    gql: Gql, repos: Repos, request_log: RequestLog
) -> None:
    shape = Shape()
    await build(repos, shape)
    await gql(WARM_UP)  # provisions the caller's user record first
    request_log.clear()

    body = await gql(NESTED)

    assert "errors" not in body
    customers = body["data"]["customers"]["edges"]
    contacts = [c for e in customers for c in e["node"]["contacts"]["edges"]]
    opportunities = [o for c in contacts for o in c["node"]["opportunities"]["edges"]]
    activities = [a for o in opportunities for a in o["node"]["activities"]["edges"]]
    assert (len(customers), len(contacts), len(opportunities), len(activities)) == (20, 40, 80, 160)
    # One Query for the customer page, then one per distinct parent per level.
    expected = 1 + len(customers) + len(contacts) + len(opportunities)
    assert request_log.counts() == {"Query": expected}


async def test_repeated_parents_are_queried_once(
    gql: Gql, repos: Repos, request_log: RequestLog
) -> None:
    await build(repos, Shape(customers=3, contacts=1, opportunities=1, activities=1))
    await gql(WARM_UP)
    request_log.clear()
    # The same customer twice under aliases: its contacts are one Query, not two.
    body = await gql(
        'query { a: customer(id: "cus_000") { contacts { edges { node { id } } } }'
        ' b: customer(id: "cus_000") { contacts { edges { node { id } } } } }'
    )
    assert body["data"]["a"] == body["data"]["b"]
    # The customer itself is in the record layer (its create put it through): no read.
    assert request_log.counts() == {"Query": 1}
