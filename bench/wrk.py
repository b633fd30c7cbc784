"""wrk, driven from Python: one run, its latency percentiles and every status counted.

Every run uses the same Lua script (so each scenario pays wrk the same cost): it
sets the request's headers, counts the responses by status in each thread, and
prints one machine-readable line from ``done``. Nothing is inferred: a figure
is what wrk counted.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MISSING = "wrk is needed: apt-get install wrk (or brew install wrk)"
SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n200, n304, nother = 0, 0, 0 end
function response(status, headers, body)
  if status == 200 then n200 = n200 + 1
  elseif status == 304 then n304 = n304 + 1
  else nother = nother + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a, b, c = a + t:get("n200"), b + t:get("n304"), c + t:get("nother")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f s200=%.0f s304=%.0f "
    .. "sother=%.0f connect=%.0f read=%.0f write=%.0f timeout=%.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    a, b, c, e.connect, e.read, e.write, e.timeout))
end
"""
LINE = re.compile(r"^BENCH (.*)$", re.MULTILINE)


class WrkMissing(RuntimeError):
    """wrk is not on PATH."""


class WrkFailed(RuntimeError):
    """wrk ran but did not print its summary line."""


@dataclass(frozen=True, slots=True)
class Load:
    threads: int = 1
    connections: int = 32
    seconds: float = 8.0
    warmup: float = 2.0


@dataclass(frozen=True, slots=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]  # "200", "304", "other"
    socket_errors: int
    command: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def only(self, status: int) -> bool:
        """Every response counted had ``status``, and every request was counted."""
        counted = sum(self.statuses.values())
        return self.statuses.get(str(status), 0) == self.requests == counted > 0


def require() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(MISSING)
    return found


def _lua(headers: dict[str, str]) -> str:
    # JSON string literals are valid Lua string literals for the ASCII we send.
    sets = "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items())
    return sets + SCRIPT


def command(url: str, script: Path, load: Load, seconds: float) -> list[str]:
    return [require(), "-t", str(load.threads), "-c", str(load.connections),
            "-d", f"{seconds:g}s", "--latency", "-s", str(script), url]  # fmt: skip


def run(url: str, headers: dict[str, str], load: Load, seconds: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(_lua(headers))
        argv = command(url, script, load, seconds)
        out = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    shown = shlex.join([*argv[:-2], "bench.lua", argv[-1]]) + f"  # sets {', '.join(headers)}"
    found = LINE.search(out.stdout)
    if out.returncode != 0 or found is None:
        raise WrkFailed(f"{shown}: exit {out.returncode}: {out.stderr.strip() or out.stdout}")
    return _parse(found.group(1), shown)


def _parse(line: str, shown: str) -> Result:
    v = {k: int(n) for k, n in (pair.split("=") for pair in line.split())}
    return Result(
        requests=v["requests"],
        seconds=v["duration_us"] / 1e6,
        p50_ms=v["p50_us"] / 1e3,
        p99_ms=v["p99_us"] / 1e3,
        statuses={"200": v["s200"], "304": v["s304"], "other": v["sother"]},
        socket_errors=v["connect"] + v["read"] + v["write"] + v["timeout"],
        command=shown,
    )
