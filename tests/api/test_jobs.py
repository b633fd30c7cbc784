"""Jobs end to end: a CSV goes up through its presigned POST, the worker imports it
through the API's own mutations, rejected rows come back with their reasons,
exports import back to the same records, and a crashed or cancelled run behaves."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from dal.jobs.queue import Message
from dal.models import Entity, Role
from dal.sync.reader import ChangeReader
from dal.sync.sequence import SHARDS
from jobs import cells
from jobs.run import Run
from jobs.worker import Worker
from services import Services
from tests.conftest import Gql, Settle, Tenants

UPLOAD = """
mutation($entity: DataEntity!, $name: String!, $size: Int!) {
  requestImportUpload(entity: $entity, fileName: $name, size: $size) { key url fields }
}"""
START = """
mutation($entity: DataEntity!, $key: String!, $dry: Boolean) {
  startImport(entity: $entity, key: $key, dryRun: $dry) { id status kind }
}"""
EXPORT = """
mutation($entity: DataEntity!, $format: FileFormat) {
  startExport(entity: $entity, format: $format) { id status }
}"""
JOB = """
query($id: ID!) {
  job(id: $id) { id kind status total processed failed progress message resultUrl errorUrl
                 startedAt finishedAt }
}"""
JOBS = "query($kind: JobKind) { jobs(kind: $kind) { edges { node { id kind } } } }"
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { id status } }"
CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
CUSTOMERS = """
{ customers(first: 100) { edges { node { id companyName industry tier contactInfo owner { id }
  version } } } }"""

GOOD = [
    ["companyName", "industry", "tier", "contactInfo"],
    ["Acme Rockets", "Aerospace", "PREMIUM", '{"phone": "+1 555 0100"}'],
    ["Globex", "", "", ""],
    ["  ", "Nothing", "FREE", ""],  # rejected: the name is required
    ["Initech", "Software", "PLATINUM", ""],  # rejected: no such tier
    ["Umbrella", "Pharma", "STANDARD", "{not json"],  # rejected: the cell is not JSON
]


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


def csv_of(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


async def upload(gql: Gql, body: bytes, name: str = "customers.csv", **who: Any) -> str:
    variables = {"entity": "CUSTOMER", "name": name, "size": len(body)}
    t = data(await gql(UPLOAD, variables, **who))["requestImportUpload"]
    async with httpx.AsyncClient() as http:  # the browser's (or curl's) form POST
        sent = await http.post(t["url"], data=t["fields"], files={"file": (name, body)})
    assert sent.status_code in (200, 204), sent.text
    return str(t["key"])


async def start(gql: Gql, key: str, dry: bool = False, entity: str = "CUSTOMER") -> str:
    job = data(await gql(START, {"entity": entity, "key": key, "dry": dry}))["startImport"]
    assert job["status"] == "QUEUED"
    return str(job["id"])


async def job(gql: Gql, id: str) -> dict[str, Any]:
    found: dict[str, Any] = data(await gql(JOB, {"id": id}))["job"]
    return found


async def fetch(url: str) -> str:
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
    assert got.status_code == 200, got.text
    return got.text


async def logged(db: Services, settle: Settle, tenant: str, entity: Entity) -> set[str]:
    """The ids the change log has entries of (every shard, from the start), once the
    sequencer has numbered what was written."""
    await settle()
    reader = ChangeReader(db.store.dynamo, db.store.for_tenant(tenant).scope)
    delta = await reader.delta((0,) * SHARDS, 1000, frozenset({entity}))
    return {c.id for c in delta.changes}


async def test_a_csv_import_writes_good_rows_and_returns_the_rest_with_reasons(
    gql: Gql, worker: Worker, db: Services, tenants: Tenants, settle: Settle
) -> None:
    key = await upload(gql, csv_of(GOOD))
    id = await start(gql, key)
    await worker.drain()
    done = await job(gql, id)
    assert (done["status"], done["total"], done["processed"], done["failed"]) == (
        "SUCCEEDED", 5, 5, 3,
    )  # fmt: skip
    assert done["progress"] == 1.0
    assert done["resultUrl"] is None
    assert done["message"] == "2 created, 0 updated, 0 unchanged, 3 rejected"
    rejected = list(csv.DictReader(io.StringIO(await fetch(done["errorUrl"]))))
    assert [(r["row"], r["field"]) for r in rejected] == [
        ("3", "companyName"), ("4", "tier"), ("5", "contactInfo"),
    ]  # fmt: skip
    # The mutation's own message, word for word.
    direct = await gql(CREATE, {"input": {"companyName": " "}})
    assert rejected[0]["reason"] == direct["errors"][0]["message"]
    assert rejected[1]["reason"] == "tier: Value 'PLATINUM' does not exist in 'CustomerTier' enum."
    assert rejected[1]["industry"] == "Software"  # the row as given, to fix and send again
    assert rejected[2]["reason"] == "contactInfo is not valid JSON"
    stored = [e["node"] for e in data(await gql(CUSTOMERS))["customers"]["edges"]]
    by_name = {c["companyName"]: c for c in stored}
    assert set(by_name) == {"Acme Rockets", "Globex"}
    assert by_name["Acme Rockets"]["contactInfo"] == {"phone": "+1 555 0100"}
    assert by_name["Globex"]["tier"] == "STANDARD"
    assert by_name["Globex"]["owner"]["id"] == "u-admin"
    # Through the one write path: the change log has both (a device's delta sees them).
    assert await logged(db, settle, tenants.acme, Entity.CUSTOMER) == {c["id"] for c in stored}


async def test_a_dry_run_writes_nothing_and_reports_the_same(gql: Gql, worker: Worker) -> None:
    rows = [*GOOD, ["Hooli", "Tech", "FREE", ""]]
    contacts = csv_of([["customerId", "firstName", "lastName"], ["cus_nothere", "Ann", "Lee"]])
    dry = await start(gql, await upload(gql, csv_of(rows)), dry=True)
    dangling = await start(gql, await upload(gql, contacts, "c.csv"), dry=True, entity="CONTACT")
    await worker.drain()
    done = await job(gql, dry)
    assert (done["status"], done["failed"]) == ("SUCCEEDED", 3)
    assert done["message"].startswith("dry run, nothing written: would be 3 created")
    assert data(await gql(CUSTOMERS))["customers"]["edges"] == []
    refused = await job(gql, dangling)
    rejected = list(csv.DictReader(io.StringIO(await fetch(refused["errorUrl"]))))
    assert [(r["field"], r["reason"]) for r in rejected] == [
        ("customerId", "customerId does not name an existing record")
    ]


async def test_an_export_imports_back_to_the_same_records(
    gql: Gql, worker: Worker, tenants: Tenants
) -> None:
    for name in ("Alpha", 'Beta, Gamma & "Sons"', "Delta"):
        info = {"site": name, "tags": ["a", "b"]}
        data(await gql(CREATE, {"input": {"companyName": name, "contactInfo": info}}))
    exported: dict[str, str] = {}
    for fmt in ("CSV", "JSON"):
        started = data(await gql(EXPORT, {"entity": "CUSTOMER", "format": fmt}))["startExport"]
        await worker.drain()
        done = await job(gql, started["id"])
        assert (done["status"], done["processed"]) == ("SUCCEEDED", 3)
        exported[fmt] = await fetch(done["resultUrl"])
    before = data(await gql(CUSTOMERS))["customers"]["edges"]
    # Into the same tenant: every row is what is stored, nothing is written.
    again = await start(gql, await upload(gql, exported["CSV"].encode()))
    # Into another tenant (as JSON lines): the same records, ids and all.
    other = {"tenant": tenants.globex}
    key = await upload(gql, exported["JSON"].encode(), "customers.jsonl", **other)
    moved = data(await gql(START, {"entity": "CUSTOMER", "key": key}, **other))["startImport"]
    await worker.drain()
    assert (await job(gql, again))["message"] == "0 created, 0 updated, 3 unchanged, 0 rejected"
    assert data(await gql(CUSTOMERS))["customers"]["edges"] == before
    assert data(await gql(JOB, {"id": moved["id"]}, **other))["job"]["failed"] == 0
    copied = data(await gql(CUSTOMERS, **other))["customers"]["edges"]
    assert copied == before


class Crash(BaseException):
    """A worker dying mid-job (not an error the worker would record)."""


async def test_a_crashed_import_resumes_from_its_checkpoint_and_writes_each_row_once(
    gql: Gql, worker: Worker, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["companyName"], *([f"Company {n}"] for n in range(7))]
    id = await start(gql, await upload(gql, csv_of(rows)))
    worker.tuning = type(worker.tuning)(lease_s=1, chunk_rows=3, concurrency=2, max_rows=100)
    real, seen = Run.checkpoint, []

    async def crashing(self: Run, made: Any) -> None:
        await real(self, made)
        seen.append(made.processed)
        if len(seen) == 1:
            raise Crash()  # after the first chunk's checkpoint, before the second chunk

    monkeypatch.setattr(Run, "checkpoint", crashing)
    with pytest.raises(Crash):
        await worker.drain()
    half = await job(gql, id)
    assert (half["status"], half["processed"]) == ("RUNNING", 3)
    # Redelivered before the lease ran out: another worker leaves it alone.
    message = Message(tenants.acme, id, "")
    assert await worker.handle(message) is False
    await _lease_runs_out()
    assert await worker.handle(message) is True
    done = await job(gql, id)
    assert (done["status"], done["processed"]) == ("SUCCEEDED", 7)
    assert seen == [3, 6, 7]  # the second run started at the checkpoint
    names = [e["node"]["companyName"] for e in data(await gql(CUSTOMERS))["customers"]["edges"]]
    assert sorted(names) == sorted(f"Company {n}" for n in range(7))
    assert await worker.handle(message) is True  # a late duplicate: finished, nothing done


async def _lease_runs_out() -> None:
    await asyncio.sleep(1.05)  # the lease was 1 s


async def test_cancel_stops_a_job_at_its_next_checkpoint(
    gql: Gql, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["companyName"], *([f"Firm {n}"] for n in range(6))]
    id = await start(gql, await upload(gql, csv_of(rows)))
    queued = await start(gql, await upload(gql, csv_of(rows)))
    assert data(await gql(CANCEL, {"id": queued}))["cancelJob"]["status"] == "CANCELLED"
    worker.tuning = type(worker.tuning)(chunk_rows=2)
    real = Run.checkpoint

    async def cancelling(self: Run, made: Any) -> None:
        data(await gql(CANCEL, {"id": self.job.id}))  # asked while it runs
        await real(self, made)

    monkeypatch.setattr(Run, "checkpoint", cancelling)
    await worker.drain()
    done = await job(gql, id)
    assert (done["status"], done["processed"]) == ("CANCELLED", 2)
    assert (await job(gql, queued))["processed"] == 0
    late = await gql(CANCEL, {"id": id})
    assert late["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_jobs_are_their_starters_and_exports_need_staff(gql: Gql, worker: Worker) -> None:
    mine = data(await gql(EXPORT, {"entity": "CONTACT"}, user="u-boss", role=Role.MANAGER))
    id = mine["startExport"]["id"]
    rep = {"user": "u-rep", "role": Role.SALES_REP}
    refused = await gql(EXPORT, {"entity": "CONTACT"}, **rep)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert data(await gql(JOB, {"id": id}, **rep))["job"] is None
    assert data(await gql(JOB, {"id": id}))["job"]["id"] == id  # ADMIN sees every job
    listed = data(await gql(JOBS, {"kind": "EXPORT"}, user="u-boss", role=Role.MANAGER))
    assert [e["node"]["id"] for e in listed["jobs"]["edges"]] == [id]
    assert data(await gql(JOBS, {"kind": "IMPORT"}))["jobs"]["edges"] == []
    bad = await gql(START, {"entity": "CUSTOMER", "key": "someone-else/imports/x/a.csv"})
    assert bad["errors"][0]["extensions"]["field"] == "key"
    await worker.drain()


REPORT = """
mutation($kind: ReportKind!, $format: FileFormat) {
  generateReport(kind: $kind, from: "2026-01-01", to: "2026-12-31", period: QUARTER,
                 format: $format) { id }
}"""
SALES = """
{ salesByPeriod(from: "2026-01-01", to: "2026-12-31", period: QUARTER)
  { period dealsWon revenue } }"""
DEAL = """
mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }"""


async def test_a_generated_report_has_the_figures_of_the_report_query(
    gql: Gql, worker: Worker, settle: Settle
) -> None:
    customer = data(await gql(CREATE, {"input": {"companyName": "Buyer"}}))["createCustomer"]
    for value in ("1200.50", "99.99"):
        deal = {"customerId": customer["id"], "title": "Deal", "value": value}
        data(await gql(DEAL, {"input": {**deal, "stage": "CLOSED_WON"}}))
    await settle()
    ids = {}
    for fmt in ("JSON", "CSV"):
        made = data(await gql(REPORT, {"kind": "SALES", "format": fmt}))["generateReport"]
        ids[fmt] = made["id"]
    await worker.drain()
    answer = data(await gql(SALES))["salesByPeriod"]
    as_json = json.loads(await fetch((await job(gql, ids["JSON"]))["resultUrl"]))
    assert as_json == answer
    assert sum(Decimal(b["revenue"]) for b in answer) == Decimal("1300.49")
    rows = list(csv.DictReader(io.StringIO(await fetch((await job(gql, ids["CSV"]))["resultUrl"]))))
    assert [{k: str(v) for k, v in b.items()} for b in answer] == rows
    bad = await gql(REPORT.replace("2026-12-31", "2025-01-01"), {"kind": "SALES"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


TEMPLATE = """
mutation { saveEmailTemplate(input: {name: "n", subject: "s", body: "b"}) { id } }"""
TEMPLATE_OF = "query($id: ID!) { emailTemplate(id: $id) { id } }"


async def test_another_tenant_reaches_no_job_file_or_template_of_ours(
    gql: Gql, tenants: Tenants, worker: Worker
) -> None:
    key = await upload(gql, csv_of(GOOD))
    id = await start(gql, key)
    template = data(await gql(TEMPLATE))["saveEmailTemplate"]["id"]
    them = {"tenant": tenants.globex}
    assert data(await gql(JOB, {"id": id}, **them))["job"] is None
    assert data(await gql(JOBS, {}, **them))["jobs"]["edges"] == []
    assert (await gql(CANCEL, {"id": id}, **them))["errors"][0]["extensions"]["code"] == (
        "NOT_FOUND"
    )
    taken = await gql(START, {"entity": "CUSTOMER", "key": key}, **them)
    assert taken["errors"][0]["extensions"]["field"] == "key"
    assert data(await gql(TEMPLATE_OF, {"id": template}, **them))["emailTemplate"] is None
    await worker.drain()
    assert (await job(gql, id))["status"] == "SUCCEEDED"  # ours ran, untouched


async def test_an_import_runs_with_the_role_of_the_token_that_started_it(
    gql: Gql, worker: Worker
) -> None:
    # First seen as a SALES_REP: the user record keeps that role; the identity
    # provider then promotes them, and the next token says MANAGER.
    assert "errors" not in await gql("{ me { id } }", user="u-promoted", role=Role.SALES_REP)
    assert "errors" not in await gql("{ me { id } }")  # u-admin, the owner to give
    promoted = {"user": "u-promoted", "role": Role.MANAGER}
    rows = csv_of([["companyName", "ownerId"], ["Assigned Ltd", "u-admin"]])  # owner.assign
    key = await upload(gql, rows, **promoted)
    started = await gql(START, {"entity": "CUSTOMER", "key": key}, **promoted)
    id = data(started)["startImport"]["id"]
    await worker.drain()
    done = await job(gql, id)
    reasons = await fetch(done["errorUrl"]) if done["errorUrl"] else ""
    assert (done["status"], done["failed"], done["processed"]) == ("SUCCEEDED", 0, 1), reasons
    names = [e["node"]["companyName"] for e in data(await gql(CUSTOMERS))["customers"]["edges"]]
    assert names == ["Assigned Ltd"]


FORMULAS = [
    '=HYPERLINK("http://evil.test","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "'quoted",
    "'=already quoted",
]


async def test_csv_exports_quote_cells_a_spreadsheet_would_run_and_import_back(
    gql: Gql, worker: Worker
) -> None:
    """OWASP's CSV Injection: a cell starting with = + - @ tab or CR gets a "'" in
    front (a cell starting with "'" too, so the import takes exactly one off); a
    plain number is a number, left as it is. (Text fields are stripped when written,
    so a tab or a CR can only start a cell of a record written before that.)"""
    assert [cells.defused(c) for c in ("\tx", "\rx", "-5.00", "+4930", "x=1")] == [
        "'\tx",
        "'\rx",
        "-5.00",
        "+4930",
        "x=1",
    ]
    for name in FORMULAS:
        data(await gql(CREATE, {"input": {"companyName": name, "industry": "-5.00"}}))
    started = data(await gql(EXPORT, {"entity": "CUSTOMER", "format": "CSV"}))["startExport"]
    await worker.drain()
    found = list(
        csv.DictReader(
            io.StringIO(await fetch((await job(gql, started["id"]))["resultUrl"]), newline="")
        )
    )
    assert sorted(r["companyName"] for r in found) == sorted("'" + name for name in FORMULAS)
    assert {r["industry"] for r in found} == {"-5.00"}
    before = data(await gql(CUSTOMERS))["customers"]["edges"]
    exported = csv_of([list(found[0])] + [list(r.values()) for r in found])
    again = await start(gql, await upload(gql, exported))
    await worker.drain()
    assert (await job(gql, again))["message"] == "0 created, 0 updated, 6 unchanged, 0 rejected"
    assert data(await gql(CUSTOMERS))["customers"]["edges"] == before


async def _imported(gql: Gql, worker: Worker, body: bytes, name: str) -> dict[str, Any]:
    id = await start(gql, await upload(gql, body, name))
    await worker.drain()
    return await job(gql, id)


async def test_a_row_too_big_or_too_deep_to_read_is_rejected_and_the_import_goes_on(
    gql: Gql, worker: Worker
) -> None:
    """A cell past the csv module's 131,072 characters (quoted, over two lines), a
    JSON cell or line nested past the bound: each failed the whole import with
    "internal error"."""
    huge = "x" * 70_000 + "\n" + "x" * 70_000
    deep_cell = "[" * 5000 + "]" * 5000
    body = csv_of(
        [["companyName", "contactInfo"], ["A", ""], [huge, ""], ["B", deep_cell], ["C", ""]]
    )
    done = await _imported(gql, worker, body, "customers.csv")
    assert (done["status"], done["message"]) == (
        "SUCCEEDED", "2 created, 0 updated, 0 unchanged, 2 rejected",
    )  # fmt: skip
    rejected = list(csv.DictReader(io.StringIO(await fetch(done["errorUrl"]))))
    assert [(r["row"], r["field"]) for r in rejected] == [("2", ""), ("3", "contactInfo")]
    assert "field larger than field limit" in rejected[0]["reason"]
    assert rejected[1]["reason"] == "contactInfo nests deeper than 32 levels"
    deep_line = '{"companyName": "E", "contactInfo": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = "\n".join(['{"companyName": "D"}', deep_line, '{"companyName": "F"}'])
    done = await _imported(gql, worker, lines.encode(), "customers.jsonl")
    assert done["message"] == "2 created, 0 updated, 0 unchanged, 1 rejected"
    rejected = list(csv.DictReader(io.StringIO(await fetch(done["errorUrl"]))))
    assert [(r["row"], r["reason"]) for r in rejected] == [
        ("2", "the line nests deeper than 33 levels")
    ]
    stored = data(await gql(CUSTOMERS))["customers"]["edges"]
    assert sorted(e["node"]["companyName"] for e in stored) == ["A", "C", "D", "F"]
