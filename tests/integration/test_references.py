"""Referential integrity: references must exist, and a referenced record cannot go."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dal.errors import HasDependents, MissingReference
from dal.store import Repos
from tests.integration.records import activity, contact, customer, opportunity


async def test_contact_of_a_missing_customer_names_customer_id(repos: Repos) -> None:
    with pytest.raises(MissingReference) as error:
        await repos.contacts.create(contact("p1", "nope"))
    assert error.value.field == "customerId"
    assert await repos.contacts.get("p1") is None


async def test_opportunity_with_a_missing_contact_names_contact_id(repos: Repos) -> None:
    await repos.customers.create(customer("c1"))
    with pytest.raises(MissingReference) as error:
        await repos.opportunities.create(opportunity("o1", "c1", contact_id="nope"))
    assert error.value.field == "contactId"
    await repos.customers.delete("c1")  # the failed create left no reference behind


async def test_activity_with_a_missing_owner_names_owner_id(repos: Repos) -> None:
    await repos.customers.create(customer("c1"))
    with pytest.raises(MissingReference) as error:
        await repos.activities.create(activity("a1", "c1", owner_id="ghost"))
    assert error.value.field == "ownerId"


async def test_customer_with_a_contact_deletes_only_after_the_contact(repos: Repos) -> None:
    await repos.customers.create(customer("c1"))
    await repos.contacts.create(contact("p1", "c1"))
    with pytest.raises(HasDependents) as error:
        await repos.customers.delete("c1")
    assert error.value.count == 1
    await repos.contacts.delete("p1")
    assert (await repos.customers.delete("c1")).id == "c1"
    assert await repos.customers.get("c1") is None


async def test_moving_an_opportunity_to_another_contact_moves_the_reference(
    repos: Repos,
) -> None:
    await repos.customers.create(customer("c1"))
    await repos.contacts.create(contact("pa", "c1"))
    await repos.contacts.create(contact("pb", "c1"))
    await repos.opportunities.create(opportunity("o1", "c1", contact_id="pa"))
    moved = await repos.opportunities.update("o1", lambda o: replace(o, contact_id="pb"))
    assert moved.contact_id == "pb"
    await repos.contacts.delete("pa")
    with pytest.raises(HasDependents):
        await repos.contacts.delete("pb")


async def test_updating_to_a_missing_contact_names_contact_id_and_changes_nothing(
    repos: Repos,
) -> None:
    await repos.customers.create(customer("c1"))
    await repos.contacts.create(contact("pa", "c1"))
    await repos.opportunities.create(opportunity("o1", "c1", contact_id="pa"))
    with pytest.raises(MissingReference) as error:
        await repos.opportunities.update("o1", lambda o: replace(o, contact_id="nope"))
    assert error.value.field == "contactId"
    stored = await repos.opportunities.get("o1")
    assert stored is not None
    assert (stored.contact_id, stored.version) == ("pa", 1)
    with pytest.raises(HasDependents):
        await repos.contacts.delete("pa")


async def test_deleting_an_opportunity_releases_its_contact_and_customer(repos: Repos) -> None:
    await repos.customers.create(customer("c1"))
    await repos.contacts.create(contact("pa", "c1"))
    await repos.opportunities.create(opportunity("o1", "c1", contact_id="pa"))
    await repos.opportunities.delete("o1")
    await repos.contacts.delete("pa")
    await repos.customers.delete("c1")
    assert await repos.customers.get_many(["c1"]) == [None]
