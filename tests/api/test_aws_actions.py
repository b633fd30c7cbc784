"""The deployed role may do every AWS call the API and the job worker make.

Every call of the test session is collected (tests/aws_actions.py, a botocore hook
on every session of the process) as the IAM actions it needs. This test runs last
(conftest orders it so), makes a few calls of its own that must show up (an audited
read, a job, an upload ticket: the hook is proven live, it cannot pass on an empty
set), and then checks the whole session's actions against the role of the template
``zebros iac`` prints. Only the operator's commands' actions (deploy/iam.py
OPERATOR_ACTIONS) are left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from dal.models import Role
from deploy.iam import OPERATOR_ACTIONS
from jobs.worker import Worker
from services import Services
from tests import aws_actions
from tests.conftest import Gql, Tenants

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = 'mutation { createCustomer(input: {companyName: "Acme"}) { id } }'
CONTACT = """
mutation($c: ID!) { createContact(input: {customerId: $c, firstName: "Ann", lastName: "Lee",
  email: "ann@example.org"}) { id } }"""
READ = "query($c: ID!) { customer(id: $c) { contacts { edges { node { id email } } } } }"
EXPORT = "mutation { startExport(entity: CUSTOMER, format: CSV) { id } }"
JOB = "query($id: ID!) { job(id: $id) { status resultUrl } }"
UPLOAD = """
mutation { requestImportUpload(entity: CUSTOMER, fileName: "c.csv", size: 10) { url } }"""
# Calls this test's own requests make: each must be among the collected actions.
KNOWN = {
    "dynamodb:BatchWriteItem",  # the audit of reads
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "s3:PutObject",  # the export's file, the upload ticket
    "s3:GetObject",  # the export's presigned URL
}


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


def role_actions() -> set[str]:
    """Every action the function's role (API and worker) is granted, optional grants on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEBROS_")}
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "iac", "--format", "json"],
        env=env | {"PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    resources = json.loads(done.stdout)["Resources"].values()
    granted: set[str] = set()
    for role in (r for r in resources if r["Type"] == "AWS::IAM::Role"):
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                granted |= _allowed(statement)
    return granted


def _allowed(statement: dict[str, Any]) -> set[str]:
    if "Fn::If" in statement:  # [condition, when true, when false]
        statement = statement["Fn::If"][1]
    if statement.get("Effect") != "Allow":
        return set()
    given = statement["Action"]
    return set(given if isinstance(given, list) else [given])


async def _calls(gql: Gql, db: Services, worker: Worker, tenants: Tenants) -> None:
    await db.store.tenants.set_audit_reads(tenants.acme, True)
    customer = data(await gql(CUSTOMER))["createCustomer"]["id"]
    data(await gql(CONTACT, {"c": customer}))
    data(await gql(READ, {"c": customer}, user="u-rep", role=Role.SALES_REP))
    started = data(await gql(EXPORT))["startExport"]["id"]
    await worker.drain()
    assert data(await gql(JOB, {"id": started}))["job"]["status"] == "SUCCEEDED"
    data(await gql(UPLOAD))


async def test_the_role_grants_every_call_the_api_and_worker_made(
    gql: Gql, db: Services, worker: Worker, tenants: Tenants
) -> None:
    await _calls(gql, db, worker, tenants)
    assert aws_actions.unmapped == set(), "tests/aws_actions.py: S3 operations to map"
    assert set(aws_actions.collected) >= KNOWN, "the hook missed calls made just now"
    needed = set(aws_actions.collected) - OPERATOR_ACTIONS
    missing = {a: sorted(aws_actions.collected[a]) for a in needed - role_actions()}
    assert missing == {}, "actions the code calls but the role (zebros iac) lacks"
