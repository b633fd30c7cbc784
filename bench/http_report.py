"""The rows of ``bench/http.py``: ratios, targets, the printed table and the JSON file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import wrk
from bench.engine import EngineResult
from bench.write_cost import commit

# Scenario -> (bound, direction): (b), (d) in req/s against (a); (f) in µs against the floor.
TARGETS = {"b": (0.35, ">="), "d": (0.6, ">="), "f": (1.3, "<=")}
HEAD = (f"{'scenario':<46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11} "
        f"{'ratio':>7} {'target':>8}  verdict")  # fmt: skip


@dataclass
class Row:
    key: str
    label: str
    result: wrk.Result | None
    cpu_us: float | None
    notes: list[str] = field(default_factory=list)
    valid: bool = True
    rate: float | None = None  # in-process rows: executions per second
    ratio: float | None = None  # in-process rows: µs over the floor's

    def fail(self, why: str) -> None:
        self.valid = False
        self.notes.append(why)

    @property
    def per_second(self) -> float | None:
        return self.result.per_second if self.result is not None else self.rate


def engine_rows(found: EngineResult) -> list[Row]:
    ours = Row("f", "customers(first:100), ours, in process", None, found.ours_us,
               rate=1e6 / found.ours_us, ratio=found.ratio)  # fmt: skip
    ours.notes.append(
        "CPU column: µs per execution (wall time of one thread, in process); ratio over f0"
    )
    base = Row("f0", "graphql-core execute(), parsed once: floor", None, found.floor_us,
               rate=1e6 / found.floor_us, ratio=1.0)  # fmt: skip
    full = Row("f1", "graphql-core graphql(), parsed each time", None, found.graphql_us,
               rate=1e6 / found.graphql_us, ratio=found.graphql_us / found.floor_us)  # fmt: skip
    full.notes.append(f"ours over graphql(): {found.ours_us / found.graphql_us:.2f} (ours caches "
                      "parsing and validation, so f0 is the like-for-like floor)")  # fmt: skip
    return [ours, base, full]


def with_ratios(rows: list[Row]) -> list[Row]:
    ceiling = next((r for r in rows if r.key == "a" and r.valid and r.result), None)
    for row in rows:
        if row.result is not None and ceiling is not None and ceiling.result is not None:
            row.ratio = row.result.per_second / ceiling.result.per_second
    return rows


def verdict(row: Row) -> tuple[str, str]:
    """(target, verdict) of a row."""
    bound, direction = TARGETS.get(row.key, (None, ""))
    target = "" if bound is None else f"{direction} {bound:g}"
    if not row.valid:
        return target, "NOT RUN" if row.per_second is None else "INVALID"
    if bound is None or row.ratio is None:
        return target, "" if bound is None else "no ratio"
    met = row.ratio >= bound if direction == ">=" else row.ratio <= bound
    return target, "PASS" if met else "MISS"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def line(row: Row) -> str:
    r, (target, judged) = row.result, verdict(row)
    p50, p99 = (r.p50_ms, r.p99_ms) if r is not None else (None, None)
    key = f"({row.key})"
    return (f"{key:<4} {row.label:<41} {_num(row.per_second, 0):>9} {_num(p50, 2):>8} "
            f"{_num(p99, 2):>8} {_num(row.cpu_us, 0):>11} {_num(row.ratio, 2):>7} "
            f"{target:>8}  {judged}")  # fmt: skip


def header(load: wrk.Load, loop: list[str]) -> str:
    options = " ".join(loop) or "uvicorn's defaults (httptools/uvloop not importable)"
    return (f"cores: {os.cpu_count()}; server: one uvicorn worker, {options}, log level "
            f"warning; wrk: {load.threads} thread, {load.connections} connections, "
            f"{load.seconds:g} s after a {load.warmup:g} s warm-up, on loopback")  # fmt: skip


def render(rows: list[Row], load: wrk.Load, loop: list[str]) -> str:
    out = [header(load, loop), "", HEAD, "-" * len(HEAD)]
    out += [line(row) for row in with_ratios(rows)]
    out.append("ratio: req/s over (a)'s for a-e; µs per execution over f0's for f")
    out += [f"({row.key}) {note}" for row in rows for note in row.notes]
    out += ["", "wrk, timed runs (bench.lua: sets the headers named, counts every status):"]
    out += [f"({row.key}) {row.result.command}" for row in rows if row.result is not None]
    return "\n".join(out)


def _json_row(row: Row) -> dict[str, Any]:
    r, (target, judged) = row.result, verdict(row)
    wrk_part = {} if r is None else {
        "requests": r.requests, "seconds": r.seconds, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
        "statuses": r.statuses, "socket_errors": r.socket_errors, "command": r.command,
    }  # fmt: skip
    return {"scenario": row.key, "label": row.label, "per_second": row.per_second,
            "cpu_us": row.cpu_us, "ratio": row.ratio, "target": target, "verdict": judged,
            "notes": row.notes} | wrk_part  # fmt: skip


def write_json(
    path: Path, rows: list[Row], load: wrk.Load, loop: list[str], found: EngineResult
) -> None:
    meta = {"commit": commit(), "at": datetime.now(UTC).isoformat(), "cores": os.cpu_count(),
            "uvicorn": loop, "load": asdict(load)}  # fmt: skip
    engine = {"iterations": found.iterations, "ours_us": found.ours_us,
              "floor_us": found.floor_us, "graphql_us": found.graphql_us,
              "profile": found.profile}  # fmt: skip
    body = meta | {"rows": [_json_row(r) for r in with_ratios(rows)], "engine": engine}
    path.write_text(json.dumps(body, indent=2) + "\n")
