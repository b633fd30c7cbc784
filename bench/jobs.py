"""What a CSV import and an export of customers cost, against createCustomer one at a time.

    python -m bench.jobs [--rows 10000] [--baseline 500]

One process: DynamoDB Local (a Java process of its own, on a free port), S3 and
SQS on an in-process moto server, the Redis at 127.0.0.1:6379 (db 14, so the
cache runs). Every figure is measured by this run:

- baseline: ``--baseline`` createCustomer mutations through the app, one per
  request, ``settings.jobs.concurrency`` senders at a time (the worker's own
  concurrency), in a tenant of its own, after an untimed warm-up (a cold JVM
  would flatter the import); measured again, in another fresh tenant, after the
  jobs, to show how far DynamoDB Local drifted as its tables grew;
- import: a ``--rows``-row CSV (companyName, industry, tier) through
  requestImportUpload, the presigned POST and startImport, run by the job
  worker in a fresh tenant; rows/s from startImport to the worker's end, the
  job's own startedAt..finishedAt, and the ratio to the baseline;
- export: those customers to CSV (startExport), rows/s and the file's size;
- re-import: that export imported back into the same tenant, every row unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

import auth
from dal.dynamodb.provision import create_tables
from dal.models import CustomerTier, Role
from dal.storage.buckets import create_buckets
from embedded import EmbeddedAws
from jobs.worker import Worker
from server import create_app
from services import Services, bucket_settings, job_worker, open_services
from settings import DEV_JWT_SECRET, Settings
from tests.dynamodb_local import DIR_ENV, URL_ENV, DynamoDBLocal

# Where `make dynamodb-local` puts the jar (the Makefile's DYNAMODB_LOCAL_DIR).
DYNAMODB_LOCAL_DIR = Path.home() / ".cache" / "zebros" / "dynamodb-local-10.3.0"
REDIS_URL = "redis://127.0.0.1:6379/14"  # the suite uses db 15
PREFIX = "bench-jobs-"
USER = "u-bench"
WARM_UP = 500  # untimed creates before the baseline (100 left it 1.5x slow)
POLL_S = 5.0  # between two reads of a running job's progress

CREATE = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
UPLOAD = """
mutation($entity: DataEntity!, $name: String!, $size: Int!) {
  requestImportUpload(entity: $entity, fileName: $name, size: $size) { key url fields }
}"""
START = """
mutation($entity: DataEntity!, $key: String!) {
  startImport(entity: $entity, key: $key) { id status }
}"""
EXPORT = """
mutation($entity: DataEntity!) { startExport(entity: $entity, format: CSV) { id status } }"""
JOB = """
query($id: ID!) {
  job(id: $id) { id status total processed failed message resultUrl errorUrl
                 startedAt finishedAt }
}"""

INDUSTRIES = ["Aerospace", "Software", "Pharma", "Retail", "Logistics", "Energy", "", "Banking"]
TIERS = [t.value for t in CustomerTier] + [""]  # an empty cell: the default tier
WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Cyberdyne"]
KINDS = ["Rockets", "Holdings", "Labs", "& Sons", "Systems", "Partners, Ltd", 'the "Best" Co']

_numbers = itertools.count(1)


def fresh_tenant(name: str) -> str:
    return f"bench-{name}-{os.getpid()}-{int(time.time())}-{next(_numbers)}"


def customer(n: int) -> dict[str, str]:
    """Row ``n``: varied names (some that CSV must quote), industries and tiers."""
    name = f"{WORDS[n % len(WORDS)]} {KINDS[(n // len(WORDS)) % len(KINDS)]} {n}"
    industry = INDUSTRIES[(n * 7) % len(INDUSTRIES)]
    return {"companyName": name, "industry": industry, "tier": TIERS[(n * 3) % len(TIERS)]}


def csv_of(count: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, ["companyName", "industry", "tier"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(customer(n) for n in range(count))
    return out.getvalue().encode()


def create_input(n: int) -> dict[str, str]:
    """The same values as the CSV's row ``n``, as createCustomer takes them."""
    return {k: v for k, v in customer(n).items() if v}


