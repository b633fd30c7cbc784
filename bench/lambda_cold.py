"""The Lambda's cold start: import, first invocation, warm invocation, in fresh processes.

    python -m bench.lambda_cold [--runs 5]

Each run is a new Python process, as a new Lambda container is: it imports
``server`` (the handler module), then handles an HTTP API event (``{ me { id } }``)
twice, against DynamoDB Local and a moto S3 started here. The baseline is the
same interpreter starting and exiting (``python -c pass``) in the same run.
Figures are medians; the ratios are to the warm invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import auth
from bench.stack import DYNAMODB_LOCAL_DIR
from dal.dynamodb.provision import create_tables
from dal.models import Role
from dal.storage.buckets import BucketSettings, create_buckets
from embedded import EmbeddedAws
from services import open_services
from settings import Settings
from tests.dynamodb_local import DIR_ENV, DynamoDBLocal

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-lambda-secret-0123456789abcdefghijkl"
PREFIX = "cold-"
CHILD = """
import json, sys, time
started = time.perf_counter()
import server
imported = time.perf_counter()
event = json.loads(sys.argv[1])
first = server.lambda_handler(event, None)
handled = time.perf_counter()
warm = server.lambda_handler(event, None)
done = time.perf_counter()
print(json.dumps({"import": imported - started, "first": handled - imported,
                  "warm": done - handled, "status": [first["statusCode"], warm["statusCode"]]}))
"""


def _event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "tests/lambda_events/http_api_v2.json").read_text())
    bearer = auth.mint(SECRET, tenant="cold", user="u-cold", role=Role.ADMIN)
    event["headers"]["authorization"] = f"Bearer {bearer}"
    event["body"] = json.dumps({"query": "{ me { id } }"})
    return event


def _environment(dynamodb: str, s3: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("ZEBROS_")}
    return keep | {
        "ZEBROS_AWS__DYNAMODB_ENDPOINT_URL": dynamodb,
        "ZEBROS_AWS__S3_ENDPOINT_URL": s3,
        "ZEBROS_AWS__ACCESS_KEY_ID": "cold",
        "ZEBROS_AWS__SECRET_ACCESS_KEY": "cold",
        "ZEBROS_DYNAMO__TABLE_PREFIX": PREFIX,
        "ZEBROS_S3__BUCKET_PREFIX": PREFIX,
        "ZEBROS_AUTH__JWT_SECRET": SECRET,
        "ZEBROS_REDIS__URL": os.environ.get("ZEBROS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "ZEBROS_LOG_LEVEL": "WARNING",
    }


async def _provision(env: dict[str, str]) -> None:
    settings = Settings(
        aws={
            "dynamodb_endpoint_url": env["ZEBROS_AWS__DYNAMODB_ENDPOINT_URL"],
            "s3_endpoint_url": env["ZEBROS_AWS__S3_ENDPOINT_URL"],
            "access_key_id": "cold",
            "secret_access_key": "cold",
        },
        dynamo={"table_prefix": PREFIX},
    )
    async with open_services(settings) as services:
        await create_tables(services.dynamo_client, PREFIX)
        await create_buckets(services.s3_client, BucketSettings(PREFIX))


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def main(runs: int) -> None:
    os.environ.setdefault(DIR_ENV, str(DYNAMODB_LOCAL_DIR))
    dynamodb, s3 = DynamoDBLocal(), EmbeddedAws()
    try:
        env = _environment(dynamodb.start(), s3.start())
        asyncio.run(_provision(env))
        event = json.dumps(_event())
        bare = [_run([sys.executable, "-c", "pass"], env)[0] for _ in range(runs)]
        cold = [json.loads(_run([sys.executable, "-c", CHILD, event], env)[1]) for _ in range(runs)]
    finally:
        s3.stop()
        dynamodb.stop()
    _report(runs, bare, cold)


def _report(runs: int, bare: list[float], cold: list[dict[str, Any]]) -> None:
    assert all(c["status"] == [200, 200] for c in cold), cold
    ms = {k: statistics.median(c[k] for c in cold) * 1000 for k in ("import", "first", "warm")}
    base = statistics.median(bare) * 1000
    print(f"Lambda cold start, {runs} fresh processes (median ms; DynamoDB Local, moto S3)")
    print(f"  interpreter start and exit (baseline)  {base:8.1f}")
    print(f"  import server                          {ms['import']:8.1f}")
    print(f"  first invocation (clients opened)      {ms['first']:8.1f}")
    print(f"  warm invocation                        {ms['warm']:8.1f}")
    cold_total = ms["import"] + ms["first"]
    print(
        f"  cold start (import + first) = {cold_total:.0f} ms = {cold_total / ms['warm']:.0f}x warm"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
