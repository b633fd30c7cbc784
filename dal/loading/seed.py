"""The demo tenant: a deterministic CRM with history, written through the repositories.

Ids are fixed and readable (``cus_001``, ``con_001-2``, ``act_0042``: typed, as
every id is, see ``dal/ids.py``) and one
``seed`` always plans the same records, so a repeat run only fills in what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from dal.errors import AlreadyExists
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
from dal.records.repo import Repo
from dal.store import Repos
from dal.timefmt import to_utc, utcnow

DEMO_TENANT = "demo"
DEMO_ADMIN = "demo-admin"

R = TypeVar("R", bound=Record)
Target = tuple[Entity, Record]  # what an activity relates to, and the table holding it
DAY, HOUR = timedelta(days=1), timedelta(hours=1)

# (id, username, role, preferences); emails are username@demo.example.
USERS: tuple[tuple[str, str, Role, dict[str, str] | None], ...] = (
    (DEMO_ADMIN, "admin", Role.ADMIN, {"timeZone": "Europe/Berlin"}),
    ("u-manager", "maria.keller", Role.MANAGER, {"timeZone": "Europe/Berlin", "locale": "de-DE"}),
    ("u-rep-1", "sam.ortega", Role.SALES_REP, {"timeZone": "America/New_York"}),
    ("u-rep-2", "priya.nair", Role.SALES_REP, None),
    ("u-viewer", "victor.lund", Role.READ_ONLY, None),
)
OWNERS, OWNER_WEIGHTS = ("u-manager", "u-rep-1", "u-rep-2"), (1, 2, 2)  # reps carry most
COMPANY_HEADS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive Dynamic",
    "Pied Piper", "Prestige", "Sterling", "Blue Sun", "Nakatomi", "Dunder", "Monarch", "Gekko",
    "Virtucon", "Octan", "Bluth", "Northwind",
)  # fmt: skip
COMPANY_TAILS = ("Corp", "Industries", "Systems", "Labs", "Group", "Holdings", "Partners",
                 "Technologies", "Trading")  # fmt: skip
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics")
CITIES = ("Berlin", "Munich", "London", "Paris", "Amsterdam", "New York", "Austin", "Toronto")
TIERS, TIER_WEIGHTS = tuple(CustomerTier), (3, 4, 2, 1)  # few enterprise accounts
FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines",
               "Jonas", "Kira", "Liam", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Tom")  # fmt: skip
LAST_NAMES = ("Schmidt", "Miller", "Dubois", "Rossi", "Jansen", "Novak", "Silva", "Berg",
              "Kowalski", "Okafor", "Tanaka", "Larsen", "Moreau", "Fischer")  # fmt: skip
POSITIONS = ("CEO", "CTO", "CFO", "Head of Procurement", "IT Manager", "Operations Lead")
DEALS = ("License renewal", "Platform rollout", "Support upgrade", "Pilot project",
         "Data migration", "Seat expansion", "Onboarding package")  # fmt: skip
S = OpportunityStage
PROBABILITY = {S.LEAD: 10, S.QUALIFIED: 25, S.PROPOSAL: 50, S.NEGOTIATION: 75,
               S.CLOSED_WON: 100, S.CLOSED_LOST: 0}  # fmt: skip
STAGES, TYPES = tuple(OpportunityStage), tuple(ActivityType)
SUBJECTS = {
    ActivityType.CALL: ("Discovery call", "Follow-up call", "Check-in call"),
    ActivityType.EMAIL: ("Send pricing", "Intro email", "Proposal follow-up"),
    ActivityType.MEETING: ("Product demo", "Quarterly business review", "Contract walkthrough"),
    ActivityType.TASK: ("Prepare quote", "Update forecast", "Send contract draft"),
    ActivityType.NOTE: ("Budget approved", "Champion changing roles", "Prefers email"),
}


@dataclass(frozen=True)
class SeedSummary:
    """Records of each kind the demo tenant holds after the run (all planned ones)."""

    users: int
    customers: int
    contacts: int
    opportunities: int
    activities: int


@dataclass(frozen=True)
class _Account:
    """One customer and everything that hangs off it."""

    customer: Customer
    contacts: list[Contact]
    opportunities: list[Opportunity]
    activities: list[Activity]


async def seed_demo(
    repos: Repos,
    *,
    customers: int = 50,
    seed: int = 7,
    now: datetime | None = None,
    concurrency: int = 16,
) -> SeedSummary:
    """Write the demo data into ``repos``' tenant, skipping records that exist."""
    if customers < 0 or concurrency < 1:
        raise ValueError("customers must be >= 0 and concurrency >= 1")
    users, accounts = _plan(customers, seed, now or utcnow())
    gate = asyncio.Semaphore(concurrency)
    # Parents first: every create checks that what it points at exists.
    await _level(gate, repos.users, [[u] for u in users])
    await _level(gate, repos.customers, [[a.customer] for a in accounts])
    await _level(gate, repos.contacts, [a.contacts for a in accounts])
    await _level(gate, repos.opportunities, [a.opportunities for a in accounts])
    await _level(gate, repos.activities, [a.activities for a in accounts])
    return _summary(users, accounts)