def data(body: dict[str, Any]) -> Any:
    if "errors" in body:
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


def settings_for(dynamodb: str, moto: str) -> Settings:
    return Settings(
        env="dev",
        aws={
            "dynamodb_endpoint_url": dynamodb,
            "s3_endpoint_url": moto,
            "sqs_endpoint_url": moto,  # the moto server serves SQS too
            "access_key_id": "bench",
            "secret_access_key": SecretStr("bench"),
        },
        dynamo={"table_prefix": PREFIX},
        s3={"bucket_prefix": PREFIX},
        redis={"url": REDIS_URL},
    )


@asynccontextmanager
async def stack() -> AsyncIterator[Services]:
    """DynamoDB Local of our own (a free port, whatever URL_ENV says), moto for S3
    and SQS, Redis db 14; the tables, buckets and the job queue made."""
    os.environ.setdefault(DIR_ENV, str(DYNAMODB_LOCAL_DIR))
    os.environ.pop(URL_ENV, None)  # never someone else's DynamoDB Local (the suite's)
    dynamodb, moto = DynamoDBLocal(), EmbeddedAws()
    url = dynamodb.start()
    try:
        settings = settings_for(url, moto.start())
        async with open_services(settings) as services:
            await services.redis.ping()  # fail now, not as a silently cold cache
            await create_tables(services.dynamo_client, PREFIX)
            await create_buckets(services.s3_client, bucket_settings(settings))
            yield services
    finally:
        if moto.endpoint_url:
            moto.stop()
        dynamodb.stop()


@dataclass
class Client:
    """The app over ASGI, as one tenant's admin."""

    http: httpx.AsyncClient
    tenant: str

    async def gql(self, document: str, variables: dict[str, Any]) -> Any:
        jwt = auth.mint(DEV_JWT_SECRET, tenant=self.tenant, user=USER, role=Role.ADMIN)
        body = {"query": document, "variables": variables}
        answer = await self.http.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {jwt}"}
        )
        return data(answer.json())


async def baseline(
    http: httpx.AsyncClient, count: int, concurrency: int, name: str = "baseline"
) -> float:
    """createCustomer per second: ``concurrency`` senders, each one request at a time."""
    client = Client(http, fresh_tenant(name))
    await client.gql(CREATE, {"input": create_input(count)})  # provisions the user; not timed
    todo = iter(range(count))

    async def sender() -> None:
        for n in todo:
            await client.gql(CREATE, {"input": create_input(n)})

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Ran:
    job: dict[str, Any]
    wall_s: float  # from the start mutation to the worker's end
    job_s: float  # the job's own startedAt..finishedAt

    @property
    def rows(self) -> int:
        return int(self.job["processed"])


async def run_job(client: Client, worker: Worker, document: str, variables: dict[str, Any]) -> Ran:
    """Start a job, let the worker run it while its progress is read, and wait for its end."""
    label = document.split("{")[1].split("(")[0].strip()
    started = time.perf_counter()
    job_id = (await client.gql(document, variables)).popitem()[1]["id"]
    drained = asyncio.create_task(worker.drain())
    while not drained.done():
        await asyncio.wait({drained}, timeout=POLL_S)
        if not drained.done():
            seen = (await client.gql(JOB, {"id": job_id}))["job"]
            took = time.perf_counter() - started
            print(f"  {label}: {seen['processed']}/{seen['total']} after {took:.0f} s",
                  file=sys.stderr)  # fmt: skip
    await drained
    wall = time.perf_counter() - started
    done: dict[str, Any] = (await client.gql(JOB, {"id": job_id}))["job"]
    if done["status"] != "SUCCEEDED":
        raise RuntimeError(f"{label} ended {done['status']}: {done['message']}")
    own = _at(done["finishedAt"]) - _at(done["startedAt"])
    return Ran(done, wall, own.total_seconds())


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def upload(client: Client, body: bytes) -> tuple[str, float]:
    """The file through requestImportUpload and its presigned POST; its key, seconds taken."""
    started = time.perf_counter()
    variables = {"entity": "CUSTOMER", "name": "customers.csv", "size": len(body)}
    ticket = (await client.gql(UPLOAD, variables))["requestImportUpload"]
    async with httpx.AsyncClient() as http:  # the browser's form POST, straight to S3
        sent = await http.post(
            ticket["url"], data=ticket["fields"], files={"file": ("customers.csv", body)}
        )
    if sent.status_code not in (200, 204):
        raise RuntimeError(f"the presigned POST answered {sent.status_code}: {sent.text}")
    return str(ticket["key"]), time.perf_counter() - started


