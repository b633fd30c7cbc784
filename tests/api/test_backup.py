"""A tenant backed up, then restored as another tenant under another isolation
model, answers every access pattern as the original does; a file comes along."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from dal.loading.seed import bulk_seed_demo
from dal.tenancy.scope import Model
from jobs.backup import BackupError, backup, restore
from services import Services
from tests.conftest import Gql, Settle, Tenants, fresh_tenant

PATTERNS = [
    "{ customers(first: 100) { edges { node { id companyName tier industry version "
    "  owner { id } contacts { edges { node { id email } } } documents { id name size } } } } }",
    "{ opportunities(first: 100, filter: {stage: PROPOSAL}) { edges { node { id value } } } }",
    "{ activities(first: 100, filter: {overdue: true}) { edges { node { id subject } } } }",
    "{ pipeline { stages { stage count totalValue weightedValue } totalValue } }",
    '{ salesByPeriod(from: "2024-01-01", to: "2027-12-31", period: QUARTER) '
    "  { period dealsWon revenue } }",
    '{ customerAcquisition(from: "2024-01-01", to: "2027-12-31", period: YEAR) '
    "  { period newCustomers } }",
    '{ forecast(from: "2024-01-01", to: "2027-12-31", period: YEAR) { period totalValue } }',
    '{ leadConversion(from: "2024-01-01", to: "2027-12-31") { leads won lost rate } }',
    "{ users { edges { node { id username role } } } }",
]
UPLOAD = """
mutation($c: ID!) {
  requestDocumentUpload(customerId: $c, fileName: "plan.txt", contentType: "text/plain",
                        size: 5) { key url fields }
}"""
CONFIRM = "mutation($c: ID!, $k: String!) { confirmDocumentUpload(customerId: $c, key: $k) { id } }"
FILES = "query($c: ID!) { customer(id: $c) { documents { name url } } }"


async def _answers(gql: Gql, tenant: str) -> list[Any]:
    out = []
    for document in PATTERNS:
        body = await gql(document, tenant=tenant)
        assert "errors" not in body, body
        out.append(body["data"])
    return out


async def _upload(gql: Gql, customer: str) -> None:
    t = (await gql(UPLOAD, {"c": customer}))["data"]["requestDocumentUpload"]
    async with httpx.AsyncClient() as http:
        sent = await http.post(t["url"], data=t["fields"], files={"file": ("f", b"hello")})
    assert sent.status_code in (200, 204)
    assert "errors" not in await gql(CONFIRM, {"c": customer, "k": t["key"]})


async def test_a_restored_backup_answers_every_pattern_as_the_original(
    settle: Settle, gql: Gql, db: Services, tenants: Tenants
) -> None:
    source = db.store.for_tenant(tenants.acme)
    await bulk_seed_demo(source, customers=6)
    got = await gql(PATTERNS[0])
    assert "errors" not in got, got
    first = got["data"]["customers"]["edges"][0]["node"]["id"]
    await _upload(gql, first)
    files = db.store.job_files
    assert files is not None
    key, made = await backup(source, files, settle)
    assert made.files["CUSTOMER"]["count"] == 6
    assert made.files["DOCUMENT"]["count"] == 1
    manifest = json.loads(await files.blobs.get(files.bucket("backups"), key))
    assert manifest["tenant"] == tenants.acme
    target = fresh_tenant("restored")
    await db.store.tenants.create(target, Model.POOL)
    repos = await db.store.open(target)
    await restore(repos, files, key)
    await settle()  # both tenants' reports count what was written
    assert await _answers(gql, target) == await _answers(gql, tenants.acme)
    copied = (await gql(FILES, {"c": first}, tenant=target))["data"]["customer"]["documents"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(copied[0]["url"])).content == b"hello"
    with pytest.raises(BackupError, match="empty tenant"):
        await restore(repos, files, key)  # a second restore would double nothing: refused
