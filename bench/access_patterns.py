"""Requests and items read per access pattern, next to what a scan-and-filter would read.

    python -m bench.access_patterns [--scale 1.0] [--model bridge] [--seed 7]

Seeds one tenant (``dal.loading.bulk``) with 10 users, 1,000 customers, 3,000 contacts,
10,000 opportunities and 50,000 activities (times ``--scale``) in an in-process
moto server, then runs each of the sixteen access patterns once through the
GraphQL API and counts, per pattern, the DynamoDB requests (by operation) and
the items they read: ``ScannedCount`` of every Query and Scan (items evaluated,
filtered out or not: what DynamoDB charges for) plus the items BatchGetItem and
GetItem return. The baseline is a scan-and-filter: with no index, an answer
needs a Scan of every table involved, i.e. reads all of its items. SP1 and
AT3 are also run as a real Scan with a FilterExpression, timed against our path.

The data is drawn from one ``random.Random(seed)`` relative to the start
time: a seed is one data set (times move with the clock).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from starlette.applications import Starlette

import auth
from bench.stack import embedded_stack
from dal.loading import bulk
from dal.models import (
    Activity,
    ActivityType,
    Contact,
    Customer,
    CustomerTier,
    Entity,
    Opportunity,
    OpportunityStage,
    Record,
    Role,
    User,
)
from dal.store import Repos
from dal.tenancy.scope import Model
from dal.timefmt import dump_dt, utcnow
from server import create_app
from services import Services
from tests.support import RequestLog

SECRET = "bench-secret-0123456789abcdefghijklmnop"
TENANT = "bench"
PREFIX = "bench-"
CALLER = "u-01"  # an ADMIN of the seeded users: the token's subject
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
SIZES = {"users": 10, "customers": 1_000, "contacts": 3_000, "opportunities": 10_000,
         "activities": 50_000}  # fmt: skip
RUNS = 3  # runs per pattern; the time is the best of them

HEADS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
         "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Oscorp", "Aperture", "Massive Dynamic",
         "Pied Piper", "Sterling", "Blue Sun", "Nakatomi", "Dunder", "Monarch", "Virtucon",
         "Octan", "Bluth", "Northwind", "Gekko", "Prestige", "Gringotts")  # fmt: skip
TAILS = ("Corp", "Industries", "Systems", "Labs", "Group", "Holdings", "Partners",
         "Technologies", "Trading")  # fmt: skip
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics")
FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines",
               "Jonas", "Kira", "Liam", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Tom")  # fmt: skip
LAST_NAMES = ("Schmidt", "Miller", "Dubois", "Rossi", "Jansen", "Novak", "Silva", "Berg",
              "Kowalski", "Okafor", "Tanaka", "Larsen", "Moreau", "Fischer")  # fmt: skip
S = OpportunityStage
PROBABILITY = {S.LEAD: 10, S.QUALIFIED: 25, S.PROPOSAL: 50, S.NEGOTIATION: 75,
               S.CLOSED_WON: 100, S.CLOSED_LOST: 0}  # fmt: skip
OPEN_STAGES, OPEN_WEIGHTS = (S.LEAD, S.QUALIFIED, S.PROPOSAL, S.NEGOTIATION), (4, 3, 2, 1)


# -- the data set ---------------------------------------------------------------------------


@dataclass
class DataSet:
    now: datetime
    users: list[User] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)

    def records(self) -> list[Record]:
        return [*self.users, *self.customers, *self.contacts, *self.opportunities,
                *self.activities]  # fmt: skip


class Generator:
    """Draws every record from one Random, in a fixed order."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng, self.now = random.Random(seed), now
        self.data = DataSet(now)

    def between(self, low: datetime, high: datetime) -> datetime:
        seconds = max(0, int((high - low).total_seconds()))
        return low + timedelta(seconds=self.rng.randint(0, seconds))

    def build(self, sizes: dict[str, int]) -> DataSet:
        self._users(sizes["users"])
        for i in range(1, sizes["customers"] + 1):
            self._customer(i)
        for i in range(1, sizes["contacts"] + 1):
            self._contact(i)
        by_customer: dict[str, list[Contact]] = {}
        for c in self.data.contacts:
            by_customer.setdefault(c.customer_id, []).append(c)
        for i in range(1, sizes["opportunities"] + 1):
            self._opportunity(i, by_customer)
        owners = {c.id: c.owner_id for c in self.data.customers}
        targets: list[tuple[Entity, Record, str | None]] = [
            *((Entity.CUSTOMER, c, c.owner_id) for c in self.data.customers),
            *((Entity.CONTACT, c, owners[c.customer_id]) for c in self.data.contacts),
            *((Entity.OPPORTUNITY, o, o.owner_id) for o in self.data.opportunities),
        ]
        kinds = [Entity.CUSTOMER, Entity.CONTACT, Entity.OPPORTUNITY]
        pools = {k: [t for t in targets if t[0] is k] for k in kinds}
        for i in range(1, sizes["activities"] + 1):
            kind = self.rng.choices(kinds, (3, 3, 4))[0]
            self._activity(i, self.rng.choice(pools[kind]))
        return self.data

    def _users(self, count: int) -> None:
        joined = self.now - 800 * DAY
        for i in range(1, count + 1):
            role = Role.ADMIN if i == 1 else Role.MANAGER if i == 2 else Role.SALES_REP
            self.data.users.append(
                User(id=f"u-{i:02d}", created_at=joined, updated_at=joined, username=f"user{i:02d}",
                     email=f"user{i:02d}@bench.example", role=role)
            )  # fmt: skip

    def _customer(self, i: int) -> None:
        created = self.between(self.now - 730 * DAY, self.now - DAY)
        name = f"{self.rng.choice(HEADS)} {self.rng.choice(TAILS)} {i}"
        owner = self.rng.choice(self.data.users).id
        self.data.customers.append(
            Customer(id=f"cus_{i:04d}", created_at=created, updated_at=created, company_name=name,
                     industry=self.rng.choice(INDUSTRIES),
                     tier=self.rng.choices(tuple(CustomerTier), (3, 4, 2, 1))[0],
                     contact_info={"city": "Berlin"}, owner_id=owner)
        )  # fmt: skip

    def _contact(self, i: int) -> None:
        cus = self.rng.choice(self.data.customers)
        created = self.between(cus.created_at, self.now)
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        self.data.contacts.append(
            Contact(id=f"con_{i:05d}", created_at=created, updated_at=created,
                    customer_id=cus.id, first_name=first, last_name=last,
                    email=f"{first}.{last}.{i}@bench.example".lower())
        )  # fmt: skip

    def _opportunity(self, i: int, contacts: dict[str, list[Contact]]) -> None:
        cus = self.rng.choice(self.data.customers)
        mine = contacts.get(cus.id, [])
        contact = self.rng.choice(mine) if mine and self.rng.random() < 0.5 else None
        created = self.between(cus.created_at, self.now - HOUR)
        # Older deals are mostly decided; recent ones mostly open.
        closed_share = 0.85 if created < self.now - 180 * DAY else 0.35
        closed_at: datetime | None = None
        if self.rng.random() < closed_share:
            stage = S.CLOSED_WON if self.rng.random() < 0.45 else S.CLOSED_LOST
            closed_at = min(self.between(created, created + 120 * DAY), self.now - MINUTE)
            expected = closed_at.date()
        else:
            stage = self.rng.choices(OPEN_STAGES, OPEN_WEIGHTS)[0]
            expected = (self.now + self.rng.randint(-30, 180) * DAY).date()
        owner = cus.owner_id if self.rng.random() < 0.9 else self.rng.choice(self.data.users).id
        self.data.opportunities.append(
            Opportunity(id=f"opp_{i:05d}", created_at=created, updated_at=closed_at or created,
                        customer_id=cus.id, title=f"Deal {i}",
                        value=Decimal(self.rng.randint(50_000, 10_000_000)).scaleb(-2),
                        stage=stage, probability=PROBABILITY[stage],
                        contact_id=contact.id if contact else None, expected_close_date=expected,
                        closed_at=closed_at, owner_id=owner)
        )  # fmt: skip

    def _activity(self, i: int, target: tuple[Entity, Record, str | None]) -> None:
        entity, related, owner = target
        kind = self.rng.choice(tuple(ActivityType))
        scheduled: datetime | None = None
        if kind is not ActivityType.NOTE or self.rng.random() < 0.5:
            # Two years of history and two months ahead.
            scheduled = self.between(self.now - 730 * DAY, self.now + 60 * DAY)
        created = self.between(self.now - 760 * DAY, min(scheduled or self.now, self.now))
        completed: datetime | None = None
        if scheduled is not None and scheduled < self.now and self.rng.random() < 0.93:
            completed = min(scheduled + self.rng.randint(5, 120) * MINUTE, self.now)
        self.data.activities.append(
            Activity(id=f"act_{i:06d}", created_at=created, updated_at=completed or created,
                     related_id=related.id, related_type=entity, type=kind,
                     subject=f"{kind.value.title()} {i}", scheduled_at=scheduled,
                     completed_at=completed, owner_id=owner)
        )  # fmt: skip


