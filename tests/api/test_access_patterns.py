"""Every CRM access pattern costs a bounded number of DynamoDB requests per page,
whatever the tenant's size, and answers what brute force over all records answers.

One demo tenant of realistic size (>= 1,500 records), bulk-loaded once for the
session under the default model (request counts do not depend on the model),
so its aggregates are the ones writes keep. The tests of this module share it:
they build their own app and client and never use the function-scoped ``db``
fixture.

Each case of ``CASES`` names its pattern, the GraphQL, an upper bound per
DynamoDB operation (shown in the test id), and a brute-force answer computed
from every seeded record: same items, same order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from dal.loading.seed import bulk_seed_demo
from dal.models import Customer, Entity, OpportunityStage, Record, Role
from dal.store import Repos
from dal.streams.consumer import Consumer
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from server import create_app
from services import Services
from settings import Settings
from tests.conftest import DEFAULT_MODEL, PREFIX, fresh_tenant, token
from tests.patterns import (
    ALL,
    Crm,
    Row,
    acquisition_series,
    add,
    by_period,
    by_schedule,
    forecast_series,
    is_overdue,
    leads_series,
    load_crm,
    pipeline_series,
    sales_series,
    stamp,
    tag,
)
from tests.support import RequestLog

TENANT = fresh_tenant("demo")
# About 2,400 records. Loaded with dal.loading.bulk (tests/integration/test_bulk.py proves it
# stores what creating each record stores; test_aggregates.py covers the write path):
# one BatchWriteItem per 25 items instead of a transaction per record.
CUSTOMERS = 200
# Search edge cases the demo names lack: a whole name that extends another one.
EXTRA_CUSTOMERS = {"cus_x01": "Acme Corp Europe"}
WARM_UP = "query { me { id } }"  # provisions the caller before anything is counted
OVERDUE_PAGES = 2  # the overdue list 100 a Query (activities(overdue)); see the size test
USERS = 6  # the demo's five and the caller (provisioned): a COUNT Query each in activityMetrics
Ops = dict[str, int]


@dataclass
class Seeded:
    model: Model
    crm: Crm
    at: datetime  # the seed's now: the demo's history ends here
    records: int
    http: httpx.AsyncClient
    log: RequestLog

    async def ask(
        self, document: str, variables: dict[str, Any], user: str, role: Role
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token(TENANT, user, role)}"}
        payload = {"query": document, "variables": variables}
        response = await self.http.post("/graphql", json=payload, headers=headers)
        body: dict[str, Any] = response.json()
        return body

    async def counted(
        self,
        document: str,
        variables: dict[str, Any],
        user: str = "u-admin",
        role: Role = Role.ADMIN,
    ) -> tuple[dict[str, Any], Counter[str]]:
        """The answer and the DynamoDB requests it took, the caller warmed up first
        (which also refreshes the tenant registry's one-minute cache)."""
        assert "errors" not in await self.ask(WARM_UP, {}, user, role)
        self.log.clear()
        body = await self.ask(document, variables, user, role)
        assert "errors" not in body, body
        return body, self.log.counts()


async def _seed(repos: Repos, at: datetime) -> int:
    summary = await bulk_seed_demo(repos, customers=CUSTOMERS, now=at)
    for id, name in EXTRA_CUSTOMERS.items():
        extra = Customer(id=id, created_at=at, updated_at=at, company_name=name, owner_id="u-rep-1")
        await repos.customers.create(extra)
    demo: int = sum(astuple(summary))  # users, customers, contacts, deals, activities
    return demo + len(EXTRA_CUSTOMERS)


@pytest_asyncio.fixture(scope="session")
async def seeded(
    services: Services, settings: Settings, request_log: RequestLog, consumer: Consumer
) -> AsyncIterator[Seeded]:
    """One large tenant for the session: request counts do not depend on the model."""
    model = DEFAULT_MODEL
    await services.store.tenants.create(TENANT, model)
    repos = services.store.for_tenant(TENANT, model)
    # The server compares with the real clock: the demo's "now" must be now.
    at = utcnow().replace(microsecond=0)
    records = await _seed(repos, at)
    await consumer.settle()  # the reports count every record seeded
    transport = httpx.ASGITransport(app=create_app(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://zebros.test") as http:
        yield Seeded(model, await load_crm(repos), at, records, http, request_log)


# -- answers and brute force ----------------------------------------------------
def _ids(connection: dict[str, Any]) -> list[str]:
    return [str(edge["node"]["id"]) for edge in connection["edges"]]


def _page(connection: dict[str, Any]) -> tuple[list[str], bool]:
    return _ids(connection), bool(connection["pageInfo"]["hasNextPage"])


def _first(records: Sequence[Record], n: int) -> tuple[list[str], bool]:
    return [r.id for r in records[:n]], len(records) > n


def _newest(records: Sequence[Record]) -> list[Any]:
    return sorted(records, key=lambda r: (stamp(r.created_at), r.id), reverse=True)


def _day(moment: datetime, days: int) -> str:
    return (moment + timedelta(days=days)).date().isoformat()


def _words(text: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


def name_matches(crm: Crm, prefix: str) -> list[Customer]:
    """Customers with a word (or, for a prefix of several words, the whole name)
    starting with ``prefix``, case-insensitively: each once, A-Z by the matched term."""
    wanted, found = " ".join(_words(prefix)), []
    for c in crm.customers:
        words = _words(c.company_name)
        terms = [" ".join(words)] if " " in wanted else words
        hits = sorted(t for t in terms if t.startswith(wanted))
        if hits:
            found.append((hits[0], c.id, c))
    return [c for _, _, c in sorted(found, key=lambda f: (f[0], f[1]))]


def todays(crm: Crm, user_id: str, now: datetime) -> list[str]:
    """The user's activities scheduled on their calendar day of ``now`` (their time zone)."""
    user = next(u for u in crm.users if u.id == user_id)
    zone = ZoneInfo((user.preferences or {}).get("timeZone") or "UTC")
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), zone)
    end = datetime.combine(today + timedelta(days=1), time(), zone)
    return [
        a.id
        for a in by_schedule(crm.activities)
        if a.owner_id == user_id and a.scheduled_at is not None and start <= a.scheduled_at < end
    ]


def _pipeline(crm: Crm, owner: str | None) -> tuple[Decimal, Decimal, list[Any]]:
    rows = pipeline_series(crm.opportunities, _who(owner))
    stages = [(s, rows.get(s.value, {})) for s in OpportunityStage]
    figures = [
        (s.value, int(r.get("count", 0)), r.get("total", Decimal(0)), r.get("weighted", Decimal(0)))
        for s, r in stages
    ]
    open_rows = [r for s, r in stages if not s.closed]
    total = sum((r.get("total", Decimal(0)) for r in open_rows), Decimal(0))
    return total, sum((r.get("weighted", Decimal(0)) for r in open_rows), Decimal(0)), figures


def _pipeline_answer(p: dict[str, Any]) -> tuple[Decimal, Decimal, list[Any]]:
    stages = [
        (s["stage"], s["count"], Decimal(s["totalValue"]), Decimal(s["weightedValue"]))
        for s in p["stages"]
    ]
    return Decimal(p["totalValue"]), Decimal(p["weightedValue"]), stages


def _closed(crm: Crm, won: bool) -> list[Any]:
    stage = OpportunityStage.CLOSED_WON if won else OpportunityStage.CLOSED_LOST
    deals = [o for o in crm.opportunities if o.stage is stage and o.closed_at is not None]
    return sorted(deals, key=lambda o: (stamp(o.closed_at), o.id), reverse=True)


def _overdue(crm: Crm, now: datetime, owner: str | None = None) -> list[Any]:
    late = [a for a in crm.activities if is_overdue(a, now)]
    return by_schedule(a for a in late if owner is None or a.owner_id == owner)


def _window(v: dict[str, Any]) -> tuple[date, date]:
    return date.fromisoformat(v["from"]), date.fromisoformat(v["to"])


def _buckets(rows: list[tuple[date, Row]], *names: str) -> list[tuple[Any, ...]]:
    return [(p, *(r.get(n, Decimal(0)) for n in names)) for p, r in rows]


def _answer_buckets(buckets: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [(date.fromisoformat(b["period"]), *(Decimal(b[n]) for n in names)) for b in buckets]


def _who(owner: str | None) -> str:
    """The series of one owner, or the tenant-wide one."""
    return tag(owner) if owner else ALL


def _metrics(crm: Crm, v: dict[str, Any], now: datetime) -> list[Any]:
    """Per owner, activities scheduled and completed in exactly [from, to] (the
    window's instants, not its days), by type; and overdue now."""
    start, end = datetime.fromisoformat(v["from"]), datetime.fromisoformat(v["to"])
    totals: dict[str, Row] = {}
    for a in crm.activities:
        if a.owner_id is None:
            continue
        row = totals.setdefault(a.owner_id, {})
        if a.scheduled_at is not None and start <= a.scheduled_at <= end:
            add(row, {"planned": Decimal(1), f"type:{a.type.value}": Decimal(1)})
        if a.completed_at is not None and start <= a.completed_at <= end:
            add(row, {"completed": Decimal(1)})
    late = Counter(a.owner_id for a in _overdue(crm, now) if a.owner_id is not None)
    rows = [
        (u, int(t.get("planned", 0)), int(t.get("completed", 0)), late[u], _by_type(t))
        for u, t in ((u, totals.get(u, {})) for u in sorted(set(totals) | set(late)))
    ]
    return [r for r in rows if r[1] or r[2] or r[3]]


def _by_type(row: Row) -> dict[str, int]:
    return {k.removeprefix("type:"): int(v) for k, v in row.items() if k.startswith("type:")}


def _conversion(crm: Crm, v: dict[str, Any]) -> tuple[int, int, int, float]:
    start, end = _window(v)
    row: Row = {}
    for sk, r in leads_series(crm.opportunities).items():
        if start <= date.fromisoformat(sk) <= end:
            add(row, r)
    leads, won, lost = (int(row.get(n, 0)) for n in ("leads", "won", "lost"))
    return leads, won, lost, round(won / leads, 4) if leads else 0.0


def _most_upcoming(crm: Crm, kind: Entity, at: datetime) -> str:
    """The record of ``kind`` with the most activities still to come at ``at``."""
    ahead = Counter(
        a.related_id
        for a in crm.activities
        if a.related_type is kind and a.scheduled_at is not None and a.scheduled_at >= at
    )
    return max(ahead, key=lambda r: (ahead[r], r))


def _upcoming(crm: Crm, related_id: str, now: datetime) -> list[str]:
    ahead = [
        a
        for a in crm.activities
        if a.related_id == related_id and a.scheduled_at is not None and a.scheduled_at >= now
    ]
    return [a.id for a in by_schedule(ahead)][:50]


def _customer(crm: Crm, v: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    c = next(c for c in crm.customers if c.id == v["id"])
    return c.id, c.company_name, c.industry, c.tier.value, c.created_at


def _customer_answer(c: dict[str, Any]) -> tuple[Any, ...]:
    created = datetime.fromisoformat(c["createdAt"])
    return c["id"], c["companyName"], c["industry"], c["tier"], created


def _in_stage(crm: Crm, v: dict[str, Any]) -> list[tuple[str, str]]:
    start, end = _window(v)
    deals = [
        o
        for o in crm.opportunities
        if o.stage.value == v["stage"]
        and o.expected_close_date is not None
        and start <= o.expected_close_date <= end
    ]
    return sorted((str(o.expected_close_date), o.id) for o in deals)


def _dashboard(crm: Crm, now: datetime) -> tuple[Any, ...]:
    me = "u-rep-1"
    late = len(_overdue(crm, now, me))
    deals = [o.id for o in _closed(crm, won=True)[:10]]
    return _pipeline(crm, None)[:2], todays(crm, me, now), late, deals


def _dashboard_answer(d: dict[str, Any]) -> tuple[Any, ...]:
    p = d["pipeline"]
    today = [a["id"] for a in d["todaysActivities"]]
    deals = [o["id"] for o in d["recentClosedDeals"]]
    return (
        (Decimal(p["totalValue"]), Decimal(p["weightedValue"])),
        today,
        d["overdueActivities"],
        deals,
    )


# -- the table --------------------------------------------------------------------
CUSTOMER = "query($id: ID!) { customer(id: $id) { id companyName industry tier createdAt } }"
SEARCH = """
query($prefix: String!, $first: Int!, $after: String) {
  customers(filter: {nameStartsWith: $prefix}, first: $first, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""
BY_INDUSTRY = """
query($industry: String!) {
  customers(filter: {industry: $industry}, first: 20) {
    edges { node { id } } pageInfo { hasNextPage }
  }
}
"""
BY_OWNER = """
query($owner: ID!) {
  customers(filter: {ownerId: $owner}, first: 20) {
    edges { node { id } } pageInfo { hasNextPage }
  }
}
"""
USER_CUSTOMERS = """
query($id: ID!) {
  user(id: $id) { customers(first: 20) { edges { node { id } } pageInfo { hasNextPage } } }
}
"""
BY_STAGE = """
query($stage: OpportunityStage!, $from: Date!, $to: Date!) {
  opportunities(filter: {stage: $stage, closingFrom: $from, closingTo: $to}, first: 50) {
    edges { node { id expectedCloseDate } } pageInfo { hasNextPage }
  }
}
"""
PIPELINE = """
query($owner: ID) {
  pipeline(ownerId: $owner) {
    totalValue weightedValue stages { stage count totalValue weightedValue }
  }
}
"""
FORECAST = """
query($from: Date!, $to: Date!, $period: Period!, $owner: ID) {
  forecast(from: $from, to: $to, period: $period, ownerId: $owner) {
    period count totalValue weightedValue
  }
}
"""
CLOSED = """
query($won: Boolean!) {
  closedDeals(won: $won, first: 10) { edges { node { id } } pageInfo { hasNextPage } }
}
"""
TODAY = "query($id: ID!) { user(id: $id) { todaysActivities { id } } }"
UPCOMING = """
query($id: ID!) {
  %s(id: $id) { activities(upcoming: true, first: 50) { edges { node { id } } } }
}
"""
OVERDUE = """
query($owner: ID, $first: Int!, $after: String) {
  activities(filter: {overdue: true, ownerId: $owner}, first: $first, after: $after) {
    edges { node { id overdue } } pageInfo { hasNextPage endCursor }
  }
}
"""
COMPLETED = """
query($since: DateTime!) {
  activities(filter: {completedSince: $since}, first: 50) {
    edges { node { id } } pageInfo { hasNextPage }
  }
}
"""
SALES = """
query($from: Date!, $to: Date!, $period: Period!) {
  salesByPeriod(from: $from, to: $to, period: $period) { period dealsWon revenue }
}
"""
METRICS = """
query($from: DateTime!, $to: DateTime!) {
  activityMetrics(from: $from, to: $to) { user { id } planned completed overdue byType }
}
"""
ACQUISITION = """
query($from: Date!, $to: Date!) {
  customerAcquisition(from: $from, to: $to, period: MONTH) { period newCustomers }
}
"""
CONVERSION = """
query($from: Date!, $to: Date!) { leadConversion(from: $from, to: $to) { leads won lost rate } }
"""
DASHBOARD = """
query {
  dashboard {
    asOf pipeline { totalValue weightedValue }
    todaysActivities { id } overdueActivities recentClosedDeals { id }
  }
}
"""

Data = dict[str, Any]
Variables = Callable[[Crm, datetime], Data]  # from the records and the seed's now
Expected = Callable[[Crm, Data, datetime], Any]  # from the records, variables, request time


@dataclass(frozen=True)
class Case:
    pattern: str
    document: str
    ops: Ops  # upper bound per DynamoDB operation
    variables: Variables
    answer: Callable[[Data], Any]  # the part of ``data`` compared
    expected: Expected
    user: str = "u-admin"
    role: Role = Role.ADMIN

    @property
    def id(self) -> str:
        return f"{self.pattern}:" + "+".join(f"{op}{n}" for op, n in sorted(self.ops.items()))


Q1, Q1B1 = {"Query": 1}, {"BatchGetItem": 1, "Query": 1}


def _search(prefix: str, first: int) -> Case:
    return Case(
        f"CM2-search-{prefix.replace(' ', '_')}",
        SEARCH,
        Q1B1,
        lambda crm, at: {"prefix": prefix, "first": first},
        lambda d: _page(d["customers"]),
        lambda crm, v, now: _first(name_matches(crm, v["prefix"]), v["first"]),
    )


def _in_stage_case(stage: str) -> Case:
    return Case(
        f"SP1-{stage}-closing",
        BY_STAGE,
        Q1,
        lambda crm, at: {"stage": stage, "from": _day(at, -10), "to": _day(at, 90)},
        lambda d: (
            [
                (e["node"]["expectedCloseDate"], e["node"]["id"])
                for e in d["opportunities"]["edges"]
            ],
            d["opportunities"]["pageInfo"]["hasNextPage"],
        ),
        lambda crm, v, now: (_in_stage(crm, v)[:50], len(_in_stage(crm, v)) > 50),
    )


def _pipeline_case(owner: str | None) -> Case:
    return Case(
        f"SP2-pipeline-{owner or 'all'}",
        PIPELINE,
        Q1,
        lambda crm, at: {"owner": owner},
        lambda d: _pipeline_answer(d["pipeline"]),
        lambda crm, v, now: _pipeline(crm, v["owner"]),
    )


def _closed_case(won: bool) -> Case:
    return Case(
        f"SP4-closed-{'won' if won else 'lost'}",
        CLOSED,
        Q1,
        lambda crm, at: {"won": won},
        lambda d: _page(d["closedDeals"]),
        lambda crm, v, now: _first(_closed(crm, v["won"]), 10),
    )


def _forecast(period: str, days: tuple[int, int], owner: str | None) -> Case:
    return Case(
        f"SP3-forecast-{period}-{owner or 'all'}",
        FORECAST,
        Q1,
        lambda crm, at: {
            "from": _day(at, days[0]),
            "to": _day(at, days[1]),
            "period": period,
            "owner": owner,
        },
        lambda d: _answer_buckets(d["forecast"], "count", "totalValue", "weightedValue"),
        lambda crm, v, now: _buckets(
            by_period(forecast_series(crm.opportunities, _who(v["owner"])), *_window(v), period),
            "count",
            "total",
            "weighted",
        ),
    )


def _sales(period: str, days: int) -> Case:
    return Case(
        f"RP1-sales-{period}",
        SALES,
        Q1,
        lambda crm, at: {"from": _day(at, -days), "to": _day(at, 0), "period": period},
        lambda d: _answer_buckets(d["salesByPeriod"], "dealsWon", "revenue"),
        lambda crm, v, now: _buckets(
            by_period(sales_series(crm.opportunities), *_window(v), period), "dealsWon", "revenue"
        ),
    )


def _upcoming_of(kind: Entity, field: str) -> Case:
    return Case(
        f"AT2-upcoming-of-{field}",
        UPCOMING % field,
        Q1B1,
        lambda crm, at: {"id": _most_upcoming(crm, kind, at)},
        lambda d: _ids(d[field]["activities"]),
        lambda crm, v, now: _upcoming(crm, v["id"], now),
    )


def _today_of(user: str) -> Case:
    return Case(
        f"AT1-today-{user}",
        TODAY,
        Q1B1,
        lambda crm, at: {"id": user},
        lambda d: [a["id"] for a in d["user"]["todaysActivities"]],
        lambda crm, v, now: todays(crm, v["id"], now),
    )


def _overdue_of(owner: str | None) -> Case:
    return Case(
        f"AT3-overdue-{owner or 'all'}",
        OVERDUE,
        # The open indexes project a few attributes: their pages re-read the records.
        Q1B1,
        lambda crm, at: {"owner": owner, "first": 100},
        lambda d: (
            _page(d["activities"]),
            {e["node"]["overdue"] for e in d["activities"]["edges"]},
        ),
        lambda crm, v, now: (_first(_overdue(crm, now, v["owner"]), 100), {True}),
    )


CASES = [
    Case(
        "CM1-customer-by-id",
        CUSTOMER,
        {"BatchGetItem": 1},
        lambda crm, at: {"id": "cus_042"},
        lambda d: _customer_answer(d["customer"]),
        _customer,
    ),
    _search("corp", 10),
    _search("ACME", 10),  # case-insensitive
    _search("acme c", 10),  # a prefix of whole names
    _search("pi", 10),  # "Pied Piper Trading": two words match, one customer
    Case(
        "CM3-industry",
        BY_INDUSTRY,
        Q1,
        lambda crm, at: {"industry": "software"},
        lambda d: _page(d["customers"]),
        lambda crm, v, now: _first(
            _newest([c for c in crm.customers if (c.industry or "").lower() == v["industry"]]), 20
        ),
    ),
    Case(
        "CM4-owner",
        BY_OWNER,
        Q1,
        lambda crm, at: {"owner": "u-rep-1"},
        lambda d: _page(d["customers"]),
        lambda crm, v, now: _first(
            _newest([c for c in crm.customers if c.owner_id == v["owner"]]), 20
        ),
    ),
    Case(
        "CM4-user-customers",
        USER_CUSTOMERS,
        Q1B1,
        lambda crm, at: {"id": "u-rep-2"},
        lambda d: _page(d["user"]["customers"]),
        lambda crm, v, now: _first(
            _newest([c for c in crm.customers if c.owner_id == v["id"]]), 20
        ),
    ),
    _in_stage_case("QUALIFIED"),
    _in_stage_case("PROPOSAL"),
    _pipeline_case(None),
    _pipeline_case("u-rep-2"),
    _forecast("WEEK", (-3, 60), None),
    _forecast("MONTH", (-20, 180), "u-rep-1"),
    _forecast("QUARTER", (-40, 365), None),
    _closed_case(won=True),
    _closed_case(won=False),
    *(_today_of(user) for user in ("u-rep-1", "u-manager", "u-rep-2")),
    _upcoming_of(Entity.CUSTOMER, "customer"),
    _upcoming_of(Entity.CONTACT, "contact"),
    _upcoming_of(Entity.OPPORTUNITY, "opportunity"),
    _overdue_of(None),
    _overdue_of("u-rep-2"),
    Case(
        "AT4-completed-since",
        COMPLETED,
        # byCompleted projects a few attributes: its pages re-read the records.
        Q1B1,
        lambda crm, at: {"since": (at - timedelta(days=7)).isoformat()},
        lambda d: _page(d["activities"]),
        lambda crm, v, now: _first(_completed(crm, datetime.fromisoformat(v["since"])), 50),
    ),
    _sales("MONTH", 120),
    _sales("WEEK", 30),
    Case(
        "RP2-activity-metrics",
        METRICS,
        # The aggregates of the whole days; for each partial day at the ends of
        # the window, the activities scheduled and completed in it (one Query
        # each); the tenant's users (a page) and a COUNT of each one's overdue
        # activities; and the users behind the rows.
        {"Query": 1 + 2 * 2 + 1 + USERS, "BatchGetItem": 1},
        lambda crm, at: {
            "from": (at - timedelta(days=14)).isoformat(),
            "to": (at + timedelta(days=7)).isoformat(),
        },
        lambda d: [
            (m["user"]["id"], m["planned"], m["completed"], m["overdue"], m["byType"])
            for m in d["activityMetrics"]
        ],
        _metrics,
    ),
    Case(
        "RP3-customer-acquisition",
        ACQUISITION,
        Q1,
        lambda crm, at: {"from": _day(at, -365), "to": _day(at, 0)},
        lambda d: _answer_buckets(d["customerAcquisition"], "newCustomers"),
        lambda crm, v, now: _buckets(
            by_period(acquisition_series(crm.customers), *_window(v), "MONTH"), "newCustomers"
        ),
    ),
    Case(
        "RP4-lead-conversion",
        CONVERSION,
        Q1,
        lambda crm, at: {"from": _day(at, -200), "to": _day(at, -20)},
        lambda d: tuple(d["leadConversion"][k] for k in ("leads", "won", "lost", "rate")),
        lambda crm, v, now: _conversion(crm, v),
    ),
    Case(
        "dashboard",
        DASHBOARD,
        # todaysActivities: the caller's user and one Query; pipeline, overdue
        # count, recent deals and asOf (the stream checkpoints): one Query each.
        {"BatchGetItem": 1, "Query": 5},
        lambda crm, at: {},
        lambda d: _dashboard_answer(d["dashboard"]),
        lambda crm, v, now: _dashboard(crm, now),
        user="u-rep-1",
        role=Role.SALES_REP,
    ),
]


def _completed(crm: Crm, since: datetime) -> list[Any]:
    done = [a for a in crm.activities if a.completed_at is not None and a.completed_at >= since]
    return sorted(done, key=lambda a: (stamp(a.completed_at), a.id), reverse=True)


def within(sent: Counter[str], bound: Ops) -> bool:
    """Some requests were sent, each operation at most as often as ``bound`` allows."""
    return bool(sent) and all(n <= bound.get(op, 0) for op, n in sent.items())


# -- tests ------------------------------------------------------------------------
async def test_seeded_tenant_is_of_realistic_size(seeded: Seeded) -> None:
    crm = seeded.crm
    assert seeded.records >= 1500
    assert len(crm.customers) == CUSTOMERS + len(EXTRA_CUSTOMERS)
    assert {o.stage for o in crm.opportunities} == set(OpportunityStage)
    # The overdue list is paged 100 at a time: its bound in CASES allows two
    # pages (the demo has ~100 overdue, more as time passes).
    overdue = len(_overdue(crm, utcnow()))
    assert 0 < overdue <= 100 * OVERDUE_PAGES, overdue


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_access_pattern(seeded: Seeded, case: Case) -> None:
    variables = case.variables(seeded.crm, seeded.at)
    before = utcnow()
    body, sent = await seeded.counted(case.document, variables, case.user, case.role)
    after = utcnow()
    assert within(sent, case.ops), f"{case.pattern} sent {dict(sent)}, bound {case.ops}"
    answer = case.answer(body["data"])
    # The server read its clock between before and after: an activity falling
    # due in between may count on either side.
    expected = case.expected(seeded.crm, variables, before)
    if answer != expected:
        expected = case.expected(seeded.crm, variables, after)
    assert answer == expected


async def _walk(
    seeded: Seeded, document: str, variables: Data, field: str, bound: Ops
) -> list[str]:
    """Every page of one list, each within ``bound``; the ids in order."""
    found: list[str] = []
    after: str | None = None
    while True:
        body, sent = await seeded.counted(document, {**variables, "after": after})
        assert within(sent, bound), f"page {len(found)}: sent {dict(sent)}"
        connection = body["data"][field]
        found += _ids(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


async def test_search_pages_add_up_to_the_brute_force_answer(seeded: Seeded) -> None:
    found = await _walk(seeded, SEARCH, {"prefix": "corp", "first": 4}, "customers", Q1B1)
    assert found == [c.id for c in name_matches(seeded.crm, "corp")]


async def test_overdue_pages_add_up_to_the_brute_force_answer(seeded: Seeded) -> None:
    before = utcnow()
    found = await _walk(seeded, OVERDUE, {"owner": None, "first": 40}, "activities", Q1B1)
    expected = [a.id for a in _overdue(seeded.crm, before)]
    if found != expected:  # an activity fell due while paging
        expected = [a.id for a in _overdue(seeded.crm, utcnow())]
    assert found == expected


async def test_the_scan_guard_sees_a_scan(seeded: Seeded, services: Services) -> None:
    """The harness behind the suite's no-Scan check (conftest ``no_scan``) counts Scans."""
    await services.dynamo_client.scan(TableName=f"{PREFIX}Tenants", Limit=1)
    assert seeded.log.scans == 1
    seeded.log.scans = 0  # this one was on purpose
