"""Scenario f: our GraphQL engine over in-memory records against graphql-core's floor.

Ours is the production schema (``schema.build_schema()``, development's defaults,
its extensions: error policy, document limits and cost) executing
``customers(first: 100)`` in a Context whose ``CustomerRepo.find`` answers a
prebuilt page of 100 records; its DynamoDB client is a bare ``object()``, so
any I/O would raise. The floor is graphql-core's ``graphql()`` over a schema
of graphql-core's own types resolving the same selection over the same records
as plain dicts. Both parse, validate and execute the document each time.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import io
import pstats
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from graphql import (
    ExecutionResult,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    graphql,
    parse,
    validate,
)

from auth import Principal
from dal.dynamodb.client import Dynamo
from dal.models import Customer, CustomerTier, Page, Role
from dal.records import customers
from dal.records.cursors import CursorCodec
from dal.records.customers import CustomerRepo
from dal.store import Repos, Store
from resolvers.context import Context, PageLimits, build_context
from schema import ZebrosSchema, build_schema

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

QUERY = "{ customers(first: 100) { edges { node { id companyName industry tier version } } } }"
TENANT, SIZE = "engine", 100
Run = Callable[[], Awaitable[None]]


class InMemoryCustomers(CustomerRepo):
    """``find`` answers its one page (cut to ``first``) without I/O."""

    def __init__(self, base: CustomerRepo, page: Page[Customer]) -> None:
        super().__init__(base.dynamo, base.scope, CursorCodec(b"engine"), customers.CODEC)
        self._page = page

    async def find(
        self,
        first: int,
        after: str | None = None,
        *,
        owner_id: str | None = None,
        industry: str | None = None,
        name_prefix: str | None = None,
    ) -> Page[Customer]:
        p = self._page
        return Page(p.items[:first], p.cursors[:first], has_next=len(p.items) > first)


def records() -> list[Customer]:
    at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    tiers = list(CustomerTier)
    return [
        Customer(id=f"cus_01JENGINE{i:017d}", company_name=f"Northwind Traders {i}",
                 industry=("Software", None, "Retail")[i % 3], tier=tiers[i % len(tiers)],
                 created_at=at, updated_at=at, version=1 + i % 4)
        for i in range(SIZE)
    ]  # fmt: skip


def repos(page: Page[Customer]) -> Repos:
    nowhere = Dynamo(cast("DynamoDBClient", object()))  # any call raises: no I/O
    bound = Store(nowhere, table_prefix="engine-", cursor_secret=b"engine").for_tenant(TENANT)
    return dataclasses.replace(bound, customers=InMemoryCustomers(bound.customers, page))


def context(page: Page[Customer]) -> Context:
    caller = Principal(TENANT, "engine-admin", Role.ADMIN, "engine-admin", "a@example.com")
    return build_context("engine", caller, repos(page), PageLimits())


def ours(schema: ZebrosSchema, page: Page[Customer]) -> Run:
    async def run() -> None:
        result = await schema.execute(QUERY, context_value=context(page))
        if result.errors:
            raise RuntimeError(f"ours: {result.errors}")

    return run


def floor_schema(rows: list[dict[str, Any]]) -> GraphQLSchema:
    tier = GraphQLEnumType("CustomerTier", {t.name: t for t in CustomerTier})
    node = GraphQLObjectType("Customer", {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)),
        "companyName": GraphQLField(GraphQLNonNull(GraphQLString)),
        "industry": GraphQLField(GraphQLString),
        "tier": GraphQLField(GraphQLNonNull(tier)),
        "version": GraphQLField(GraphQLNonNull(GraphQLInt)),
    })  # fmt: skip
    edge = GraphQLObjectType("CustomerEdge", {"node": GraphQLField(GraphQLNonNull(node))})
    conn = GraphQLObjectType("CustomerConnection", {"edges": GraphQLField(
        GraphQLNonNull(GraphQLList(GraphQLNonNull(edge))))})  # fmt: skip

    async def customers_of(root: Any, info: Any, first: int = 20) -> dict[str, Any]:
        return {"edges": [{"node": row} for row in rows[:first]]}

    field = GraphQLField(GraphQLNonNull(conn), {"first": GraphQLArgument(GraphQLInt)},
                         resolve=customers_of)  # fmt: skip
    return GraphQLSchema(GraphQLObjectType("Query", {"customers": field}))


def floor(page: Page[Customer], *, parsed: bool) -> Run:
    """graphql-core over dicts: ``graphql()`` each time, or (``parsed``) ``execute()`` of
    a document parsed and validated once, as ours caches both (``schema/limits.py``)."""
    rows = [{"id": c.id, "companyName": c.company_name, "industry": c.industry,
             "tier": c.tier, "version": c.version} for c in page.items]  # fmt: skip
    built, document = floor_schema(rows), parse(QUERY)
    if validate(built, document):
        raise RuntimeError("floor: the document does not validate")

    async def run() -> None:
        answer = execute(built, document) if parsed else graphql(built, QUERY)
        result = await cast("Awaitable[ExecutionResult]", answer)
        if result.errors:
            raise RuntimeError(f"floor: {result.errors}")

    return run


async def timed(run: Run, iterations: int, rounds: int = 3) -> float:
    """Best of ``rounds``: microseconds per execution."""
    await run()
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(iterations):
            await run()
        best = min(best, time.perf_counter() - began)
    return best / iterations * 1e6


async def _profiled(run: Run, iterations: int, profiler: cProfile.Profile) -> None:
    await run()
    profiler.enable()  # here, so the event loop's own frames stay out of the listing
    for _ in range(iterations):
        await run()
    profiler.disable()


def profile(run: Run, iterations: int, top: int = 15) -> str:
    """The top entries by cumulative time, then by own time; paths shortened."""
    profiler = cProfile.Profile()
    asyncio.run(_profiled(run, iterations, profiler))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    lines = [_short(line) for line in out.getvalue().splitlines()]
    return "\n".join(line for line in lines if line.strip() and "List reduced" not in line)


def _short(line: str) -> str:
    return re.sub(r"\S*/(site-packages|lib/python3\.\d+|work/main)/", "", line)


@dataclasses.dataclass(frozen=True, slots=True)
class EngineResult:
    ours_us: float
    floor_us: float  # execute() of the parsed, validated document: the floor the target uses
    graphql_us: float  # graphql(): parse, validate and execute each time
    iterations: int
    profile: str

    @property
    def ratio(self) -> float:
        return self.ours_us / self.floor_us


def measure(iterations: int) -> EngineResult:
    items = records()
    page = Page(items, [f"cursor-{i}" for i in range(SIZE)], has_next=False)
    mine = ours(build_schema(), page)
    ours_us = asyncio.run(timed(mine, iterations))
    floor_us = asyncio.run(timed(floor(page, parsed=True), iterations))
    graphql_us = asyncio.run(timed(floor(page, parsed=False), iterations))
    return EngineResult(ours_us, floor_us, graphql_us, iterations, profile(mine, iterations))
