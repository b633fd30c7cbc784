"""``zebros init`` as an operator runs it, against the suite's stores: what it says.

A process of its own (its log lines on stderr, as a terminal shows them): the first
run creates everything and says so, the second finds everything and says so, and
neither prints a warning (redis-py's, for one, once printed on every command).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from dal.dynamodb.tables import TENANT_TABLES
from dal.storage.buckets import PURPOSES
from tests.conftest import REDIS_URL, fresh_tenant

ROOT = Path(__file__).resolve().parents[2]
ZEBROS = [sys.executable, "-c", "from cli import main; main()"]
TABLES = len(TENANT_TABLES) + 1  # and the tenants registry


def init(dynamodb: str, s3: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEBROS_")}
    env.pop("PYTHONWARNINGS", None)
    env |= {
        "PYTHONPATH": str(ROOT),
        "ZEBROS_AWS__DYNAMODB_ENDPOINT_URL": dynamodb,
        "ZEBROS_AWS__S3_ENDPOINT_URL": s3,
        "ZEBROS_AWS__SQS_ENDPOINT_URL": s3,
        "ZEBROS_AWS__ACCESS_KEY_ID": "test",
        "ZEBROS_AWS__SECRET_ACCESS_KEY": "test",
        "ZEBROS_DYNAMO__TABLE_PREFIX": prefix,
        "ZEBROS_S3__BUCKET_PREFIX": prefix,
        "ZEBROS_REDIS__URL": REDIS_URL,
    }
    return subprocess.run(
        [*ZEBROS, "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def said(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if " init: " in line]
    return line.split(" init: ", 1)[1]


def test_init_says_what_it_created_and_what_it_found(
    dynamodb_endpoint: str, moto_endpoint: str
) -> None:
    prefix = fresh_tenant("init").lower() + "-"
    first = init(dynamodb_endpoint, moto_endpoint, prefix)
    buckets = len(PURPOSES)
    assert said(first) == f"tables {TABLES} created, 0 found; buckets {buckets} created, 0 found"
    again = said(init(dynamodb_endpoint, moto_endpoint, prefix))
    assert again == f"tables 0 created, {TABLES} found; buckets 0 created, {buckets} found"
    # Which Redis the process uses, never its URL (a password may be in it).
    url = urlsplit(REDIS_URL)
    where = f"{url.hostname}:{url.port or 6379}/{url.path.strip('/') or 0}"
    assert f"cache: Redis at {where}" in first.stderr
