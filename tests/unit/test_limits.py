"""Document limits measured on the real schema, without a server or a store."""

from __future__ import annotations

import time
from typing import Any

import pytest
from graphql import GraphQLError, get_introspection_query, parse

from schema import build_schema
from schema.bounds import Limits
from schema.limits import JSON_SAFE, Metrics, count_tokens, measure
from tests.api.test_nested_requests import NESTED  # the README's nested query

SCHEMA = build_schema()
LIMITS = Limits()
# One more level below the nested query: each activity's owner.
NESTED_PLUS_ONE = NESTED.replace("node { id }", "node { id owner { id } }")
CONTACTS = "query($n: Int) { customers(first: 10) { edges { node { contacts(first: $n) %s } } } }"
EDGES = "{ edges { node { id opportunities { edges { node { id } } } } } }"
FRAGMENTS = """
query { ...Root a: me { ...U } }
fragment Root on Query { b: me { id @include(if: true) } c: users { edges { node { ...U } } } }
fragment U on User { d: id username }
"""
CYCLE = "query { ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }"
INTROSPECTION = get_introspection_query(
    descriptions=True, specified_by_url=True, directive_is_repeatable=True
)


def metrics(document: str, variables: dict[str, Any] | None = None) -> Metrics:
    return measure(SCHEMA._schema, parse(document), variables or {}, LIMITS)


def bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2**levels copies of the last one."""
    chain = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "query { ...F0 } " + " ".join(chain) + f" fragment F{levels} on Query {{ me {{ id }} }}"


def test_nested_query_measures_what_the_readme_says() -> None:
    # Depth counts edges and node; leaves do not count. Cost: one page of
    # customers, then one request per customer, contact and opportunity.
    assert metrics(NESTED) == Metrics(depth=12, cost=1 + 20 + 20 * 20 + 20 * 20 * 20, fields=1)


def test_default_limits_admit_the_nested_query_and_one_more_level() -> None:
    plus_one = metrics(NESTED_PLUS_ONE)
    assert plus_one.depth == 13 <= LIMITS.max_depth
    assert metrics(NESTED).cost <= LIMITS.max_cost
    assert count_tokens(NESTED_PLUS_ONE) < LIMITS.max_tokens
    # A fourth nested connection at the default page size is what cost refuses.
    assert plus_one.cost > LIMITS.max_cost


def test_graphiql_introspection_fits_the_limits() -> None:
    found = metrics(INTROSPECTION)
    assert found.depth <= LIMITS.max_depth
    assert found.cost <= LIMITS.max_cost
    assert count_tokens(INTROSPECTION) <= LIMITS.max_tokens


def test_first_multiplies_its_subtree_and_variables_count() -> None:
    inner = 1  # each contact's opportunities: one request, whatever the page size
    assert metrics(CONTACTS % EDGES, {"n": 5}).cost == 1 + 10 * (1 + 5 * inner)
    assert metrics(CONTACTS % EDGES).cost == 1 + 10 * (1 + 20 * inner)  # unset: default
    assert metrics(CONTACTS % EDGES, {"n": "5"}).cost == 1 + 10 * (1 + 20 * inner)
    # Never more than a page holds: a larger first is refused by the resolver.
    assert metrics(CONTACTS % EDGES, {"n": 10_000}).cost == 1 + 10 * (1 + 100 * inner)


def test_a_variable_default_counts_when_no_value_is_sent() -> None:
    document = CONTACTS.replace("$n: Int", "$n: Int = 2") % EDGES
    assert metrics(document).cost == 1 + 10 * (1 + 2)
    assert metrics(document, {"n": 3}).cost == 1 + 10 * (1 + 3)


def test_object_fields_cost_one_load_and_scalars_nothing() -> None:
    assert metrics("{ me { id username } }").cost == 1
    assert metrics("{ __typename me { id } }").cost == 1
    assert metrics("{ customers(first: 100) { edges { node { id owner { id } } } } }").cost == 101


def test_aliases_root_fields_and_directives_are_counted_through_fragments() -> None:
    found = metrics(FRAGMENTS)
    # Aliases a, b, c, and d twice (U is spread under a and under c's nodes).
    assert (found.aliases, found.fields, found.directives) == (5, 3, 1)


def test_a_fragment_cycle_is_measured_without_looping() -> None:
    assert metrics(CYCLE).cost == 1


def test_a_fragment_bomb_is_measured_in_one_pass() -> None:
    started = time.perf_counter()
    found = metrics(bomb(60))
    assert found.fields == 2**60
    assert time.perf_counter() - started < 0.5


def test_tokens_are_counted_as_the_parser_counts_them() -> None:
    document = "# a comment\n" + NESTED
    tokens = count_tokens(document)
    parse(document, max_tokens=tokens)
    with pytest.raises(GraphQLError, match="more than"):
        parse(document, max_tokens=tokens - 1)


async def test_refusals_carry_the_code_the_measure_and_the_limit() -> None:
    result = await SCHEMA.execute(NESTED_PLUS_ONE)
    assert result.data is None
    [error] = result.errors or []
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "cost": 168_421, "limit": 10_000}


async def test_every_limit_is_enforced() -> None:
    tight = Limits(max_depth=2, max_aliases=1, max_root_fields=2, max_directives=0, max_cost=1)
    result = await build_schema(limits=tight).execute(FRAGMENTS)
    found = {k: v for e in result.errors or [] for k, v in (e.extensions or {}).items()}
    assert found["code"] == "QUERY_TOO_COMPLEX"
    assert (found["depth"], found["aliases"], found["rootFields"]) == (3, 5, 3)
    assert (found["directives"], found["cost"]) == (1, 3)


async def test_a_huge_document_is_refused_before_parsing() -> None:
    document = "{ me { id } }" + "#" * LIMITS.max_characters
    result = await SCHEMA.execute(document)
    [error] = result.errors or []
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "characters": 15_013, "limit": 15_000}
    assert error.locations is None


async def test_too_many_tokens_are_refused_with_the_count() -> None:
    # Comments count: each is a token the parser allocates.
    document = "{ me { id } }" + "\n#" * 996
    result = await SCHEMA.execute(document)
    [error] = result.errors or []
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "tokens": 1002, "limit": 1000}


async def test_a_measure_beyond_json_integers_is_capped() -> None:
    result = await SCHEMA.execute(bomb(60))
    rooted = [e.extensions for e in result.errors or [] if "rootFields" in (e.extensions or {})]
    assert rooted == [{"code": "QUERY_TOO_COMPLEX", "rootFields": JSON_SAFE, "limit": 20}]


async def test_prod_schema_hides_suggestions_and_introspection() -> None:
    prod = build_schema(introspection=False, suggestions=False)
    typo = await prod.execute("{ custmers { edges { node { id } } } }")
    assert [e.message for e in typo.errors or []] == [
        "Cannot query field 'custmers' on type 'Query'."
    ]
    bad_enum = await prod.execute("{ opportunities(filter: {stage: LEED}) { edges { cursor } } }")
    assert "Did you mean" not in str(bad_enum.errors)
    introspection = await prod.execute(INTROSPECTION)
    assert "introspection has been disabled" in str(introspection.errors)


async def test_dev_schema_suggests_and_introspects() -> None:
    typo = await SCHEMA.execute("{ custmers { edges { node { id } } } }")
    assert "Did you mean 'customers'" in str(typo.errors)
    introspection = await SCHEMA.execute(INTROSPECTION)
    assert introspection.errors is None