async def bulk_seed_demo(
    repos: Repos, *, customers: int = 50, seed: int = 7, now: datetime | None = None
) -> SeedSummary:
    """The same demo data written with BatchWriteItem: for an EMPTY tenant only (the
    embedded mode's fresh in-memory store), about ten times faster than creates."""
    users, accounts = _plan(customers, seed, now or utcnow())
    records: list[Record] = [*users]
    for a in accounts:
        records += [a.customer, *a.contacts, *a.opportunities, *a.activities]
    await bulk.load(repos, records)
    return _summary(users, accounts)


async def _level(gate: asyncio.Semaphore, repo: Repo[R], groups: Sequence[Sequence[R]]) -> None:
    # A few BatchGetItems spare a repeat run hundreds of cancelled transactions.
    found = await repo.get_many([r.id for group in groups for r in group])
    existing = {r.id for r in found if r is not None}
    try:
        async with asyncio.TaskGroup() as tasks:
            for group in groups:
                if todo := [r for r in group if r.id not in existing]:
                    tasks.create_task(_in_order(gate, repo, todo))
    except ExceptionGroup as failed:  # callers expect the DAL's errors, not a group
        first = failed.exceptions[0]
        raise first from first.__cause__


async def _in_order(gate: asyncio.Semaphore, repo: Repo[R], group: Sequence[R]) -> None:
    # A customer's children all bump its refCount: one at a time they never collide.
    async with gate:
        for rec in group:
            await _create(repo, rec)


async def _create(repo: Repo[R], rec: R) -> None:
    # Transient cancellations are retried by Dynamo.write; a concurrent seed may
    # have written the record since the existence check.
    with contextlib.suppress(AlreadyExists):
        await repo.create(rec)


def _summary(users: list[User], accounts: list[_Account]) -> SeedSummary:
    return SeedSummary(
        users=len(users),
        customers=len(accounts),
        contacts=sum(len(a.contacts) for a in accounts),
        opportunities=sum(len(a.opportunities) for a in accounts),
        activities=sum(len(a.activities) for a in accounts),
    )


def _plan(customers: int, seed: int, now: datetime) -> tuple[list[User], list[_Account]]:
    # Whole seconds: the seed's times read as plain clock times in the API.
    planner = _Planner(random.Random(seed), to_utc(now).replace(microsecond=0))
    return planner.users(), [planner.account(i) for i in range(1, customers + 1)]


