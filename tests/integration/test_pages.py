"""Dynamo.pages and Dynamo.count: the one "read every page" loop of the DAL."""

from __future__ import annotations

import asyncio

from dal.dynamodb.client import SortCondition
from dal.store import Repos
from tests.integration.records import customer
from tests.support import RequestLog


async def test_pages_reads_every_page_in_order_one_query_each(
    repos: Repos, request_log: RequestLog
) -> None:
    made = [f"cus_{i}" for i in range(5)]
    await asyncio.gather(*(repos.customers.create(customer(i)) for i in made))
    repo, index = repos.customers, repos.customers.codec.table.index("byTenant")
    key = (index.pk, repo.scope.key("all"))
    request_log.clear()
    pages = [p async for p in repo.dynamo.pages(repo.table_name, index.name, key, page=2)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert request_log.operations == ["Query"] * 3
    assert sorted(str(i["id"]) for p in pages for i in p) == made
    everything = (index.sk, SortCondition(">=", ("0",)))
    assert await repo.dynamo.count(repo.table_name, index.name, key, everything) == 5
