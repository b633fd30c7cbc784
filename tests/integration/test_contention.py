"""Concurrent writers for real: DynamoDB Local behind a proxy that cancels colliding
writes as DynamoDB does (``tests/conflict_proxy.py``). Many writers in one tenant,
on one customer's children, and on one record: nobody sees an error that a
retry could have avoided, and nothing derived drifts from the records."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from dal.errors import VersionConflict
from services import Services
from settings import Settings
from tests.conftest import Settle, fresh_tenant
from tests.contention import CREATE_CONTACT, CREATE_DEAL, crowd, deal, deal_writes
from tests.integration.test_aggregates import assert_exact

WRITERS = 50


async def test_fifty_deal_writers_in_one_tenant_see_no_error_and_aggregates_stay_exact(
    settings: Settings, dynamodb_endpoint: str, services: Services, settle: Settle
) -> None:
    async with crowd(settings, dynamodb_endpoint) as c:
        customers = await c.setup(fresh_tenant("crowd"), customers=10)
        made = [await c.ask(CREATE_DEAL, i=deal(customers[n], 1000 + n)) for n in range(10)]
        deals = [str(m["data"]["createOpportunity"]["id"]) for m in made]
        outcome = await c.at_once(deal_writes(customers, deals, WRITERS - len(deals)))
        assert outcome.errors == []
        # Not vacuous: the writers did collide, and the data layer retried them.
        assert outcome.refused > 0
        assert outcome.retried >= outcome.refused
        await assert_exact(await c.services.store.open(c.tenant), settle)


async def test_fifty_contacts_of_one_customer_at_once_are_all_counted(
    settings: Settings, dynamodb_endpoint: str, services: Services
) -> None:
    """Every child create adds to its parent's reference count, all on one item."""
    async with crowd(settings, dynamodb_endpoint) as c:
        (customer,) = await c.setup(fresh_tenant("family"), customers=1)
        writes = [(CREATE_CONTACT, {"c": customer, "n": f"L{n}"}) for n in range(WRITERS)]
        outcome = await c.at_once(writes)
        assert outcome.errors == [], (outcome.seconds, outcome.requests, outcome.refused)
        assert outcome.refused > 0
        repos = await c.services.store.open(c.tenant)
        contacts = await repos.contacts.by_customer(customer, 100)
        assert len(contacts.items) == WRITERS
        for contact in contacts.items:  # the count went down as it went up
            await repos.contacts.delete(contact.id)
        assert (await repos.customers.delete(customer)).id == customer


async def test_writers_of_one_record_lose_no_change(
    settings: Settings, dynamodb_endpoint: str, services: Services
) -> None:
    """Twenty writers append to one customer's JSON at once: each write is conditioned
    on the version it read, so every applied change is in the final record."""
    async with crowd(settings, dynamodb_endpoint) as c:
        (customer,) = await c.setup(fresh_tenant("one"), customers=1)
        repos = await c.services.store.open(c.tenant)
        await repos.customers.update(customer, lambda r: replace(r, contact_info=[]))

        async def append(tag: int) -> int | None:
            try:
                await repos.customers.update(
                    customer, lambda r: replace(r, contact_info=[*r.contact_info, tag])
                )
            except VersionConflict:  # lost three races in a row: nothing written
                return None
            return tag

        applied = [
            t for t in await asyncio.gather(*(append(n) for n in range(20))) if t is not None
        ]
        final = await repos.customers.get(customer)
        assert final is not None
        assert sorted(final.contact_info) == sorted(applied)
        assert final.version == 2 + len(applied)
        assert applied
