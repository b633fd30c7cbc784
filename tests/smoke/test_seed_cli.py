"""`zebros seed` against a moto server of its own, as the README runs it.

moto's `moto_server` handles requests in threads, and moto's TransactWriteItems
is not atomic across threads: a cancelled one puts back copies of whole tables,
undoing other requests' writes, so the seed's concurrent creates left a
change-log shard's head behind its entries ("write cancelled: ...
ConditionalCheckFailed", every time). `python -m embedded` serves embedded
mode's moto (one request at a time, item-wise rollback); `zebros seed --bulk`
loads an empty tenant without transactions, on any store.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from dal.loading.seed import DEMO_TENANT
from services import open_services
from tests.conftest import PREFIX, store_settings
from tests.e2e.serving import ROOT, ZEBROS, environment, free_port
from tests.processes import stop

CUSTOMERS = 20
MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))  # the venv's


@contextmanager
def moto(command: list[str]) -> Iterator[str]:
    """A moto server process on a free port, until it answers: its URL."""
    port = free_port()
    process = subprocess.Popen([*command, "-p", str(port)], cwd=ROOT, env=environment())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        stop(process)


def zebros(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = environment() | {
        "ZEBROS_AWS__ENDPOINT_URL": endpoint,
        "ZEBROS_AWS__ACCESS_KEY_ID": "x",
        "ZEBROS_AWS__SECRET_ACCESS_KEY": "x",
        "ZEBROS_DYNAMO__TABLE_PREFIX": PREFIX,
        "ZEBROS_S3__BUCKET_PREFIX": PREFIX,
    }
    command = [*ZEBROS, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


async def stored_customers(endpoint: str) -> int:
    async with open_services(store_settings(endpoint, endpoint)) as services:
        repo = services.store.for_tenant(DEMO_TENANT).customers
        listing = repo.listing("byTenant", repo.scope.key("all"))
        return len((await repo.page(listing, 100)).items)


async def test_zebros_seed_fills_the_demo_tenant_on_python_m_embedded() -> None:
    with moto([sys.executable, "-m", "embedded"]) as endpoint:
        assert zebros(endpoint, "init").returncode == 0
        for _ in range(2):  # the second run finds every record there
            seeded = zebros(endpoint, "seed", "--customers", str(CUSTOMERS))
            assert seeded.returncode == 0, seeded.stderr[-2000:]
        assert await stored_customers(endpoint) == CUSTOMERS
        refused = zebros(endpoint, "seed", "--bulk")
        assert refused.returncode == 1
        assert "--bulk loads only an empty tenant" in refused.stderr


async def test_zebros_seed_bulk_loads_an_empty_tenant_on_moto_server() -> None:
    with moto([MOTO_SERVER]) as endpoint:
        assert zebros(endpoint, "init").returncode == 0
        loaded = zebros(endpoint, "seed", "--bulk", "--customers", str(CUSTOMERS))
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        assert await stored_customers(endpoint) == CUSTOMERS
        again = zebros(endpoint, "seed", "--customers", str(CUSTOMERS))  # nothing missing
        assert again.returncode == 0, again.stderr[-2000:]