# -- counting what DynamoDB does ------------------------------------------------------------


class ItemsRead:
    """An ``after-call`` hook: items each response read (ScannedCount, or items returned)."""

    def __init__(self) -> None:
        self.items = 0

    def hook(self, parsed: Any, model: Any, **_: Any) -> None:
        name = model.name
        if name in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", 0))
        elif name == "BatchGetItem":
            self.items += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0


@dataclass
class Measured:
    requests: Counter[str]
    items: int
    rows: int
    best_ms: float


class Bench:
    def __init__(self, services: Services, app: Starlette) -> None:
        self.services = services
        self.app = app
        self.log = RequestLog()
        self.read = ItemsRead()
        events = services.dynamo_client.meta.events
        events.register("before-send.dynamodb", self.log.hook)
        events.register("after-call.dynamodb", self.read.hook)
        jwt = auth.mint(SECRET, tenant=TENANT, user=CALLER, role=Role.ADMIN)
        self.headers = {"Authorization": f"Bearer {jwt}"}

    async def measure(self, run: Callable[[], Awaitable[int]]) -> Measured:
        """Best time of RUNS runs, and their requests and items (which must not vary)."""
        best, rows, seen = float("inf"), 0, set()
        for _ in range(RUNS):
            # The tenant registry lookup is cached for a minute per process, not per pattern.
            await self.services.store.tenants.get(TENANT)
            self.log.clear()
            self.read.items = 0
            start = time.perf_counter()
            rows = await run()
            best = min(best, time.perf_counter() - start)
            seen.add((tuple(sorted(self.log.counts().items())), self.read.items))
        if len(seen) > 1:
            raise RuntimeError(f"requests or items read varied between runs: {seen}")
        return Measured(self.log.counts(), self.read.items, rows, best * 1e3)

    async def graphql(self, document: str) -> Any:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            body = (await c.post("/graphql", json={"query": document}, headers=self.headers)).json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]


