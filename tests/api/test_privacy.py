"""Privacy: a subject's export holds all of theirs and nothing of others; their erasure
leaves no trace in any store (every DynamoDB table, every S3 version, Redis, the
change log) and says so store by store; the e-mail stays suppressed until lifted;
the audit log keeps who, what and when without a value."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import zipfile
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from dal.cache.keys import Layer
from dal.jobs.queue import Message
from dal.models import Entity
from dal.sync.reader import ChangeReader
from dal.sync.sequence import SHARDS
from jobs.run import Run
from jobs.worker import Worker
from services import Services
from tests import sweep
from tests.conftest import Gql, Settle, Tenants, token
from tests.support import RequestLog

CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"
EDIT = """
mutation($id: ID!, $i: UpdateContactInput!) { updateContact(id: $id, input: $i) { id email } }"""
DEAL = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }"
ACTIVITY = "mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }"
DROP = "mutation($id: ID!) { deleteActivity(id: $id) }"
UPLOAD = """
mutation($c: ID!, $a: ID!, $n: String!, $s: Int!) {
  requestDocumentUpload(customerId: $c, activityId: $a, fileName: $n, contentType: "text/plain",
                        size: $s) { key url fields }
}"""
CONFIRM = "mutation($c: ID!, $k: String!) { confirmDocumentUpload(customerId: $c, key: $k) { id } }"
EXPORT = "mutation { startExport(entity: CONTACT, format: CSV) { id } }"
ACCESS = """
mutation($id: ID!) { requestDataExport(subjectKind: CONTACT, subjectId: $id) { id status } }"""
ERASE = """
mutation($id: ID!) {
  requestErasure(subjectKind: CONTACT, subjectId: $id, reason: "asked by e-mail") {
    id status requestedAt dueAt } }"""
REQUEST = """
query($id: ID!) {
  privacyRequest(id: $id) { id kind subjectKind subjectId status completedAt exportUrl receipt
                            reason message } }"""
REQUESTS = "{ privacyRequests { edges { node { id kind status subjectId dueAt } } } }"
USER = """
mutation($e: String!) { createUser(input: {id: "u-leaver", username: "Leaver", email: $e,
  role: SALES_REP, preferences: {signature: "Regards, Leaver"}}) { id } }"""
ERASE_USER = """
mutation { requestErasure(subjectKind: USER, subjectId: "u-leaver") { id } }"""
LEAVER = '{ user(id: "u-leaver") { username email preferences } }'
AUDIT = """
query($r: ID, $a: ID) {
  auditLog(recordId: $r, actorId: $a) { edges { node { id at actorId action entity recordId
                                                       requestId fields } } } }"""
AFTER = """
query($o: ID!, $c: ID!) {
  opportunity(id: $o) { title value contact { id firstName lastName email erasedAt } }
  customer(id: $c) { contacts { edges { node { id } } } }
}"""


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _one(gql: Gql, document: str, **variables: Any) -> str:
    answer = data(await gql(document, variables))
    (value,) = answer.values()
    return str(value["id"])


def _person(tag: str, first: str, last: str) -> dict[str, Any]:
    return {
        "firstName": first,
        "lastName": f"{last}{tag}",
        "email": f"{first.lower()}.{tag}@example.org",
        "phone": f"+44 7700 {tag}",
        "position": f"Falconer{tag}",
        "details": {"hobby": f"origami{tag}"},
    }


async def _attach(gql: Gql, customer: str, activity: str, name: str, body: bytes) -> None:
    variables = {"c": customer, "a": activity, "n": name, "s": len(body)}
    t = data(await gql(UPLOAD, variables))["requestDocumentUpload"]
    async with httpx.AsyncClient() as http:
        sent = await http.post(t["url"], data=t["fields"], files={"file": (name, body)})
    assert sent.status_code in (200, 204), sent.text
    data(await gql(CONFIRM, {"c": customer, "k": t["key"]}))


async def _seed(gql: Gql, client: httpx.AsyncClient, tenant: str, tag: str) -> dict[str, Any]:
    """Two contacts of one customer, A and B, each with a deal, an activity, a file;
    A's e-mail changed once, one of A's activities deleted (archived), an
    Idempotency-Key answer that echoes A."""
    customer = await _one(gql, CUSTOMER, i={"companyName": f"Acme {tag}"})
    seeded: dict[str, Any] = {"customer": customer}
    for who, first, last in (("a", "Zelda", "Quixote"), ("b", "Yorick", "Bramble")):
        person = _person(tag + who, first, last)
        id = await _one(gql, CONTACT, i={"customerId": customer, **person})
        deal = {"customerId": customer, "contactId": id, "title": f"{person['lastName']} deal"}
        opp = await _one(gql, DEAL, i=deal | {"value": "1234.50"})
        what = f"{person['position']} likes {person['details']['hobby']}"
        act = {"relatedId": id, "type": "CALL", "subject": f"Call {first} {person['lastName']}"}
        activity = await _one(gql, ACTIVITY, i=act | {"description": what})
        await _attach(gql, customer, activity, f"passport-{tag}{who}.txt",
                      f"passport of {first} {person['lastName']}".encode())  # fmt: skip
        seeded[who] = {"id": id, "person": person, "opportunity": opp, "activity": activity}
    a = seeded["a"]
    old = a["person"]["email"]
    a["person"]["email"] = f"zq.{tag}a@example.net"
    headers = {"Authorization": f"Bearer {token(tenant)}", "Idempotency-Key": "k1"}
    edit = {"query": EDIT, "variables": {"id": a["id"], "i": {"email": a["person"]["email"]}}}
    assert "errors" not in (await client.post("/graphql", json=edit, headers=headers)).json()
    note = {"relatedId": a["id"], "type": "NOTE", "subject": f"On {a['person']['lastName']}"}
    gone = await _one(gql, ACTIVITY, i=note)
    data(await gql(DROP, {"id": gone}))
    # What the search looks for: A's values that no other test's data could hold.
    kept = [str(v) for k, v in a["person"].items() if k not in ("details", "firstName")]
    a["values"] = [*kept, old, f"origami{tag}a", f"passport-{tag}a"]
    b = seeded["b"]
    b["values"] = [b["person"]["email"], b["person"]["lastName"], f"origami{tag}b"]
    return seeded


async def _everywhere(db: Services, tenant: str, needles: list[str], log: RequestLog) -> Any:
    found = (
        await sweep.dynamodb(db, needles),
        await sweep.s3(db, tenant, needles),
        await sweep.redis(db, tenant, needles),
    )
    log.scans = 0  # the sweep's own Scans: the check, not an access pattern
    return found


async def _run(gql: Gql, worker: Worker, id: str) -> dict[str, Any]:
    await worker.drain()
    found: dict[str, Any] = data(await gql(REQUEST, {"id": id}))["privacyRequest"]
    assert found["status"] == "COMPLETED", found
    return found


async def _zip(url: str) -> zipfile.ZipFile:
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
    assert got.status_code == 200
    return zipfile.ZipFile(io.BytesIO(got.content))


async def _cache_a_record(db: Services, tenant: str, values: list[str]) -> None:
    """A cached answer that holds A's values, as the response cache keeps them."""
    gens = await db.cache.generations(tenant)
    assert gens is not None
    key = db.cache.keys.record(tenant, gens.epoch, "contact", "seen")
    assert await db.cache.put_many(Layer.RESPONSE, [(key, {"answer": values})], 300)


