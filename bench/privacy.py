"""What privacy costs: an erasure against writing the same records through the API,
and auditing reads against not auditing them.

    python -m bench.privacy [--activities 20] [--contacts 100] [--rounds 5]

The stack of ``bench.jobs`` (DynamoDB Local of its own, moto for S3 and SQS, the
Redis at 127.0.0.1:6379 db 14). Every figure is measured by this run:

- erasure: a contact with ``--activities`` activities about them, 5 deals, an
  attached file, an export of the tenant's contacts and a changed e-mail; the
  job's own startedAt..finishedAt. Baseline: one update through the API of each
  record the erasure rewrites (the contact, its activities, its deals), one at a
  time, in a twin tenant.
- read audit: ``customer { contacts(first: N) { firstName lastName email phone } }``
  with the tenant's ``auditReads`` off, then on, alternating ``--rounds`` times
  (so drift hits both); ms per request and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import datetime
from typing import Any

import httpx

from bench.jobs import Client, fresh_tenant, stack
from jobs.worker import Worker
from server import create_app
from services import Services, job_worker

CUSTOMER = 'mutation { createCustomer(input: {companyName: "Bench Ltd"}) { id } }'
CONTACT = """
mutation($c: ID!, $n: Int!) { createContact(input: {customerId: $c, firstName: "Ada",
  lastName: "Lovelace", email: "ada@example.org", phone: "+44 20 7946 0000",
  details: {n: $n}}) { id } }"""
ACTIVITY = """
mutation($r: ID!) { createActivity(input: {relatedId: $r, type: CALL,
  subject: "Call Ada Lovelace", description: "Ada asked for the engine plans"}) { id } }"""
DEAL = """
mutation($c: ID!, $k: ID!) { createOpportunity(input: {customerId: $c, contactId: $k,
  title: "Lovelace engines", value: "1000.00"}) { id } }"""
EDIT_CONTACT = """
mutation($id: ID!, $e: String!) { updateContact(id: $id, input: {email: $e}) { id } }"""
EDIT_ACTIVITY = """
mutation($id: ID!) { updateActivity(id: $id, input: {subject: "[erased]"}) { id } }"""
EDIT_DEAL = """
mutation($id: ID!) { updateOpportunity(id: $id, input: {title: "[erased] engines"}) { id } }"""
EXPORT = "mutation { startExport(entity: CONTACT, format: CSV) { id } }"
ERASE = "mutation($id: ID!) { requestErasure(subjectKind: CONTACT, subjectId: $id) { id } }"
REQUEST = "query($id: ID!) { job(id: $id) { status startedAt finishedAt message } }"
LIST = """
query($c: ID!, $n: Int!) { customer(id: $c) { contacts(first: $n) { edges { node {
  firstName lastName email phone } } } } }"""


async def _seed(client: Client, activities: int) -> dict[str, Any]:
    customer = (await client.gql(CUSTOMER, {}))["createCustomer"]["id"]
    contact = (await client.gql(CONTACT, {"c": customer, "n": 0}))["createContact"]["id"]
    acts = [(await client.gql(ACTIVITY, {"r": contact}))["createActivity"]["id"]
            for _ in range(activities)]  # fmt: skip
    deals = [(await client.gql(DEAL, {"c": customer, "k": contact}))["createOpportunity"]["id"]
             for _ in range(5)]  # fmt: skip
    await client.gql(EDIT_CONTACT, {"id": contact, "e": "ada.l@example.org"})
    return {"customer": customer, "contact": contact, "activities": acts, "deals": deals}


async def _baseline(client: Client, seeded: dict[str, Any]) -> float:
    started = time.perf_counter()
    await client.gql(EDIT_CONTACT, {"id": seeded["contact"], "e": "ada.x@example.org"})
    for id in seeded["activities"]:
        await client.gql(EDIT_ACTIVITY, {"id": id})
    for id in seeded["deals"]:
        await client.gql(EDIT_DEAL, {"id": id})
    return time.perf_counter() - started


async def _erasure(client: Client, worker: Worker, seeded: dict[str, Any]) -> tuple[float, str]:
    await client.gql(EXPORT, {})
    await worker.drain()
    job = (await client.gql(ERASE, {"id": seeded["contact"]}))["requestErasure"]["id"]
    await worker.drain()
    done = (await client.gql(REQUEST, {"id": job}))["job"]
    if done["status"] != "SUCCEEDED":
        raise RuntimeError(f"erasure {done}")
    spent = _at(done["finishedAt"]) - _at(done["startedAt"])
    return spent.total_seconds(), str(done["message"])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _reads(client: Client, services: Services, contacts: int, rounds: int) -> list[float]:
    customer = (await client.gql(CUSTOMER, {}))["createCustomer"]["id"]
    for n in range(contacts):
        await client.gql(CONTACT, {"c": customer, "n": n})
    spent: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for audited in (False, True):
            await services.store.tenants.set_audit_reads(client.tenant, audited)
            spent[audited].append(await _list(client, customer, contacts))
    return [statistics.median(spent[False]), statistics.median(spent[True])]


async def _list(client: Client, customer: str, contacts: int, times: int = 20) -> float:
    await client.gql(LIST, {"c": customer, "n": contacts})  # warm
    started = time.perf_counter()
    for _ in range(times):
        await client.gql(LIST, {"c": customer, "n": contacts})
    return (time.perf_counter() - started) / times * 1000


async def main(activities: int, contacts: int, rounds: int) -> None:
    async with stack() as services:
        worker = job_worker(services)
        app = create_app(services.settings, services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            twin = Client(http, fresh_tenant("privacy-base"))
            base = await _baseline(twin, await _seed(twin, activities))
            subject = Client(http, fresh_tenant("privacy"))
            erased, message = await _erasure(subject, worker, await _seed(subject, activities))
            off, on = await _reads(Client(http, fresh_tenant("reads")), services, contacts, rounds)
    writes = 1 + activities + 5
    print(f"erasure of a contact with {activities} activities and 5 deals: {erased:.2f} s"
          f" ({message})")  # fmt: skip
    print(f"baseline, {writes} updates through the API one at a time: {base:.2f} s;"
          f" erasure / baseline = {erased / base:.2f}")  # fmt: skip
    print(f"list of {contacts} contacts: {off:.1f} ms unaudited, {on:.1f} ms with reads"
          f" audited; ratio {on / off:.2f}")  # fmt: skip


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--activities", type=int, default=20)
    p.add_argument("--contacts", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    asyncio.run(main(a.activities, a.contacts, a.rounds))