# -- the sixteen access patterns ------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    code: str
    field: str
    document: str
    tables: tuple[Entity, ...]  # what a scan-and-filter would have to read
    rows: Callable[[Any], int]


def _edges(*path: str) -> Callable[[Any], int]:
    def count(data: Any) -> int:
        for step in path:
            data = data[step]
        return len(data["edges"]) if isinstance(data, dict) else len(data)

    return count


def patterns(data: DataSet) -> list[Pattern]:
    now, today = data.now, data.now.date()
    owner = "u-03"
    # A customer with activities ahead (the first in id order), and a search prefix.
    upcoming = sorted(
        a.related_id
        for a in data.activities
        if a.related_type is Entity.CUSTOMER and a.scheduled_at and a.scheduled_at >= now
    )
    customer = upcoming[0] if upcoming else data.customers[0].id
    prefix = data.customers[0].company_name.split()[0][:4].lower()

    def d(day: date) -> str:
        return day.isoformat()

    cus, opp, act, usr = Entity.CUSTOMER, Entity.OPPORTUNITY, Entity.ACTIVITY, Entity.USER
    node = "edges { node { id } } pageInfo { hasNextPage }"
    return [
        Pattern("CM1", "customer(id:)", f'{{ customer(id: "{customer}") {{ id companyName }} }}',
                (cus,), lambda r: int(r["customer"] is not None)),
        Pattern("CM2", "customers(filter:{nameStartsWith:})",
                f'{{ customers(filter: {{nameStartsWith: "{prefix}"}}) {{ {node} }} }}',
                (cus,), _edges("customers")),
        Pattern("CM3", "customers(filter:{industry:})",
                f'{{ customers(filter: {{industry: "Software"}}) {{ {node} }} }}',
                (cus,), _edges("customers")),
        Pattern("CM4", "customers(filter:{ownerId:})",
                f'{{ customers(filter: {{ownerId: "{owner}"}}) {{ {node} }} }}',
                (cus,), _edges("customers")),
        Pattern("SP1", "opportunities(filter:{stage:,closingFrom:,closingTo:})",
                "{ opportunities(filter: {stage: PROPOSAL, "
                f'closingFrom: "{d(today)}", closingTo: "{d(today + 30 * DAY)}"}}) {{ {node} }} }}',
                (opp,), _edges("opportunities")),
        Pattern("SP2", "pipeline",
                "{ pipeline { stages { stage count totalValue } totalValue weightedValue } }",
                (opp,), lambda r: len(r["pipeline"]["stages"])),
        Pattern("SP3", "forecast(from,to,period)",
                f'{{ forecast(from: "{d(today)}", to: "{d(today + 180 * DAY)}", period: MONTH) '
                "{ period count totalValue weightedValue } }",
                (opp,), _edges("forecast")),
        Pattern("SP4", "closedDeals(won:true)",
                f"{{ closedDeals(won: true) {{ {node} }} }}", (opp,), _edges("closedDeals")),
        Pattern("AT1", "user(id){todaysActivities}",
                f'{{ user(id: "{owner}") {{ todaysActivities {{ id scheduledAt }} }} }}',
                (usr, act), _edges("user", "todaysActivities")),
        Pattern("AT2", "customer(id){activities(upcoming:true)}",
                f'{{ customer(id: "{customer}") {{ activities(upcoming: true) {{ {node} }} }} }}',
                (cus, act), _edges("customer", "activities")),
        Pattern("AT3", "activities(filter:{overdue:true})",
                f"{{ activities(filter: {{overdue: true}}) {{ {node} }} }}",
                (act,), _edges("activities")),
        Pattern("AT4", "activities(filter:{completedSince:})",
                f'{{ activities(filter: {{completedSince: "{dump_dt(now - 7 * DAY)}"}}) '
                f"{{ {node} }} }}",
                (act,), _edges("activities")),
        Pattern("RP1", "salesByPeriod",
                f'{{ salesByPeriod(from: "{d(today - 365 * DAY)}", to: "{d(today)}", '
                "period: MONTH) { period dealsWon revenue } }",
                (opp,), _edges("salesByPeriod")),
        Pattern("RP2", "activityMetrics",
                # Whole days: the aggregates (the partial days of a window are read
                # from the records, a count that moves with the clock).
                f'{{ activityMetrics(from: "{d(today - 30 * DAY)}T00:00:00Z", '
                f'to: "{d(today - DAY)}T23:59:59.999999Z") '
                "{ planned completed overdue byType user { username } } }",
                (usr, act), _edges("activityMetrics")),
        Pattern("RP3", "customerAcquisition",
                f'{{ customerAcquisition(from: "{d(today - 730 * DAY)}", to: "{d(today)}", '
                "period: MONTH) { period newCustomers } }",
                (cus,), _edges("customerAcquisition")),
        Pattern("RP4", "leadConversion",
                f'{{ leadConversion(from: "{d(today - 365 * DAY)}", to: "{d(today)}") '
                "{ leads won lost rate } }",
                (opp,), lambda r: 1),
    ]  # fmt: skip


