"""Capacity units per GraphQL operation, as DynamoDB Local reports them.

    python -m bench.write_cost [--json PATH] [--compare EARLIER.json]

The API (``server.create_app``) runs in process over DynamoDB Local (in memory, started
as the suite starts it), every DynamoDB call returning its consumed capacity
(``bench/capacity.py``). As an ADMIN it runs, in one tenant, each create, update and
delete per entity, with the variants that cost differently; in another, seeded
through the API, each access pattern of README's "Access patterns and reports".
Records are created without ids and only the GraphQL contract is used, so the file
measures any data layout behind the same API: compare two runs' ``--json`` files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

import auth
from bench.capacity import NOTE, CapacityMeter, Recorder, compare, table, totals_line, write_json
from bench.stack import dynamodb_local_stack
from dal.models import Role
from server import create_app
from tests.dynamodb_local import Unavailable

CALLER = "bench-admin"
WRITES, READS = "bench-writes", "bench-reads"  # the two tenants
ENTITIES = (("users", "User"), ("customers", "Customer"), ("contacts", "Contact"),
            ("opportunities", "Opportunity"), ("activities", "Activity"))  # fmt: skip
PATTERNS = "access patterns"
SIZES = {"customers": 90, "contacts": 45, "opportunities": 150, "activities": 240}
DAY = timedelta(days=1)
PAGE = "edges { node { id } } pageInfo { hasNextPage }"
INDUSTRIES = ("Software", "Retail", "Logistics")
HEADS = ("Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Acme",
         "Vandelay", "Tyrell")  # fmt: skip
TAILS = ("Traders", "Systems", "Labs", "Group", "Holdings")
STAGES = ("LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "CLOSED_WON", "CLOSED_LOST")
TYPES = ("CALL", "EMAIL", "MEETING", "TASK", "NOTE")
COMPLETE = (
    "mutation($id: ID!, $at: DateTime) { completeActivity(id: $id, completedAt: $at) { id } }"
)


class Api:
    """GraphQL over ASGI as the ADMIN ``CALLER`` of one tenant; GraphQL errors raise."""

    def __init__(self, client: httpx.AsyncClient, secret: str, tenant: str) -> None:
        token = auth.mint(secret, tenant=tenant, user=CALLER, role=Role.ADMIN, ttl=3 * 3600)
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    async def __call__(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        body = {"query": document, "variables": variables or {}}
        answer = (await self.client.post("/graphql", json=body, headers=self.headers)).json()
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    async def create(self, entity: str, values: dict[str, Any]) -> str:
        """A new record's id, as the server chose it."""
        doc = f"mutation($in: Create{entity}Input!) {{ create{entity}(input: $in) {{ id }} }}"
        return str((await self(doc, {"in": values}))[f"create{entity}"]["id"])

    async def me(self) -> str:
        """The caller's user id (the first request also provisions the User record)."""
        return str((await self("{ me { id } }"))["me"]["id"])


class Ops:
    """The measured mutations of one entity, labelled by mutation and variant."""

    def __init__(self, recorder: Recorder, api: Api, section: str, entity: str) -> None:
        self.recorder, self.api, self.section, self.entity = recorder, api, section, entity

    async def run(self, label: str, doc: str, variables: dict[str, Any]) -> Any:
        return await self.recorder.record(self.section, label, self.api(doc, variables))

    async def create(self, values: dict[str, Any], note: str = "") -> str:
        e = self.entity
        doc = f"mutation($in: Create{e}Input!) {{ create{e}(input: $in) {{ id version }} }}"
        data = await self.run(f"create{e} {note}".strip(), doc, {"in": values})
        return str(data[f"create{e}"]["id"])

    async def update(self, id: str, values: dict[str, Any], note: str) -> None:
        e = self.entity
        doc = (f"mutation($id: ID!, $in: Update{e}Input!) "
               f"{{ update{e}(id: $id, input: $in) {{ id version }} }}")  # fmt: skip
        await self.run(f"update{e} {note}", doc, {"id": id, "in": values})

    async def delete(self, id: str, note: str = "") -> None:
        doc = f"mutation($id: ID!) {{ delete{self.entity}(id: $id) }}"
        await self.run(f"delete{self.entity} {note}".strip(), doc, {"id": id})


# -- inputs -----------------------------------------------------------------------------------


def customer_in(i: int, owner: str) -> dict[str, Any]:
    info = {"street": f"{i} Harbour Road", "city": "Hamburg", "zip": "20457", "country": "DE",
            "phone": f"+49 40 555 {i:04d}", "web": "https://example.com"}  # fmt: skip
    return {"companyName": f"{HEADS[i % len(HEADS)]} {TAILS[i % len(TAILS)]} {i}",
            "industry": INDUSTRIES[i % len(INDUSTRIES)], "tier": "STANDARD", "ownerId": owner,
            "contactInfo": info}  # fmt: skip


def contact_in(customer: str, i: int) -> dict[str, Any]:
    return {"customerId": customer, "firstName": "Anna", "lastName": f"Berg {i}",
            "email": f"anna.berg{i}@example.com", "phone": "+49 40 555 0100",
            "position": "Buyer"}  # fmt: skip


