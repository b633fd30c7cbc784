"""Requests per second over HTTP, one uvicorn worker, wrk on loopback, all in one run.

    python -m bench.http [--seconds 8] [--warmup 2] [--connections 32] [--json PATH]

(a) a plain Starlette route answering the bytes of (b): the ceiling; (b)
``customer(id)`` warm in the cache; (c) the same, cache off (a second server,
``ZEBROS_CACHE__ENABLED=false``); (d) a 304 poll of ``dashboard``; (e) ``dashboard``
warm; (f) ``customers(first: 100)`` in process against graphql-core (``bench/engine.py``).
Each scenario: wrk warm-up, then a timed run with every status counted (``bench/wrk.py``);
server CPU per request from /proc. Targets: (b) >= 0.35 x (a), (d) >= 0.6 x (a),
(f) <= 1.3 x the floor. A scenario whose preconditions fail says why, and the run
exits 1; a missed target is reported as MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx

from bench import engine, wrk
from bench.apps import BODY_ENV, TYPE_ENV
from bench.http_report import Row, engine_rows, render, write_json
from bench.http_stack import Seeded, seeded_stack
from bench.servers import Uvicorn, loop_options, redis_cpu_seconds
from tests.dynamodb_local import Unavailable

CUSTOMER = "query($id: ID!){ customer(id:$id){ id companyName industry tier version } }"
DASHBOARD = ("{ dashboard { asOf overdueActivities pipeline { totalValue weightedValue "
             "stages { stage count totalValue } } } }")  # fmt: skip
REDIS_URL = "redis://127.0.0.1:6379/14"
API, PLAIN = "bench.apps:zebros", "bench.apps:plain"


class Precondition(RuntimeError):
    """A scenario cannot be measured as described; the message says why."""


def graphql_path(query: str, variables: dict[str, str] | None = None) -> str:
    params = {"query": query} | ({"variables": json.dumps(variables)} if variables else {})
    return "/graphql?" + urlencode(params)


def fetch(url: str, headers: dict[str, str], expect: int = 200) -> httpx.Response:
    answer = httpx.get(url, headers=headers, timeout=30)
    if answer.status_code != expect:
        raise Precondition(f"GET answered {answer.status_code}, not {expect}: {answer.text[:300]}")
    if expect == 200 and b'"errors"' in answer.content:
        raise Precondition(f"GraphQL errors: {answer.text[:300]}")
    return answer


def measured(
    key: str, label: str, server: Uvicorn, url: str, headers: dict[str, str],
    load: wrk.Load, expect: int = 200,
) -> Row:  # fmt: skip
    wrk.run(url, headers, load, load.warmup)
    redis_url = server.env.get("ZEBROS_REDIS__URL")
    before, redis_before = server.cpu_seconds(), redis_cpu_seconds(redis_url)
    result = wrk.run(url, headers, load, load.seconds)
    cpu, redis_after = server.cpu_seconds() - before, redis_cpu_seconds(redis_url)
    row = Row(key, label, result, cpu / result.requests * 1e6 if result.requests else None)
    if redis_before is not None and redis_after is not None and result.requests:
        used = (redis_after - redis_before) / result.requests * 1e6
        row.notes.append(f"Redis server CPU {used:,.0f} µs/request (INFO cpu, whole server)")
    if not result.only(expect):
        counts = ", ".join(f"{k}: {n}" for k, n in result.statuses.items())
        row.fail(f"expected every response {expect}: {counts} of {result.requests} requests")
    if result.socket_errors:
        row.notes.append(f"{result.socket_errors} socket errors (connect/read/write/timeout)")
    return row


def attempt(key: str, label: str, job: Row | Precondition) -> Row:
    if isinstance(job, Row):
        return job
    row = Row(key, label, None, None)
    row.fail(str(job))
    return row


def max_age(answer: httpx.Response) -> int | None:
    found = re.search(r"max-age=(\d+)", answer.headers.get("cache-control", ""))
    return int(found.group(1)) if found else None


def aligned_etag(url: str, headers: dict[str, str], load: wrk.Load, row_notes: list[str]) -> str:
    """The dashboard's ETag, fetched where its max-age window has room for the whole run
    (a live field's ETag turns with the window: a poll then gets one 200, then 304s)."""
    first = fetch(url, headers)
    age, need = max_age(first), load.warmup + load.seconds + 2
    if age is not None and age > need:
        while time.time() % age > age - need:
            time.sleep(0.2)
        row_notes.append(f"run placed inside one {age} s max-age window")
    elif age is not None:
        row_notes.append(f"max-age {age} s is shorter than the run: the ETag may turn")
    etag = fetch(url, headers).headers.get("etag")
    if not etag:
        raise Precondition("no ETag returned for dashboard (GET with the cache on)")
    fetch(url, headers | {"If-None-Match": etag}, expect=304)
    return str(etag)


Answer = httpx.Response | Precondition  # (b)'s first answer, or why there was none
Job = Callable[[Answer], Row]


class Run:
    """The HTTP scenarios against the servers of one seeded stack."""

    def __init__(self, seeded: Seeded, load: wrk.Load, folder: Path) -> None:
        self.seeded, self.load, self.folder = seeded, load, folder
        self.auth = {"Authorization": f"Bearer {seeded.token}"}
        self.api = Uvicorn(API, seeded.env).start()
        self.off = Uvicorn(API, seeded.env | {"ZEBROS_CACHE__ENABLED": "false"}).start()
        self.started = [self.api, self.off]
        self.customer = graphql_path(CUSTOMER, {"id": seeded.customer})

    def rows(self) -> list[Row]:
        b_first: Answer
        try:
            b_first = fetch(self.api.base + self.customer, self.auth)
        except Precondition as exc:
            b_first = exc
        return [
            attempt("a", "plain Starlette, same bytes", self._guard(self.plain, b_first)),
            attempt("b", "customer(id), cache warm", self._guard(self.warm_customer, b_first)),
            attempt("c", "customer(id), cache off", self._guard(self.cold_customer, b_first)),
            attempt("d", "dashboard, 304 poll", self._guard(self.poll, b_first)),
            attempt("e", "dashboard, warm", self._guard(self.dashboard, b_first)),
        ]

    @staticmethod
    def _guard(job: Job, b_first: Answer) -> Row | Precondition:
        try:
            return job(b_first)
        except Precondition as exc:
            return exc

    def plain(self, b_first: Answer) -> Row:
        if isinstance(b_first, Precondition):
            raise Precondition(f"needs (b)'s answer: {b_first}")
        body, kind = self.folder / "body", self.folder / "type"
        body.write_bytes(b_first.content)
        kind.write_text(b_first.headers["content-type"])
        plain = Uvicorn(PLAIN, {BODY_ENV: str(body), TYPE_ENV: str(kind)}, probe="/graphql")
        self.started.append(plain.start())
        url = plain.base + self.customer
        if fetch(url, self.auth).content != b_first.content:
            raise Precondition("the plain route's body differs from (b)'s")
        return measured("a", "plain Starlette, same bytes", plain, url, self.auth, self.load)

    def warm_customer(self, b_first: Answer) -> Row:
        if isinstance(b_first, Precondition):
            raise b_first
        url = self.api.base + self.customer
        fetch(url, self.auth)  # the second request: every cache layer filled by now
        row = measured("b", "customer(id), cache warm", self.api, url, self.auth, self.load)
        if "etag" not in b_first.headers:
            row.notes.append("no ETag on customer(id): the response cache did not answer it")
        return row

    def cold_customer(self, b_first: Answer) -> Row:
        url = self.off.base + self.customer
        off = fetch(url, self.auth)
        row = measured("c", "customer(id), cache off", self.off, url, self.auth, self.load)
        on_tagged = isinstance(b_first, httpx.Response) and "etag" in b_first.headers
        if on_tagged and "etag" in off.headers:
            row.notes.append("cache setting not honoured (ETag with ZEBROS_CACHE__ENABLED=false)")
        return row

    def poll(self, b_first: Answer) -> Row:
        url, notes = self.api.base + graphql_path(DASHBOARD), list[str]()
        etag = aligned_etag(url, self.auth, self.load, notes)
        headers = self.auth | {"If-None-Match": etag}
        row = measured("d", "dashboard, 304 poll", self.api, url, headers, self.load, expect=304)
        row.notes.extend(notes)
        return row

    def dashboard(self, b_first: Answer) -> Row:
        url = self.api.base + graphql_path(DASHBOARD)
        fetch(url, self.auth)
        return measured("e", "dashboard, warm", self.api, url, self.auth, self.load)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()


def http_rows(seeded: Seeded, load: wrk.Load) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        run = Run(seeded, load, Path(folder))
        try:
            return run.rows()
        finally:
            run.stop()


async def stack_rows(load: wrk.Load, redis_url: str) -> list[Row]:
    async with seeded_stack(redis_url) as seeded:
        return await asyncio.to_thread(http_rows, seeded, load)


def main() -> None:
    parser = argparse.ArgumentParser(description="Requests per second over HTTP (wrk).")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed run per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="wrk warm-up per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=300, help="(f): executions per round")
    parser.add_argument("--redis", default=REDIS_URL, help="the servers' Redis (default db 14)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    load = wrk.Load(1, args.connections, args.seconds, args.warmup)
    try:
        wrk.require()
        rows = asyncio.run(stack_rows(load, args.redis))
    except (wrk.WrkMissing, Unavailable) as exc:
        sys.exit(str(exc))
    found = engine.measure(args.iterations)
    rows += engine_rows(found)
    print(render(rows, load, loop_options()))
    print(f"\n(f) profile of ours, {found.iterations} executions:\n{found.profile}")
    if args.json is not None:
        write_json(args.json, rows, load, loop_options(), found)
    sys.exit(0 if all(row.valid for row in rows) else 1)


if __name__ == "__main__":
    main()
