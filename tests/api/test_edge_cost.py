"""Lists without ``first`` cost their declared size (``@listSize``) times their selection."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    parse,
)

import schema
from schema import build_schema
from schema.bounds import Limits
from schema.cost import declared_size
from schema.limits import measure
from tests.api.test_edge_limits import post, too_complex
from tests.support import RequestLog

SCHEMA = build_schema()
# Took 80 s before lists counted: every level is up to 100 activities, each with its owner.
TODAYS = (
    "{ me { todaysActivities { owner { todaysActivities { owner { todaysActivities { id } } } }"
    " } } }"
)
CLOSED_OWNERS = "{ dashboard { recentClosedDeals { owner { id } } todaysActivities { id } } }"
STAGES = "{ pipeline { stages { stage count } } }"
METRICS = (
    '{ activityMetrics(from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z") { user { id } } }'
)
FORECAST = '{ forecast(from: "2025-01-01", to: "2025-12-31") { period count } }'


def cost(document: str, variables: dict[str, Any] | None = None) -> int:
    return measure(SCHEMA._schema, parse(document), variables or {}, Limits()).cost


def test_a_list_multiplies_its_selection_by_its_declared_size() -> None:
    # me, then todaysActivities (1 + 100 x owner (1 + todaysActivities (1 + 100 x ...)))
    innermost = 1 + 100 * 0
    middle = 1 + 100 * (1 + innermost)
    assert cost(TODAYS) == 1 + 1 + 100 * (1 + middle)
    assert cost(CLOSED_OWNERS) == 1 + (1 + 10 * 1) + (1 + 100 * 0)
    assert cost(STAGES) == 1 + (1 + 6 * 0)
    assert cost(FORECAST) == 1 + 1_100 * 0


def test_a_list_without_a_declared_size_counts_as_the_largest_page() -> None:
    assert cost(METRICS) == 1 + 100 * 1
    tight = measure(SCHEMA._schema, parse(METRICS), {}, Limits(max_first=7)).cost
    assert tight == 1 + 7 * 1


def _undeclared_lists(built: GraphQLSchema) -> set[str]:
    """Fields typed as lists of objects without ``@listSize``, introspection aside."""
    found = set()
    for name, kind in built.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            of = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            target = get_named_type(field.type)
            listed = isinstance(of, GraphQLList) and isinstance(target, GraphQLObjectType)
            if listed and declared_size(field) is None:
                found.add(f"{name}.{field_name}")
    return found


def test_lists_of_objects_declare_their_size_in_the_sdl() -> None:
    sdl = schema.sdl()
    assert "directive @listSize(assumedSize: Int!) on FIELD_DEFINITION" in sdl
    assert "todaysActivities: [Activity!]! @listSize(assumedSize: 100)" in sdl
    assert "recentClosedDeals: [Opportunity!]! @listSize(assumedSize: 10)" in sdl
    assert "stages: [StageSummary!]! @listSize(assumedSize: 6)" in sdl
    assert "[ForecastBucket!]! @listSize(assumedSize: 1100)" in sdl
    # Connections' edges come with their page; activityMetrics has one row per
    # active user, which nothing bounds: it counts as the largest page.
    undeclared = {name for name in _undeclared_lists(SCHEMA._schema) if ".edges" not in name}
    assert undeclared == {"Query.activityMetrics"}


async def test_the_nested_todays_activities_query_is_refused_unrun(
    client: httpx.AsyncClient, request_log: RequestLog
) -> None:
    await post(client, {"query": "{ me { id } }"})  # provisions the caller first
    request_log.clear()
    response = await post(client, {"query": TODAYS})
    assert too_complex(response, "cost") == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": cost(TODAYS),
        "limit": 10_000,
    }
    assert len(request_log) == 0
