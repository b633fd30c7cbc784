"""One uvicorn worker per app, in a process of its own, and its CPU time from /proc."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

import redis

from tests.processes import stop as end_process

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def loop_options() -> list[str]:
    """httptools and uvloop when importable (uvicorn's fastest), else its defaults."""
    fast = all(importlib.util.find_spec(m) is not None for m in ("httptools", "uvloop"))
    return ["--http", "httptools", "--loop", "uvloop"] if fast else []


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


class Uvicorn:
    """``python -m uvicorn --factory <factory>`` with one worker, log level warning."""

    def __init__(self, factory: str, env: dict[str, str], probe: str = "/healthz") -> None:
        self.factory, self.env, self.probe = factory, env, probe
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "--factory", self.factory,
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                "--log-level", "warning", "--no-access-log", *loop_options()]  # fmt: skip

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.factory} is not running")
        return self._process.pid

    def start(self) -> Uvicorn:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        env = os.environ | self.env
        self._process = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.factory} exited at start:\n{self.output()[-3000:]}")
            if _up(self.base + self.probe):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.factory} did not answer within {START_SECONDS:.0f} s")

    def cpu_seconds(self) -> float:
        """utime + stime of the worker so far (fields 14 and 15 of /proc/<pid>/stat)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        end_process(self._process)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def redis_cpu_seconds(url: str | None) -> float | None:
    """The Redis server's own CPU so far (INFO cpu); None without one that answers."""
    if url is None:
        return None
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        cpu = client.info("cpu")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
