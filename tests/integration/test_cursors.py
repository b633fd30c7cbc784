"""Pages and cursors: complete ordered paging, and cursors that open only where minted."""

from __future__ import annotations

import asyncio
import string

import pytest

from dal.errors import InvalidCursor
from dal.models import Customer, Page
from dal.records.cursors import CursorCodec
from dal.store import Repos
from tests.integration.records import at, contact, customer, user

BASE64URL = string.ascii_letters + string.digits + "-_"


async def _seed(repos: Repos, count: int) -> list[str]:
    """``count`` customers created one second apart; their ids, newest first."""
    ids = [f"cus_{i:02}" for i in range(count)]
    await asyncio.gather(*(repos.customers.create(customer(i, at(n))) for n, i in enumerate(ids)))
    return ids[::-1]


def ids_of(page: Page[Customer]) -> list[str]:
    return [c.id for c in page.items]


async def test_newest_pages_45_customers_as_20_20_5_newest_first(repos: Repos) -> None:
    expected = await _seed(repos, 45)
    pages, after = [], None
    for _ in range(3):
        page = await repos.customers.newest(20, after)
        pages.append(page)
        after = page.end_cursor
    assert [len(p.items) for p in pages] == [20, 20, 5]
    assert [p.has_next for p in pages] == [True, True, False]
    assert [i for p in pages for i in ids_of(p)] == expected


async def test_a_cursor_with_a_character_changed_is_invalid(repos: Repos) -> None:
    await _seed(repos, 3)
    cursor = (await repos.customers.newest(1)).end_cursor
    assert cursor is not None
    body, mac = cursor.split(".")
    middle = len(body) // 2
    for tampered in (
        f"{body[:middle]}{'B' if body[middle] == 'A' else 'A'}{body[middle + 1 :]}.{mac}",
        f"{body}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}",
        f"{body}x.{mac}",
        cursor.replace(".", "-"),
    ):
        with pytest.raises(InvalidCursor):
            await repos.customers.newest(1, tampered)


def test_every_one_character_change_of_a_cursor_is_refused() -> None:
    """A signed cursor has one spelling: no other string may open to its position."""
    codec = CursorCodec(b"k" * 32)
    position = {"pk": "acme#c1", "tenantKey": "acme#all", "createdKey": "2025#c1"}
    cursor = codec.encode("acme", "Customers.byTenant", position)
    accepted = []
    for i, old in enumerate(cursor):
        for new in BASE64URL + "+/=":
            tampered = cursor[:i] + new + cursor[i + 1 :]
            if new != old:
                try:
                    codec.decode("acme", "Customers.byTenant", tampered)
                    accepted.append(tampered)
                except InvalidCursor:
                    pass
    assert accepted == []


@pytest.mark.isolation
async def test_a_cursor_of_another_tenant_is_invalid(repos: Repos, neighbour: Repos) -> None:
    acme, globex = repos, neighbour
    await _seed(acme, 2)
    cursor = (await acme.customers.newest(1)).end_cursor
    with pytest.raises(InvalidCursor):
        await globex.customers.newest(1, cursor)


async def test_a_customer_list_cursor_is_invalid_on_another_index(repos: Repos) -> None:
    await repos.users.create(user("u1"))
    await repos.customers.create(customer("cus_1", owner_id="u1"))
    await repos.customers.create(customer("cus_2", owner_id="u1"))
    cursor = (await repos.customers.newest(1)).end_cursor
    with pytest.raises(InvalidCursor):
        await repos.customers.by_owner("u1", 1, cursor)
    with pytest.raises(InvalidCursor):
        await repos.customers.find(1, cursor, owner_id="u1")


async def test_a_cursor_of_one_customers_contacts_is_invalid_for_anothers(repos: Repos) -> None:
    await asyncio.gather(*(repos.customers.create(customer(i)) for i in ("cus_a", "cus_b")))
    for i in range(2):
        await repos.contacts.create(contact(f"con_a{i}", "cus_a"))
        await repos.contacts.create(contact(f"con_b{i}", "cus_b"))
    cursor = (await repos.contacts.by_customer("cus_a", 1)).end_cursor
    assert [c.id for c in (await repos.contacts.by_customer("cus_a", 1, cursor)).items] == [
        "con_a1"
    ]
    with pytest.raises(InvalidCursor):
        await repos.contacts.by_customer("cus_b", 1, cursor)


async def test_find_by_owner_and_industry_pages_exactly_the_matches(repos: Repos) -> None:
    await asyncio.gather(*(repos.users.create(user(u)) for u in ("u1", "u2")))
    industries = ["Software", "Retail", "SOFTWARE", None, "software", "Software"]
    matches = []
    for n, (owner, industry) in enumerate(
        (owner, industry) for owner in ("u1", "u2") for industry in industries
    ):
        await repos.customers.create(
            customer(f"cus_{n:02}", at(n), owner_id=owner, industry=industry)
        )
        if owner == "u1" and industry and industry.lower() == "software":
            matches.append(f"cus_{n:02}")
    found: list[str] = []
    page = await repos.customers.find(2, owner_id="u1", industry="software")
    found += ids_of(page)
    while page.has_next:
        page = await repos.customers.find(2, page.end_cursor, owner_id="u1", industry="Software")
        found += ids_of(page)
    assert found == matches[::-1]
