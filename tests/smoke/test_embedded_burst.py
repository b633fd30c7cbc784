"""A burst of writes against embedded mode (`zebros serve` with no endpoint, as
`make run` starts it): every write succeeds, and the process's memory stays put.

moto deep-copied every table a transaction names (to roll back a failed one):
one createCustomer cost 0.9 s on the seeded demo tables, a burst of 60 answered
503 to most (read timeouts behind the queue), and the copies grew the process
by gigabytes. `embedded.py` rolls back only the items a transaction names.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import ROOT, ZEBROS, demo_token, environment, free_port, wait_until_healthy

CREATE_CUSTOMER = """mutation($n: String!) {
  createCustomer(input: {companyName: $n, industry: "Retail"}) { id companyName } }"""
WRITES, AT_ONCE = 60, 30
# The growth a burst may cost: the records themselves are a few MB. The table
# copies cost about 650 MB for this burst (3.2 GB for 300 creates).
MAX_GROWTH_MB = 150


@pytest.fixture(scope="module")
def embedded_server() -> Iterator[tuple[str, int]]:
    """Its own `zebros serve` (embedded, demo data seeded): the base URL and its pid."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        process = subprocess.Popen(
            [*ZEBROS, "serve", "--port", str(port)],
            env=environment(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, process, Path(log.name))
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


def resident_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


async def create_customers(base: str, names: list[str]) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {demo_token()}"}
    gate = asyncio.Semaphore(AT_ONCE)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:

        async def create(name: str) -> httpx.Response:
            async with gate:
                body = {"query": CREATE_CUSTOMER, "variables": {"n": name}}
                return await http.post("/graphql", json=body)

        return await asyncio.gather(*(create(n) for n in names))


async def test_a_burst_of_writes_all_succeed_in_embedded_mode(
    embedded_server: tuple[str, int],
) -> None:
    base, pid = embedded_server
    await create_customers(base, ["Warm-up Works"])  # first-use costs (imports, schema)
    before = resident_mb(pid)
    answers = await create_customers(base, [f"Burst {n} Works" for n in range(WRITES)])
    failed = [(a.status_code, a.text[:300]) for a in answers if a.status_code != 200]
    assert failed == []
    assert all("errors" not in a.json() for a in answers), answers[0].text
    ids = {a.json()["data"]["createCustomer"]["id"] for a in answers}
    assert len(ids) == WRITES
    grown = resident_mb(pid) - before
    assert grown < MAX_GROWTH_MB, f"embedded mode grew by {grown} MB for {WRITES} writes"
