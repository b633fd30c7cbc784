"""SIGTERM under load: `zebros serve` finishes the requests in flight, refuses new
connections, and exits within its graceful-shutdown timeout.

"In flight" is made certain, not timed: each of 20 connections sends its
request's headers and half its body, so the server has begun every request
when the signal arrives; the other halves follow the signal. One more
connection never finishes its body: the server waits for it for the grace
period (4 s here), no longer, and cuts it. The run's JSON logs are read back
too: a GET's variables (a personal value) must not be in them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import ROOT, ZEBROS, demo_token, environment, free_port, wait_until_healthy

IN_FLIGHT = 20
GRACE_SECONDS = 4
SECRET_EMAIL = "zelda.shutdown@example.org"
SEARCH = "query Find($p: String) { customers(filter: {namePrefix: $p}) { edges { node { id } } } }"
QUERY = json.dumps({"query": "{ me { id } customers(first: 20) { edges { node { id } } } }"})


def _begin(port: int, bearer: str) -> tuple[socket.socket, bytes]:
    """A connection with the request's headers and half its body sent; the rest to send."""
    body = QUERY.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: {bearer}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    conn = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn.sendall(head + body[: len(body) // 2])
    return conn, body[len(body) // 2 :]


def _answer(conn: socket.socket) -> str:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    conn.close()
    return b"".join(chunks).decode(errors="replace")


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def _search(port: int, bearer: str) -> None:
    """A GET poll whose variables hold a personal value (a name prefix, an e-mail)."""
    params = {"query": SEARCH, "variables": json.dumps({"p": SECRET_EMAIL})}
    got = httpx.get(
        f"http://127.0.0.1:{port}/graphql", params=params, headers={"Authorization": bearer}
    )
    assert got.status_code == 200, got.text


@pytest.mark.e2e
def test_sigterm_finishes_the_requests_in_flight(tmp_path: Path) -> None:
    port, logged = free_port(), tmp_path / "server.log"
    env = environment() | {
        "ZEBROS_SERVER__GRACEFUL_SHUTDOWN_SECONDS": str(GRACE_SECONDS),
        "ZEBROS_LOG_FORMAT": "json",
    }
    with logged.open("w") as log:
        process = subprocess.Popen(
            [*ZEBROS, "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, logged)
        bearer = f"Bearer {demo_token()}"
        _search(port, bearer)
        begun = [_begin(port, bearer) for _ in range(IN_FLIGHT)]
        stalled, _ = _begin(port, bearer)  # its second half never comes
        time.sleep(0.5)  # every request's headers read: each is a request in progress
        signalled = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert _refused(port), "a new connection was accepted after SIGTERM"
        for conn, rest in begun:
            conn.sendall(rest)
        answers = [_answer(conn) for conn, _ in begun]
        failed = [a[:200] for a in answers if not a.startswith("HTTP/1.1 200") or '"me"' not in a]
        code = process.wait(timeout=GRACE_SECONDS + 20)
        took = time.monotonic() - signalled
        cut = _answer(stalled)
    finally:
        if process.poll() is None:
            process.kill()
    print(
        f"\nSIGTERM, {IN_FLIGHT} requests in flight: {len(failed)} failed, exit after {took:.2f} s"
    )
    assert failed == []
    # uvicorn re-raises the signal once it has shut down cleanly, so the exit status
    # is SIGTERM's (143 in a shell, -15 here), as a supervisor expects.
    assert code == -signal.SIGTERM
    assert "200 OK" not in cut  # the stalled request was given up after the grace period
    # The stalled request held the exit for the grace period, and no longer (a grace
    # not wired through would be uvicorn's default: wait without end).
    assert GRACE_SECONDS - 0.5 <= took < GRACE_SECONDS + 2
    _check_logs(logged.read_text())


def _check_logs(text: str) -> None:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    assert [r["operation"] for r in requests if r["path"] == "/graphql"][:1] == ["Find"]
    assert SECRET_EMAIL not in text
    assert SECRET_EMAIL.replace("@", "%40") not in text
