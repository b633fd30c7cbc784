"""A document's cache policy, read off the schema's @cacheControl hints."""

from __future__ import annotations

import time

from graphql import parse

from schema import build_schema
from schema.cache_policy import Policy, policy_of
from schema.caching import CacheScope

SCHEMA = build_schema()._schema
LIST = (
    "{ customers(first: 5) { edges { cursor node { id companyName } } pageInfo { hasNextPage } } }"
)
BOTH = '{ customer(id: "cus_1") { ...C } dashboard { asOf pipeline { totalValue } } } fragment C on Customer { id tier }'  # noqa: E501
UNCOVERED = [
    '{ customer(id: "cus_1") { id owner { id } } }',  # a user: no layer describes it
    "{ me { id } }",
    '{ contact(id: "con_1") { id } }',
    "{ __schema { queryType { name } } }",
    'mutation { deleteCustomer(id: "cus_1") }',
    "query A { pipeline { totalValue } } query B { me { id } }",  # which one is unnamed
]


def _policy(document: str, name: str | None = None) -> Policy | None:
    return policy_of(SCHEMA, parse(document), name)


def test_a_list_reads_its_layer_and_the_record_layer() -> None:
    found = _policy(LIST)
    assert found is not None
    assert (found.layers, found.max_age, found.scope) == (
        {"customer_list", "customer"},
        60,
        CacheScope.TENANT,
    )


def test_the_lowest_max_age_and_the_widest_scope_win_through_fragments() -> None:
    found = _policy(BOTH)
    assert found is not None
    assert found.max_age == 30
    assert found.scope is CacheScope.USER
    assert found.live
    assert found.layers == {"customer", "dashboard"}


def test_answers_no_generation_describes_have_no_policy() -> None:
    for document in UNCOVERED:
        assert _policy(document) is None, document


def test_the_named_operation_is_the_one_judged() -> None:
    document = "query A { pipeline { totalValue } } query B { me { id } }"
    assert _policy(document, "A") is not None
    assert _policy(document, "B") is None


def test_a_fragment_bomb_is_walked_once_per_fragment() -> None:
    """F8 spreads F7 ten times, ..., F1 spreads F0: 10**8 copies of a cacheable field,
    walked as nine fragments (unmemoised, the process froze for over a minute)."""
    chain = [f"fragment F{i} on Query {{ {f'...F{i - 1} ' * 10}}}" for i in range(1, 9)]
    document = "{ ...F8 } fragment F0 on Query { pipeline { totalValue } } " + " ".join(chain)
    started = time.monotonic()
    found = _policy(document)
    assert time.monotonic() - started < 1.0
    assert found is not None
    assert (found.layers, found.max_age) == ({"reports"}, 300)