def opportunity_in(customer: str, i: int, today: date, **more: Any) -> dict[str, Any]:
    close = today + ((i * 7) % 60 - 10) * DAY
    return {"customerId": customer, "title": f"Fleet renewal {i}", "value": f"{1000 + 250 * i}.00",
            "expectedCloseDate": close.isoformat()} | more  # fmt: skip


def activity_in(related: str, i: int, when: datetime, owner: str) -> dict[str, Any]:
    return {"relatedId": related, "type": TYPES[i % len(TYPES)], "subject": f"Follow-up {i}",
            "description": "Agenda: pricing, delivery dates, next steps.",
            "scheduledAt": when.isoformat(), "ownerId": owner}  # fmt: skip


# -- writes -----------------------------------------------------------------------------------


async def writes(recorder: Recorder, api: Api, now: datetime) -> None:
    """Every write of the API once, in an order that leaves nothing behind but a user."""
    me, today = await api.me(), now.date()
    u, c, k, o, a = (Ops(recorder, api, section, entity) for section, entity in ENTITIES)
    rep = await u.create({"username": "bench-rep", "email": "rep@example.com", "role": "SALES_REP"})
    await u.update(rep, {"preferences": {"timeZone": "Europe/Berlin"}}, "preferences")
    await u.update(rep, {"username": "bench-rep-2"}, "username")
    cus = await c.create(customer_in(1, me))
    for change in ({"tier": "PREMIUM"}, {"companyName": "Nordic Sea Freight"},
                   {"industry": "Shipping"}, {"ownerId": rep}):  # fmt: skip
        await c.update(cus, change, next(iter(change)))
    con = await k.create(contact_in(cus, 1), "(+customer ref)")
    await k.update(con, {"position": "CFO"}, "position")
    opp = await o.create(opportunity_in(cus, 1, today, ownerId=me), "(+customer ref)")
    won = await o.create(
        opportunity_in(cus, 2, today, ownerId=me, contactId=con), "with contact (+2 refs)"
    )
    await o.update(opp, {"title": "Fleet 2027"}, "title")
    await o.update(opp, {"stage": "PROPOSAL"}, "stage LEAD->PROPOSAL")
    await o.update(won, {"stage": "CLOSED_WON"}, "stage LEAD->CLOSED_WON")
    act = await a.create(activity_in(opp, 1, now + 2 * DAY, me), "on opportunity (+opp ref)")
    call = await a.create(activity_in(cus, 2, now + 3 * DAY, me), "on customer (+customer ref)")
    await a.update(act, {"description": "Moved to the customer's office."}, "description")
    await a.run("completeActivity", COMPLETE, {"id": act})
    await a.delete(act, "completed (-opp ref)")
    await a.delete(call, "open (-customer ref)")
    await o.delete(opp, "open (-customer ref)")
    await o.delete(won, "won with contact (-2 refs)")
    await k.delete(con, "(-customer ref)")
    await c.delete(cus)


# -- the seeded tenant and its access patterns --------------------------------------------------


async def seed(api: Api, now: datetime) -> dict[str, str]:
    """Users, customers, contacts, opportunities in every stage, activities a month
    either side of now (some today, some overdue, most past ones completed)."""
    today, midnight = now.date(), datetime.combine(now.date(), datetime.min.time(), UTC)
    users = [await api.me()]
    for i in (1, 2, 3):
        rep = {"username": f"rep{i}", "email": f"rep{i}@example.com", "role": "SALES_REP"}
        users.append(await api.create("User", rep))
    customers = [
        await api.create("Customer", customer_in(i, users[i % 4]))
        for i in range(SIZES["customers"])
    ]
    contacts = {  # on every other customer
        i: await api.create("Contact", contact_in(customers[i], i))
        for i in range(0, 2 * SIZES["contacts"], 2)
    }
    opportunities = []
    for j in range(SIZES["opportunities"]):
        c = j % len(customers)
        values = opportunity_in(customers[c], j, today, stage=STAGES[j % 6], ownerId=users[c % 4])
        extra = {"contactId": contacts[c]} if c in contacts else {}
        opportunities.append(await api.create("Opportunity", values | extra))
    for k in range(SIZES["activities"]):
        # A quarter on one customer (its upcoming list), a quarter on others, half on deals.
        pick = (customers[0], customers[k % len(customers)], opportunities[k % len(opportunities)])
        when = now + ((k * 37) % 61 - 30) * DAY
        if k % 10 == 3:  # today's
            when = midnight + timedelta(minutes=(k * 53) % 1440)
        act = await api.create("Activity", activity_in(pick[min(k % 4, 2)], k, when, users[k % 4]))
        if when < now and k % 3:
            done = now - (k % 14) * DAY - timedelta(hours=1)
            await api(COMPLETE, {"id": act, "at": done.isoformat()})
    return {"customer": customers[0], "owner": users[1]}


