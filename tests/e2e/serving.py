"""`zebros serve` as a user starts it, for the e2e tests: a free port, the environment
without ZEBROS_ settings (embedded mode), the wait for /healthz, the demo token."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
ZEBROS = [sys.executable, "-m", "cli"]  # the console script, from the checkout
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


WARNING = re.compile(r"\b\w*Warning: .*")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEBROS_")}
    return env | {"ZEBROS_REDIS__URL": REDIS_URL, "PYTHONUNBUFFERED": "1"}


def served() -> Iterator[str]:
    """One `zebros serve` in embedded mode, stopped when the generator closes. Its
    output goes to a file (a pipe nobody reads would stall it once full)."""
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
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
        # Issue 21 #26: a start prints no Python warning (redis-py's Retry, setuptools, ...).
        warned = WARNING.findall(Path(log.name).read_text(errors="replace"))
        assert warned == [], f"zebros serve printed warnings: {warned}"


def wait_until_healthy(base: str, process: subprocess.Popen[str], log: Path | None = None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace") if log else ""
            pytest.fail(f"zebros serve exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"zebros serve did not answer on {base} within {STARTUP_SECONDS}s")


def demo_token() -> str:
    args = ["token", "--tenant", "demo", "--user", "demo-admin", "--role", "ADMIN"]
    done = subprocess.run(
        [*ZEBROS, *args],
        env=environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()
