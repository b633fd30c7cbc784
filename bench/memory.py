"""The job worker's peak memory exporting a small and a large tenant: constant, or not.

    python -m bench.memory [--sizes 20000 200000]
    python -m bench.memory --smoke        # 50 and 500 records: a few seconds

One process seeds, another runs the worker. DynamoDB Local (a Java process of its
own, on a free port), S3 and SQS on an in-process moto server, the Redis at
127.0.0.1:6379 db 14 (as ``bench.jobs``). For each size: a fresh tenant, that many
customers bulk-loaded (``dal.loading.bulk``, in chunks), ``startExport`` (CSV)
through the app; then a worker process of its own (``--worker``) drains the queue
and reports its RSS before the job (imports, clients, schema: what any worker
holds) and its peak RSS from there (``VmHWM``, reset before the job through
``/proc/self/clear_refs``: Linux only). The table shows both, the growth between
them, and the ratio of the largest size's figures to the smallest's; a worker whose
memory follows the tenant would show a ratio near the sizes' ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from bench.jobs import EXPORT, JOB, Client, fresh_tenant
from dal.dynamodb.provision import create_tables
from dal.loading import bulk
from dal.models import Customer, CustomerTier
from dal.storage.buckets import create_buckets
from dal.tenancy.scope import Model
from dal.timefmt import utcnow
from embedded import EmbeddedAws
from server import create_app
from services import bucket_settings, job_worker, open_services
from settings import Settings
from tests.dynamodb_local import DIR_ENV, URL_ENV, DynamoDBLocal

DYNAMODB_LOCAL_DIR = Path.home() / ".cache" / "zebros" / "dynamodb-local-10.3.0"
REDIS_URL = "redis://127.0.0.1:6379/14"
PREFIX = "bench-mem-"
SIZES = (20_000, 200_000)
SMOKE = (50, 500)
SEED_CHUNK = 10_000  # records bulk-loaded at a time (the seeding process's memory)
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    records: int
    file_bytes: int
    seconds: float
    before_kb: int
    peak_kb: int

    @property
    def growth_kb(self) -> int:
        return self.peak_kb - self.before_kb


@dataclass(frozen=True)
class Endpoints:
    dynamodb: str
    moto: str
    redis: str


@asynccontextmanager
async def endpoints(given: Endpoints | None) -> AsyncIterator[Endpoints]:
    """The servers given, or DynamoDB Local and moto of our own."""
    if given is not None:
        yield given
        return
    os.environ.setdefault(DIR_ENV, str(DYNAMODB_LOCAL_DIR))
    os.environ.pop(URL_ENV, None)  # never someone else's DynamoDB Local (the suite's)
    dynamodb, moto = DynamoDBLocal(), EmbeddedAws()
    try:
        yield Endpoints(dynamodb.start(), moto.start(), REDIS_URL)
    finally:
        if moto.endpoint_url:
            moto.stop()
        dynamodb.stop()


def settings_of(where: Endpoints) -> Settings:
    return Settings(
        env="dev",
        aws={
            "dynamodb_endpoint_url": where.dynamodb,
            "s3_endpoint_url": where.moto,
            "sqs_endpoint_url": where.moto,  # the moto server serves SQS too
            "access_key_id": "bench",
            "secret_access_key": SecretStr("bench"),
        },
        dynamo={"table_prefix": PREFIX},
        s3={"bucket_prefix": PREFIX},
        redis={"url": where.redis},
    )


def customers(start: int, count: int) -> list[Customer]:
    now = utcnow()
    tiers = list(CustomerTier)
    return [
        Customer(id=f"cus_m{n:07d}", created_at=now, updated_at=now,
                 company_name=f"Firm{n:07d}", industry="Software", tier=tiers[n % len(tiers)],
                 contact_info={"email": f"office{n}@firm.example", "phone": "+1 555 0100"})
        for n in range(start, start + count)
    ]  # fmt: skip


async def measure(where: Endpoints, size: int) -> Measured:
    settings = settings_of(where)
    async with open_services(settings) as services:
        await create_tables(services.dynamo_client, settings.dynamo.table_prefix)
        await create_buckets(services.s3_client, bucket_settings(settings))
        tenant = fresh_tenant(f"mem{size}")
        await services.store.tenants.create(tenant, Model.BRIDGE)
        repos = services.store.for_tenant(tenant)
        for start in range(0, size, SEED_CHUNK):
            await bulk.load(repos, customers(start, min(SEED_CHUNK, size - start)))
        transport = httpx.ASGITransport(app=create_app(settings, services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            client = Client(http, tenant)
            job_id = (await client.gql(EXPORT, {"entity": "CUSTOMER"}))["startExport"]["id"]
            started = time.perf_counter()
            used = run_worker(where)
            seconds = time.perf_counter() - started
            done = (await client.gql(JOB, {"id": job_id}))["job"]
        if done["status"] != "SUCCEEDED":
            raise RuntimeError(f"the export ended {done['status']}: {done['message']}")
        async with httpx.AsyncClient() as fetch:
            file = await fetch.get(done["resultUrl"])
        return Measured(int(done["processed"]), len(file.content), seconds, *used)


def run_worker(where: Endpoints) -> tuple[int, int]:
    """A worker process drains the queue; its RSS before the job and at its peak (KB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["--worker", where.dynamodb, where.moto, where.redis]
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return int(got["before_kb"]), int(got["peak_kb"])


async def worker(where: Endpoints) -> None:
    async with open_services(settings_of(where)) as services:
        jobs = job_worker(services)
        before = _reset_peak()
        await jobs.drain()
        peak = _status_kb("VmHWM")
    print(json.dumps({"before_kb": before, "peak_kb": peak}))


def _reset_peak() -> int:
    """The peak so far is start-up's (imports, the schema): start it again (Linux:
    "5" resets VmHWM), so the peak read after the job is the job's; the RSS now."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def table(results: Sequence[Measured]) -> str:
    mb = 1024
    lines = [
        f"{'records':>9} {'file MB':>9} {'export s':>9} {'RSS before MB':>14} "
        f"{'peak RSS MB':>12} {'growth MB':>10}"
    ]
    for m in results:
        lines.append(
            f"{m.records:>9} {m.file_bytes / mb / mb:>9.1f} {m.seconds:>9.1f} "
            f"{m.before_kb / mb:>14.1f} {m.peak_kb / mb:>12.1f} {m.growth_kb / mb:>10.1f}"
        )
    small, large = results[0], results[-1]
    lines.append(
        f"ratio {large.records}/{small.records} records: {large.records / small.records:.1f}x; "
        f"peak RSS {large.peak_kb / small.peak_kb:.2f}x; "
        f"growth {large.growth_kb / max(small.growth_kb, 1):.2f}x"
    )
    return "\n".join(lines)


async def main(sizes: Sequence[int], given: Endpoints | None = None) -> str:
    async with endpoints(given) as where:
        results = []
        for size in sizes:
            print(f"seeding {size} customers and exporting them ...", file=sys.stderr)
            results.append(await measure(where, size))
    shown = table(results)
    print("Peak RSS of the job worker exporting a tenant's customers (CSV)")
    print(shown)
    return shown


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--smoke", action="store_true", help="50 and 500 records")
    parser.add_argument("--worker", nargs=3, metavar=("DYNAMODB", "MOTO", "REDIS"))
    a = parser.parse_args()
    if a.worker:
        asyncio.run(worker(Endpoints(*a.worker)))
    else:
        asyncio.run(main(SMOKE if a.smoke else a.sizes))