async def fetch(url: str) -> bytes:
    async with httpx.AsyncClient() as http:
        got = await http.get(url)
    got.raise_for_status()
    return got.content


def line(what: str, rows: int, ran: Ran, extra: str = "") -> str:
    rate, own = rows / ran.wall_s, rows / ran.job_s if ran.job_s else float("nan")
    return (
        f"{what:<10} {rows:>7} {rate:>9.1f} {ran.wall_s:>9.1f} {own:>9.1f} {ran.job_s:>8.1f}"
        f"  {extra}"
    )


async def main(rows: int, count: int) -> None:
    async with stack() as services:
        settings = services.settings
        concurrency, chunk = settings.jobs.concurrency, settings.jobs.chunk_rows
        worker = job_worker(services)
        app = create_app(settings, services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            print(f"baseline: {count} createCustomer, {concurrency} at a time ...", file=sys.stderr)
            await baseline(http, WARM_UP, concurrency, "warm-up")  # untimed: JIT, connections
            base = await baseline(http, count, concurrency)

            client = Client(http, fresh_tenant("import"))
            body = csv_of(rows)
            key, upload_s = await upload(client, body)
            print(f"import: {rows} rows, {len(body)} bytes uploaded ...", file=sys.stderr)
            imported = await run_job(client, worker, START, {"entity": "CUSTOMER", "key": key})

            exported = await run_job(client, worker, EXPORT, {"entity": "CUSTOMER"})
            file = await fetch(exported.job["resultUrl"])
            lines = file.count(b"\n")
            header = file.split(b"\n", 1)[0].decode()

            again_key, _ = await upload(client, file)
            again = await run_job(client, worker, START, {"entity": "CUSTOMER", "key": again_key})
            print(f"baseline again: {count} createCustomer ...", file=sys.stderr)
            after = await baseline(http, count, concurrency)

    ratio = (imported.rows / imported.wall_s) / base
    print(f"DynamoDB Local; worker chunk_rows={chunk}, concurrency={concurrency}")
    print(f"{'phase':<10} {'rows':>7} {'rows/s':>9} {'wall s':>9} {'job r/s':>9} {'job s':>8}")
    print(f"{'baseline':<10} {count:>7} {base:>9.1f} {count / base:>9.1f}"
          f"  (createCustomer, one per request, {concurrency} at a time)")  # fmt: skip
    print(f"{'baseline 2':<10} {count:>7} {after:>9.1f} {count / after:>9.1f}"
          f"  (the same, after the jobs: {after / base:.2f}x the first)")  # fmt: skip
    second = (imported.rows / imported.wall_s) / after
    print(line("import", imported.rows, imported,
               f"{ratio:.2f}x the baseline, {second:.2f}x baseline 2"))  # fmt: skip
    print(line("export", exported.rows, exported,
               f"{len(file):,} bytes, {lines - 1} data lines"))  # fmt: skip
    again_ratio = (again.rows / again.wall_s) / base
    print(line("re-import", again.rows, again, f"{again_ratio:.2f}x the baseline"))
    print(f"upload of the {len(body):,}-byte CSV (requestImportUpload + POST): {upload_s:.2f} s")
    print(f"export columns: {header}")
    print(f"import message:    {imported.job['message']}")
    print(f"re-import message: {again.job['message']}")
    print(f"export message:    {exported.job['message']}")
    print("wall: start mutation to the worker's end; job: the job's startedAt..finishedAt")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=500)
    a = parser.parse_args()
    asyncio.run(main(a.rows, a.baseline))