class _Planner:
    """Draws every record from one Random in a fixed order, so a seed is one data set.

    Account ``i`` only uses draws made after accounts ``1..i-1``: seeding more
    customers later adds accounts and leaves the earlier ones as they were.
    """

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self._names: set[str] = set()
        self._activity_numbers = itertools.count(1)

    def between(self, low: datetime, high: datetime) -> datetime:
        seconds = max(0, int((high - low).total_seconds()))
        return low + timedelta(seconds=self.rng.randint(0, seconds))

    def after(self, start: datetime, share: float) -> datetime:
        """A moment after ``start``, at most ``share`` of the way from it to now."""
        return self.between(start + HOUR, start + (self.now - start) * share)

    def users(self) -> list[User]:
        joined = self.now - 400 * DAY  # the team predates every account
        return [
            User(id=uid, created_at=joined, updated_at=joined, username=name,
                 email=f"{name}@demo.example", role=role, preferences=prefs)
            for uid, name, role, prefs in USERS
        ]  # fmt: skip

    def account(self, i: int) -> _Account:
        cus = self._customer(i)
        contacts = self._contacts(i, cus)
        deals = self._opportunities(i, cus, contacts)
        return _Account(cus, contacts, deals, self._activities(i, cus, contacts, deals))

    def _customer(self, i: int) -> Customer:
        created = self.between(self.now - 365 * DAY, self.now - 7 * DAY)
        name = self._company()
        info = {"website": f"https://www.{_domain(name)}", "city": self.rng.choice(CITIES)}
        # The first four accounts cover every tier; the rest are weighted.
        tier = TIERS[i - 1] if i <= len(TIERS) else self.rng.choices(TIERS, TIER_WEIGHTS)[0]
        return Customer(
            id=f"cus_{i:03d}", created_at=created, updated_at=created, company_name=name,
            industry=self.rng.choice(INDUSTRIES), tier=tier, contact_info=info,
            owner_id=self.rng.choices(OWNERS, OWNER_WEIGHTS)[0],
        )  # fmt: skip

    def _company(self) -> str:
        # Redraw before numbering: "Globex Labs 2" reads worse than another name.
        for _ in range(20):
            name = f"{self.rng.choice(COMPANY_HEADS)} {self.rng.choice(COMPANY_TAILS)}"
            if name not in self._names:
                break
        base, n = name, 2
        while name in self._names:
            name, n = f"{base} {n}", n + 1
        self._names.add(name)
        return name

    def _contacts(self, i: int, cus: Customer) -> list[Contact]:
        firsts = self.rng.sample(FIRST_NAMES, self.rng.randint(1, 4))  # distinct emails
        return [self._contact(cus, f"{i:03d}-{n}", first) for n, first in enumerate(firsts, 1)]

    def _contact(self, cus: Customer, number: str, first: str) -> Contact:
        created = self.after(cus.created_at, 0.3)
        last = self.rng.choice(LAST_NAMES)
        phone = f"+1-555-{self.rng.randint(100, 999)}-{self.rng.randint(1000, 9999)}"
        return Contact(
            id=f"con_{number}", created_at=created, updated_at=created,
            customer_id=cus.id, first_name=first, last_name=last,
            email=f"{first}.{last}@{_domain(cus.company_name)}".lower(), phone=phone,
            position=self.rng.choice(POSITIONS),
        )  # fmt: skip

    def _opportunities(self, i: int, cus: Customer, contacts: list[Contact]) -> list[Opportunity]:
        # Each account's first deal cycles through the stages, so all six occur.
        stages = [STAGES[(i - 1) % len(STAGES)]]
        stages += [self.rng.choice(STAGES) for _ in range(self.rng.randint(0, 2))]
        return [
            self._opportunity(cus, contacts, f"{i:03d}-{n}", s) for n, s in enumerate(stages, 1)
        ]

    def _opportunity(
        self, cus: Customer, contacts: list[Contact], number: str, stage: OpportunityStage
    ) -> Opportunity:
        contact = self.rng.choice(contacts) if self.rng.random() < 0.5 else None
        created = self.after(contact.created_at if contact else cus.created_at, 0.5)
        closed = self._closed_at(created) if stage.closed else None
        return Opportunity(
            id=f"opp_{number}", created_at=created, updated_at=closed or created,
            customer_id=cus.id, title=f"{self.rng.choice(DEALS)} - {cus.company_name}",
            value=Decimal(self.rng.randint(100_000, 25_000_000)).scaleb(-2), stage=stage,
            probability=PROBABILITY[stage], contact_id=contact.id if contact else None,
            expected_close_date=closed.date() if closed else self._close_date(),
            closed_at=closed, owner_id=cus.owner_id,
        )  # fmt: skip

    def _closed_at(self, created: datetime) -> datetime:
        # Within the last quarter where possible, so "won this quarter" has data.
        return self.between(max(created, self.now - 90 * DAY), self.now - HOUR)

    def _close_date(self) -> date:
        # Some open deals have slipped past their date: pipeline reports show them.
        return (self.now + self.rng.randint(-30, 180) * DAY).date()

    def _activities(
        self, i: int, cus: Customer, contacts: list[Contact], deals: list[Opportunity]
    ) -> list[Activity]:
        targets: list[Target] = [(Entity.CUSTOMER, cus)] * 2
        targets += [(Entity.CONTACT, c) for c in contacts]
        targets += [(Entity.OPPORTUNITY, o) for o in deals]
        types = [TYPES[(i - 1) % len(TYPES)]]  # cycled like stages: every type occurs
        types += [self.rng.choice(TYPES) for _ in range(self.rng.randint(2, 8))]
        return [self._activity(cus, t, self.rng.choice(targets)) for t in types]

    def _activity(self, cus: Customer, kind: ActivityType, target: Target) -> Activity:
        entity, related = target
        scheduled = self._scheduled(kind, related)
        created = self.between(related.created_at, min(scheduled or self.now, self.now))
        completed = self._completed(scheduled)
        return Activity(
            id=f"act_{next(self._activity_numbers):04d}", created_at=created,
            updated_at=completed or created, related_id=related.id, related_type=entity,
            type=kind, subject=self.rng.choice(SUBJECTS[kind]),
            description=f"{kind.value.title()} about {cus.company_name}",
            scheduled_at=scheduled, completed_at=completed, owner_id=cus.owner_id,
        )  # fmt: skip

    def _scheduled(self, kind: ActivityType, related: Record) -> datetime | None:
        if kind is ActivityType.NOTE and self.rng.random() < 0.5:
            return None  # a plain note: nothing to schedule
        start = max(self.now - 60 * DAY, related.created_at + HOUR)
        return self.between(start, self.now + 30 * DAY)

    def _completed(self, scheduled: datetime | None) -> datetime | None:
        # Most past work is done; the rest stays open and shows up as overdue.
        if scheduled is None or scheduled >= self.now or self.rng.random() < 0.2:
            return None
        return min(scheduled + self.rng.randint(5, 120) * timedelta(minutes=1), self.now)


def _domain(company: str) -> str:
    return "-".join(company.lower().split()) + ".example"