def patterns(now: datetime, seeded: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """README's access patterns: (label, document, variables)."""
    d, ts = now.date(), "query($f: DateTime!, $t: DateTime!)"
    year = {"f": (d - 365 * DAY).isoformat(), "t": d.isoformat()}
    cus, owner, q = (
        {"id": seeded["customer"]},
        {"o": seeded["owner"]},
        "query($f: Date!, $t: Date!)",
    )
    return [
        ("find a customer", "query($id: ID!) { customer(id: $id) { id companyName } }", cus),
        ("search by name", f"query($p: String!) {{ customers(filter: {{nameStartsWith: $p}}) "
         f"{{ {PAGE} }} }}", {"p": "nort"}),
        ("filter by industry", f"query($i: String!) {{ customers(filter: {{industry: $i}}) "
         f"{{ {PAGE} }} }}", {"i": "Software"}),
        ("list by owner", f"query($o: ID!) {{ customers(filter: {{ownerId: $o}}) {{ {PAGE} }} }}",
         owner),
        ("opportunities by stage", f"{q} {{ opportunities(filter: {{stage: PROPOSAL, "
         f"closingFrom: $f, closingTo: $t}}) {{ {PAGE} }} }}",
         {"f": d.isoformat(), "t": (d + 30 * DAY).isoformat()}),
        ("pipeline", "{ pipeline { stages { stage count totalValue weightedValue } "
         "totalValue weightedValue } }", {}),
        ("forecast", f"{q} {{ forecast(from: $f, to: $t, period: MONTH) "
         "{ period count totalValue weightedValue } }",
         {"f": d.isoformat(), "t": (d + 180 * DAY).isoformat()}),
        ("closed deals", f"{{ closedDeals(won: true) {{ {PAGE} }} }}", {}),
        ("today's activities", "query($o: ID!) { user(id: $o) { todaysActivities { id } } }",
         owner),
        ("upcoming activities", f"query($id: ID!) {{ customer(id: $id) "
         f"{{ activities(upcoming: true) {{ {PAGE} }} }} }}", cus),
        ("overdue activities", f"{{ activities(filter: {{overdue: true}}) {{ {PAGE} }} }}", {}),
        ("overdue activities of an owner", f"query($o: ID!) {{ activities(filter: "
         f"{{overdue: true, ownerId: $o}}) {{ {PAGE} }} }}", owner),
        ("recently completed", f"query($s: DateTime!) {{ activities(filter: "
         f"{{completedSince: $s}}) {{ {PAGE} }} }}", {"s": (now - 7 * DAY).isoformat()}),
        ("sales by period", f"{q} {{ salesByPeriod(from: $f, to: $t, period: MONTH) "
         "{ period dealsWon revenue } }", year),
        ("activity metrics", f"{ts} {{ activityMetrics(from: $f, to: $t) "
         "{ planned completed overdue byType } }",
         {"f": (now - 30 * DAY).isoformat(), "t": now.isoformat()}),
        ("customer acquisition", f"{q} {{ customerAcquisition(from: $f, to: $t, period: MONTH) "
         "{ period newCustomers } }", year),
        ("lead conversion", f"{q} {{ leadConversion(from: $f, to: $t) {{ leads won lost rate }} }}",
         year),
    ]  # fmt: skip


# -- the run ------------------------------------------------------------------------------------


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


async def measure(now: datetime) -> tuple[Recorder, CapacityMeter]:
    """DynamoDB Local up, tables created; the writes, the seed, the access patterns."""
    prefix = f"wcost{os.getpid()}-"  # fresh tables, even on a shared DynamoDB Local
    async with dynamodb_local_stack(prefix) as (settings, services):
        meter = CapacityMeter(services.dynamo_client, prefix, skip_tables=("Tenants",))
        recorder = Recorder(meter, (*(section for section, _ in ENTITIES), PATTERNS))
        secret, began = settings.jwt_secret() or "", time.perf_counter()
        transport = httpx.ASGITransport(app=create_app(settings, services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await writes(recorder, Api(client, secret, WRITES), now)
            reader = Api(client, secret, READS)
            seeded = await seed(reader, now)
            print(f"seeded {READS}: {SIZES} in {time.perf_counter() - began:.0f} s", flush=True)
            for label, doc, variables in patterns(now, seeded):
                await recorder.record(PATTERNS, label, reader(doc, variables))
    return recorder, meter


async def run(json_path: Path | None, compare_path: Path | None) -> None:
    began, now = time.perf_counter(), datetime.now(UTC).replace(microsecond=0)
    recorder, meter = await measure(now)
    rows = recorder.rows
    for section, found in rows.items():
        print(table(section, found, "read" if section == PATTERNS else "write"))
    print(totals_line(rows))
    print(NOTE.format(skipped=meter.skipped, refused=meter.unreported))
    print(f"Run time {time.perf_counter() - began:.0f} s.")
    if json_path is not None:
        meta = {"commit": commit(), "at": now.isoformat(), "seeded": SIZES}
        write_json(json_path, meta | {"skipped": meter.skipped}, rows)
    if compare_path is not None:
        print(compare(compare_path, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description="Capacity units per GraphQL operation.")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    args = parser.parse_args()
    try:
        asyncio.run(run(args.json, args.compare))
    except Unavailable as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