# -- scan-and-filter, for real ----------------------------------------------------------------


async def scan_filter(services: Services, repos: Repos, entity: Entity, where: Any) -> int:
    """Read the whole table with a FilterExpression (paged); returns the matches."""
    table = repos.scope.table(entity)
    names = {"#tid": "tenantId", **where[1]}
    values = {":tid": {"S": TENANT}, **where[2]}
    args: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": f"#tid = :tid AND ({where[0]})",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    matches = 0
    while True:
        out = await services.dynamo_client.scan(**args)
        matches += len(out.get("Items", []))
        if "LastEvaluatedKey" not in out:
            return matches
        args["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def scan_filters(data: DataSet) -> dict[str, tuple[Entity, Any]]:
    """SP1 and AT3 as a scan would answer them (then sort and cut to 20 in the client)."""
    today, now = data.now.date(), dump_dt(data.now)
    sp1 = (
        "#st = :st AND #ecd BETWEEN :a AND :b",
        {"#st": "stage", "#ecd": "expectedCloseDate"},
        {":st": {"S": "PROPOSAL"}, ":a": {"S": today.isoformat()},
         ":b": {"S": (today + 30 * DAY).isoformat()}},
    )  # fmt: skip
    at3 = (
        "attribute_not_exists(#c) AND #s < :now",
        {"#c": "completedAt", "#s": "scheduledAt"},
        {":now": {"S": now}},
    )
    return {"SP1": (Entity.OPPORTUNITY, sp1), "AT3": (Entity.ACTIVITY, at3)}


# -- the run ----------------------------------------------------------------------------------


def _ops(requests: Counter[str]) -> str:
    return " ".join(f"{op}x{n}" for op, n in sorted(requests.items()))


async def load(repos: Repos, data: DataSet) -> bulk.LoadSummary:
    records = data.records()
    started, shown = time.perf_counter(), 0.0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        elapsed = time.perf_counter() - started
        if done == total or elapsed - shown >= 5:
            shown = elapsed
            rate = done / elapsed if elapsed else 0.0
            print(f"  loading: {done:>6}/{total} items, {rate:,.0f} items/s", flush=True)

    summary = await bulk.load(repos, records, progress=progress)
    elapsed = time.perf_counter() - started
    print(
        f"loaded {summary.records:,} records + {summary.total_items - summary.records:,} "
        f"aggregate/search items in {elapsed:.1f} s ({summary.records / elapsed:,.0f} records/s, "
        f"{summary.requests:,} BatchWriteItem requests)",
        flush=True,
    )
    return summary


async def main(scale: float, model: Model, seed: int) -> None:
    began = time.perf_counter()
    sizes = {k: max(1, round(v * scale)) if k != "users" else v for k, v in SIZES.items()}
    now = utcnow().replace(microsecond=0)
    data = Generator(seed, now).build(sizes)
    print(f"data set: {json.dumps(sizes)}, seed {seed}, model {model.value}", flush=True)
    async with embedded_stack(SECRET, PREFIX) as (settings, services):
        await services.store.tenants.create(TENANT, model)
        repos = services.store.for_tenant(TENANT, model)
        summary = await load(repos, data)
        counts = {e: summary.items.get(repos.scope.table(e), 0) for e in Entity}
        bench = Bench(services, create_app(settings, services))
        await bench.graphql("{ me { id } }")  # provisions nothing (the caller exists)
        await report(bench, data, counts)
        await real_scans(bench, services, repos, data)
    print(f"total run time: {time.perf_counter() - began:.0f} s")


async def report(bench: Bench, data: DataSet, counts: dict[Entity, int]) -> None:
    head = (
        f"{'pattern':<4} {'GraphQL field':<55} {'requests (by op)':<30} {'items read':>10} "
        f"{'scan items':>10} {'ratio':>8} {'rows':>5} {'ms':>7}"
    )
    print(
        "\nitems read = ScannedCount of Query/Scan + items returned by BatchGetItem/GetItem;\n"
        "scan items = items a scan-and-filter reads: every item of the tables involved;\n"
        f"ratio = scan items / items read; ms = best of {RUNS} GraphQL requests (in-process moto)\n"
    )
    print(head)
    print("-" * len(head))
    for p in patterns(data):

        async def run(p: Pattern = p) -> int:
            return p.rows(await bench.graphql(p.document))

        m = await bench.measure(run)
        scan = sum(counts[t] for t in p.tables)
        ratio = f"{scan / m.items:,.0f}x" if m.items else "-"
        print(
            f"{p.code:<4} {p.field:<55} {_ops(m.requests):<30} {m.items:>10,} {scan:>10,} "
            f"{ratio:>8} {m.rows:>5} {m.best_ms:>7.1f}",
            flush=True,
        )


async def real_scans(bench: Bench, services: Services, repos: Repos, data: DataSet) -> None:
    print("\nscan-and-filter run for real (Scan + FilterExpression, every page), vs our path:")
    by_code = {p.code: p for p in patterns(data)}
    for code, (entity, where) in scan_filters(data).items():
        p = by_code[code]

        async def ours(p: Pattern = p) -> int:
            return p.rows(await bench.graphql(p.document))

        async def scan(entity: Entity = entity, where: Any = where) -> int:
            return await scan_filter(services, repos, entity, where)

        mine, theirs = await bench.measure(ours), await bench.measure(scan)
        print(
            f"{code}: scan {_ops(theirs.requests)}, {theirs.items:,} items read, "
            f"{theirs.rows:,} matches, {theirs.best_ms:,.0f} ms | ours {_ops(mine.requests)}, "
            f"{mine.items:,} items read, {mine.best_ms:,.1f} ms | "
            f"items {theirs.items / max(mine.items, 1):,.0f}x, "
            f"time {theirs.best_ms / mine.best_ms:,.0f}x",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="data set size factor")
    parser.add_argument("--model", type=Model, default=Model.BRIDGE, choices=list(Model))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.model, args.seed))
