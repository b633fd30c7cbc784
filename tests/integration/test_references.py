"""Referential integrity: references must exist, and a referenced record cannot go."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dal.errors import HasDependents, MissingReference
from dal.store import Repos
from tests.integration.records import activity, contact, customer, opportunity


async def test_contact_of_a_missing_customer_names_customer_id(repos: Repos) -> None:
    with pytest.raises(MissingReference) as error:
        await repos.contacts.create(contact("con_1", "cus_nope"))
    assert error.value.field == "customerId"
    assert await repos.contacts.get("con_1") is None


async def test_opportunity_with_a_missing_contact_names_contact_id(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    with pytest.raises(MissingReference) as error:
        await repos.opportunities.create(opportunity("opp_1", "cus_1", contact_id="con_nope"))
    assert error.value.field == "contactId"
    await repos.customers.delete("cus_1")  # the failed create left no reference behind


async def test_activity_with_a_missing_owner_names_owner_id(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    with pytest.raises(MissingReference) as error:
        await repos.activities.create(activity("act_1", "cus_1", owner_id="ghost"))
    assert error.value.field == "ownerId"


async def test_customer_with_a_contact_deletes_only_after_the_contact(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    await repos.contacts.create(contact("con_1", "cus_1"))
    with pytest.raises(HasDependents) as error:
        await repos.customers.delete("cus_1")
    assert error.value.count == 1
    await repos.contacts.delete("con_1")
    assert (await repos.customers.delete("cus_1")).id == "cus_1"
    assert await repos.customers.get("cus_1") is None


async def test_moving_an_opportunity_to_another_contact_moves_the_reference(
    repos: Repos,
) -> None:
    await repos.customers.create(customer("cus_1"))
    await repos.contacts.create(contact("con_a", "cus_1"))
    await repos.contacts.create(contact("con_b", "cus_1"))
    await repos.opportunities.create(opportunity("opp_1", "cus_1", contact_id="con_a"))
    moved = await repos.opportunities.update("opp_1", lambda o: replace(o, contact_id="con_b"))
    assert moved.contact_id == "con_b"
    await repos.contacts.delete("con_a")
    with pytest.raises(HasDependents):
        await repos.contacts.delete("con_b")


async def test_updating_to_a_missing_contact_names_contact_id_and_changes_nothing(
    repos: Repos,
) -> None:
    await repos.customers.create(customer("cus_1"))
    await repos.contacts.create(contact("con_a", "cus_1"))
    await repos.opportunities.create(opportunity("opp_1", "cus_1", contact_id="con_a"))
    with pytest.raises(MissingReference) as error:
        await repos.opportunities.update("opp_1", lambda o: replace(o, contact_id="con_nope"))
    assert error.value.field == "contactId"
    stored = await repos.opportunities.get("opp_1")
    assert stored is not None
    assert (stored.contact_id, stored.version) == ("con_a", 1)
    with pytest.raises(HasDependents):
        await repos.contacts.delete("con_a")


async def test_deleting_an_opportunity_releases_its_contact_and_customer(repos: Repos) -> None:
    await repos.customers.create(customer("cus_1"))
    await repos.contacts.create(contact("con_a", "cus_1"))
    await repos.opportunities.create(opportunity("opp_1", "cus_1", contact_id="con_a"))
    await repos.opportunities.delete("opp_1")
    await repos.contacts.delete("con_a")
    await repos.customers.delete("cus_1")
    assert await repos.customers.get_many(["cus_1"]) == [None]
