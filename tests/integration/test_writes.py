"""Versioned writes: versions, conflicts, missing records, and no lost updates."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from dal.dynamodb.conditions import absent, present
from dal.dynamodb.writes import check
from dal.errors import AlreadyExists, NotFound, TransactionCancelled, VersionConflict
from dal.models import Customer
from dal.store import Repos
from tests.integration.records import at, customer
from tests.support import RequestLog


async def test_create_is_version_1_and_update_bumps_version_and_updated_at(repos: Repos) -> None:
    created = await repos.customers.create(customer("cus_1", created=at(0), version=7))
    assert created.version == 1
    updated = await repos.customers.update("cus_1", lambda c: replace(c, industry="Retail"))
    stored = await repos.customers.get("cus_1")
    assert stored == updated
    assert (updated.version, updated.industry) == (2, "Retail")
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at


async def test_stale_expected_version_raises_conflict_with_current_version(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    await repos.customers.update("cus_1", lambda c: c)
    with pytest.raises(VersionConflict) as update_error:
        await repos.customers.update("cus_1", lambda c: c, expected_version=1)
    with pytest.raises(VersionConflict) as delete_error:
        await repos.customers.delete("cus_1", expected_version=1)
    assert update_error.value.current_version == delete_error.value.current_version == 2
    assert (await repos.customers.delete("cus_1", expected_version=2)).version == 2


async def test_update_or_delete_of_a_missing_id_raises_not_found(repos: Repos) -> None:
    with pytest.raises(NotFound):
        await repos.customers.update("cus_nope", lambda c: c)
    with pytest.raises(NotFound):
        await repos.customers.delete("cus_nope")
    with pytest.raises(NotFound):
        await repos.customers.update("", lambda c: c)


async def test_create_with_a_taken_id_raises_already_exists(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    with pytest.raises(AlreadyExists):
        await repos.customers.create(customer("cus_1", company_name="Other"))
    assert (await repos.customers.get("cus_1")) == (await repos.customers.get_many(["cus_1"]))[0]


async def test_concurrent_updates_without_expected_version_lose_no_change(
    repos: Repos, request_log: RequestLog
) -> None:
    await repos.customers.create(customer("cus_1", contact_info=[]))
    request_log.clear()

    async def append(tag: str) -> Customer:
        return await repos.customers.update(
            "cus_1", lambda c: replace(c, contact_info=[*c.contact_info, tag])
        )

    tags = ["a", "b", "c"]
    results = await asyncio.gather(*map(append, tags), return_exceptions=True)
    applied = [t for t, r in zip(tags, results, strict=True) if isinstance(r, Customer)]
    failed = [r for r in results if not isinstance(r, Customer)]
    assert all(isinstance(r, VersionConflict) for r in failed), failed
    assert applied, "at least one writer wins each round"
    final = await repos.customers.get("cus_1")
    assert final is not None
    assert sorted(final.contact_info) == applied
    assert final.version == 1 + len(applied)
    # Each attempt is one transaction (the record and its change-log entry).
    assert request_log.counts()["TransactWriteItems"] > len(applied), "the writers did not race"


async def test_a_rename_that_keeps_a_word_rewrites_its_search_term_once(repos: Repos) -> None:
    """ "Acme" -> "Acme 2" keeps the word item "acme" but changes the words it
    carries: one Put of it, not a Delete and a Put of one item in one
    transaction (which DynamoDB refuses with a ValidationException)."""
    await repos.customers.create(customer("cus_1", company_name="Acme"))
    await repos.customers.update("cus_1", lambda c: replace(c, company_name="Acme 2"))
    found = await repos.customers.search("acme", 10)
    assert [c.company_name for c in found.items] == ["Acme 2"]
    assert [c.id for c in (await repos.customers.search("acme 2", 10)).items] == ["cus_1"]


async def test_a_lone_condition_check_checks_and_deletes_nothing(repos: Repos) -> None:
    """``Dynamo.write`` sent every single operation that was not a Put or an Update
    as a DeleteItem: a ConditionCheck alone deleted the item it checked."""
    await repos.customers.create(customer("cus_1"))
    dynamo, table, pk = repos.customers.dynamo, repos.customers.table_name, repos.scope.pk("cus_1")
    await dynamo.write([check(table, pk, present())])
    assert await repos.customers.get("cus_1") is not None
    with pytest.raises(TransactionCancelled) as cancelled:
        await dynamo.write([check(table, pk, absent())])
    assert cancelled.value.reasons == ["ConditionalCheckFailed"]
    assert await repos.customers.get("cus_1") is not None


async def test_an_unknown_write_operation_is_refused_before_sending(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    key = {"TableName": repos.customers.table_name, "Key": {"pk": {"S": "x"}}}
    for bad in ({"Remove": key}, {"Put": key, "Delete": key}, {}):
        with pytest.raises(ValueError, match="not a write operation"):
            await repos.customers.dynamo.write([bad])
    assert await repos.customers.get("cus_1") is not None
