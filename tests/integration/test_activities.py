"""Activity lists: overdue means open and scheduled before now; windows include both ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dal.models import Activity, Page
from dal.records.activity_query import ActivityQuery, Window
from dal.store import Repos
from dal.timefmt import dump_dt
from tests.integration.records import activity, at, customer

NOW = at(3600)


def ids_of(page: Page[Activity]) -> list[str]:
    return [a.id for a in page.items]


async def _schedule(repos: Repos, **when: datetime | None) -> None:
    await repos.customers.create(customer("cus_1"))
    for name, scheduled in when.items():
        created = activity(f"act_{name}", "cus_1", scheduled_at=scheduled, created_at=at(0))
        await repos.activities.create(created)


async def test_overdue_lists_only_open_activities_scheduled_before_now(repos: Repos) -> None:
    await _schedule(repos, late=at(60), later=at(120), done=at(30), future=at(7200), none=None)
    await repos.activities.update("act_done", lambda a: replace(a, completed_at=at(40)))
    page = await repos.activities.find(ActivityQuery(overdue=True), dump_dt(NOW), 10)
    assert (ids_of(page), page.has_next) == (["act_late", "act_later"], False)


async def test_completing_an_overdue_activity_removes_it_from_overdue(repos: Repos) -> None:
    await _schedule(repos, late=at(60))
    overdue = ActivityQuery(overdue=True)
    assert ids_of(await repos.activities.find(overdue, dump_dt(NOW), 10)) == ["act_late"]
    await repos.activities.update("act_late", lambda a: replace(a, completed_at=NOW))
    assert ids_of(await repos.activities.find(overdue, dump_dt(NOW), 10)) == []
    done = ActivityQuery(completed_since=dump_dt(at(0)))
    assert ids_of(await repos.activities.find(done, dump_dt(NOW), 10)) == ["act_late"]


async def test_scheduled_window_includes_both_ends(repos: Repos) -> None:
    await _schedule(repos, before=at(99), first=at(100), mid=at(150), last=at(200), after=at(201))
    window = ActivityQuery(window=Window(dump_dt(at(100)), dump_dt(at(200))))
    page = await repos.activities.find(window, dump_dt(NOW), 10)
    assert ids_of(page) == ["act_first", "act_mid", "act_last"]
    from_only = ActivityQuery(window=Window(dump_dt(at(200)), None))
    assert ids_of(await repos.activities.find(from_only, dump_dt(NOW), 10)) == [
        "act_last",
        "act_after",
    ]
    to_only = ActivityQuery(window=Window(None, dump_dt(at(99))))
    assert ids_of(await repos.activities.find(to_only, dump_dt(NOW), 10)) == ["act_before"]


async def test_scheduled_window_leaves_out_unscheduled_activities(repos: Repos) -> None:
    """An activity with no scheduledAt has no scheduled time inside any window."""
    await repos.customers.create(customer("cus_1"))
    await repos.activities.create(activity("act_note", "cus_1", created_at=at(150)))
    window = ActivityQuery(window=Window(dump_dt(at(100)), dump_dt(at(200))))
    assert ids_of(await repos.activities.find(window, dump_dt(NOW), 10)) == []
