"""SIGTERM under load: `zebros serve` finishes the requests in flight, refuses new
connections, and exits within its graceful-shutdown timeout.

"In flight" is made certain, not timed: each of 20 connections sends its
request's headers and half its body, so the server has begun every request
when the signal arrives; the other halves follow the signal.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from tests.e2e.test_serve import ROOT, ZEBROS, _environment, _free_port, _token, _wait_until_healthy

IN_FLIGHT = 20
GRACE_SECONDS = 10
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


@pytest.mark.e2e
def test_sigterm_finishes_the_requests_in_flight() -> None:
    port = _free_port()
    env = _environment() | {"ZEBROS_SERVER__GRACEFUL_SHUTDOWN_SECONDS": str(GRACE_SECONDS)}
    process = subprocess.Popen(
        [*ZEBROS, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{port}", process)
        bearer = f"Bearer {_token()}"
        begun = [_begin(port, bearer) for _ in range(IN_FLIGHT)]
        time.sleep(0.5)  # every request's headers read: each is a request in progress
        signalled = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert _refused(port), "a new connection was accepted after SIGTERM"
        for conn, rest in begun:
            conn.sendall(rest)
        answers = [_answer(conn) for conn, _ in begun]
        failed = [a[:200] for a in answers if not a.startswith("HTTP/1.1 200") or '"me"' not in a]
        code = process.wait(timeout=GRACE_SECONDS + 5)
        took = time.monotonic() - signalled
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
    assert took < GRACE_SECONDS