async def test_an_export_holds_all_of_the_subject_and_an_erasure_leaves_no_trace(
    gql: Gql,
    client: httpx.AsyncClient,
    worker: Worker,
    settle: Settle,
    db: Services,
    tenants: Tenants,
    request_log: RequestLog,
) -> None:
    tag = secrets.token_hex(3)
    seeded = await _seed(gql, client, tenants.acme, tag)
    a, b = seeded["a"], seeded["b"]
    data(await gql(EXPORT))  # an ordinary export of every contact: A and B in one file
    await worker.drain()
    await _cache_a_record(db, tenants.acme, a["values"])

    # The export: every item of A, nothing of B.
    access = await _one(gql, ACCESS, id=a["id"])
    done = await _run(gql, worker, access)
    archive = await _zip(done["exportUrl"])
    names = set(archive.namelist())
    assert {"README.txt", "subject.json", "contact.csv", "activities.csv", "opportunities.csv",
            "documents.csv", "audit.csv"} <= names  # fmt: skip
    subject = json.loads(archive.read("subject.json"))
    assert [c["id"] for c in subject["contact"]] == [a["id"]]
    assert [x["id"] for x in subject["activities"]] == [a["activity"]]
    assert [x["id"] for x in subject["opportunities"]] == [a["opportunity"]]
    assert [d["activityId"] for d in subject["documents"]] == [a["activity"]]
    (attached,) = [n for n in names if n.startswith("files/")]
    assert archive.read(attached).decode().startswith("passport of Zelda")
    audited = {e["recordId"] for e in subject["audit"]}
    assert {a["id"], a["activity"], a["opportunity"]} <= audited
    rows = list(csv.DictReader(io.StringIO(archive.read("contact.csv").decode())))
    assert rows[0]["email"] == a["person"]["email"]
    everything = b"".join(archive.read(n) for n in names).decode(errors="replace")
    for other in [b["id"], b["activity"], b["opportunity"], *b["values"]]:
        assert other not in everything

    # Before the erasure the search finds A (so it can fail) in every store (the
    # archive copy of A's deleted activity once the stream consumer has written it).
    await settle()
    tables, buckets, cached = await _everywhere(db, tenants.acme, a["values"], request_log)
    assert {"Contacts", "Changes", "Activities", "Opportunities", "Archive", "Documents"} <= {
        t.removeprefix("test-") for t in tables
    }
    assert {"test-attachments", "test-imports-exports"} <= set(buckets)
    assert cached >= 1

    erase = data(await gql(ERASE, {"id": a["id"]}))["requestErasure"]
    assert erase["status"] == "PENDING"
    requested = datetime.fromisoformat(erase["requestedAt"])
    assert datetime.fromisoformat(erase["dueAt"]) - requested == timedelta(days=30)
    done = await _run(gql, worker, erase["id"])
    stores = {s["store"]: s for s in done["receipt"]["stores"]}
    assert stores["dynamodb:Contacts"]["items"] == 1
    assert stores["dynamodb:Documents"]["items"] == 1
    assert stores["s3:documents+attachments"]["items"] >= 1
    assert stores["dynamodb:Activities"]["items"] == 1
    assert stores["dynamodb:Opportunities"]["items"] == 1
    assert stores["dynamodb:Changes (change log)"]["items"] >= 5
    assert stores["dynamodb:Changes (receipts)"]["items"] == 1
    assert stores["dynamodb:Archive"]["items"] == 1
    assert stores["s3:imports-exports"]["items"] == 2  # the CSV export and A's own export
    assert stores["redis"]["items"] >= 1
    assert stores["dynamodb:Suppressions"]["items"] == 2  # the e-mail now and the one before
    assert done["reason"] == "asked by e-mail"

    # After: zero traces of A anywhere; B is still found (the search works).
    assert await _everywhere(db, tenants.acme, a["values"], request_log) == ({}, {}, 0)
    tables, _, _ = await _everywhere(db, tenants.acme, b["values"], request_log)
    assert {"Contacts", "Changes"} <= {t.removeprefix("test-") for t in tables}

    # Business facts stay; the contact is "erased", gone from lists and devices.
    after = data(await gql(AFTER, {"o": a["opportunity"], "c": seeded["customer"]}))
    assert after["opportunity"]["value"] == "1234.50"
    assert after["opportunity"]["title"] == "[erased] deal"
    contact = after["opportunity"]["contact"]
    assert (contact["firstName"], contact["lastName"], contact["email"]) == (
        "Erased", "Contact", None,
    )  # fmt: skip
    assert contact["erasedAt"] is not None
    listed = {e["node"]["id"] for e in after["customer"]["contacts"]["edges"]}
    assert listed == {b["id"]}
    await settle()  # the erasure's entries numbered in the log
    reader = ChangeReader(db.store.dynamo, db.store.for_tenant(tenants.acme).scope)
    delta = await reader.delta((0,) * SHARDS, 1000, frozenset({Entity.CONTACT}))
    last = [c for c in delta.changes if c.id == a["id"]][-1]
    assert last.op.value == "DELETE"

    # The audit log: the facts of every write, no values.
    events = data(await gql(AUDIT, {"r": a["id"]}))["auditLog"]["edges"]
    actions = [e["node"]["action"] for e in events]
    assert actions == ["erase", "update", "create"]  # newest first
    assert events[1]["node"]["fields"] == ["email"]
    assert events[0]["node"]["actorId"] == "u-admin"
    mine = data(await gql(AUDIT, {"a": "u-admin"}))["auditLog"]["edges"]
    assert len(mine) >= 10
    shown = json.dumps([events, mine])
    assert not [v for v in [*a["values"], *b["values"]] if v in shown]

    # An erased record does not change again; both requests are listed, newest first.
    edit = await gql(EDIT, {"id": a["id"], "i": {"phone": "+1"}})
    assert edit["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    listed = data(await gql(REQUESTS))["privacyRequests"]["edges"]
    assert [(e["node"]["kind"], e["node"]["status"]) for e in listed] == [
        ("ERASURE", "COMPLETED"), ("ACCESS", "COMPLETED"),
    ]  # fmt: skip

    # Suppressed: the person is not brought back by a create (nor an import's row).
    again = await gql(CONTACT, {"i": {"customerId": seeded["customer"], **a["person"]}})
    assert again["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "suppressed" in again["errors"][0]["message"]
    assert await db.store.for_tenant(tenants.acme).suppressions.lift(a["person"]["email"])
    data(await gql(CONTACT, {"i": {"customerId": seeded["customer"], **a["person"]}}))


async def test_an_erased_user_keeps_their_records_under_an_anonymous_name(
    gql: Gql, worker: Worker
) -> None:
    email = f"leaver.{secrets.token_hex(3)}@example.org"
    data(await gql(USER, {"e": email}))
    customer = await _one(gql, CUSTOMER, i={"companyName": "Kept", "ownerId": "u-leaver"})
    done = await _run(gql, worker, await _one(gql, ERASE_USER))
    stores = {s["store"]: s["items"] for s in done["receipt"]["stores"]}
    assert stores["dynamodb:Users"] == 1
    assert stores["dynamodb:Suppressions"] == 1
    user = data(await gql(LEAVER))["user"]
    assert user == {
        "username": "erased-u-leaver", "email": "erased-u-leaver@erased.invalid",
        "preferences": None,
    }  # fmt: skip
    owned = data(await gql("query($c: ID!) { customer(id: $c) { owner { id } } }", {"c": customer}))
    assert owned["customer"]["owner"]["id"] == "u-leaver"  # the business record keeps its owner
    again = await gql(USER.replace("u-leaver", "u-back"), {"e": email.upper()})
    assert "suppressed" in again["errors"][0]["message"]


class Crash(BaseException):
    """A worker dying mid-job (not an error the worker would record)."""


async def test_a_crashed_erasure_resumes_where_it_stopped_and_ends_clean(
    gql: Gql, worker: Worker, db: Services, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await _one(gql, CUSTOMER, i={"companyName": "Resumed"})
    person = _person(secrets.token_hex(3), "Ivo", "Crashton")
    contact = await _one(gql, CONTACT, i={"customerId": customer, **person})
    await _one(gql, ACTIVITY, i={"relatedId": contact, "type": "CALL", "subject": "Call Ivo"})
    id = data(await gql(ERASE, {"id": contact}))["requestErasure"]["id"]
    refused = await gql("mutation($id: ID!) { cancelJob(id: $id) { id } }", {"id": id})
    assert "cannot be cancelled" in refused["errors"][0]["message"]
    worker.tuning = type(worker.tuning)(lease_s=1, chunk_rows=3, concurrency=2, max_rows=100)
    real, seen = Run.checkpoint, []

    async def crashing(self: Run, made: Any) -> None:
        await real(self, made)
        seen.append(made.processed)
        if len(seen) == 4:
            raise Crash()  # after the activities' step, before the deals'

    monkeypatch.setattr(Run, "checkpoint", crashing)
    with pytest.raises(Crash):
        await worker.drain()
    half = data(await gql(REQUEST, {"id": id}))["privacyRequest"]
    assert half["status"] == "RUNNING"
    await asyncio.sleep(1.05)  # the lease runs out
    assert await worker.handle(Message(tenants.acme, id, "")) is True
    done = data(await gql(REQUEST, {"id": id}))["privacyRequest"]
    assert done["status"] == "COMPLETED"
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 9]  # the second run went on from step 5
    stores = [s["store"] for s in done["receipt"]["stores"]]
    assert len(stores) == len(set(stores)) == 13  # every store once, the first run's kept
    stored = await db.store.for_tenant(tenants.acme).jobs.get(id)
    assert stored is not None
    assert stored.checkpoint == {}  # the values it searched for went with the run
