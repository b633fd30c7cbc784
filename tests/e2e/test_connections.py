"""Connections to a real `zebros serve`, over raw sockets: what uvicorn left unbounded.

A request's head (line and headers) must arrive within the header timeout
however it trickles in, an idle connection is closed, an oversized head or
URL is refused, and every refusal that gets an answer is the one error body.
The figures are settings, small here (1 s and 1 s) to keep the test short.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.serving import ROOT, ZEBROS, environment, free_port, wait_until_healthy

HEADER_SECONDS = 1.0
KEEP_ALIVE_SECONDS = 1
# The longest a bounded wait may take here; without a bound a wait never ends.
PATIENCE = 10.0
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
OK = b'{"status":"ok"}'


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port, logged = free_port(), tmp_path_factory.mktemp("serve") / "server.log"
    env = environment() | {
        "ZEBROS_SERVER__HEADER_TIMEOUT_SECONDS": str(HEADER_SECONDS),
        "ZEBROS_SERVER__KEEP_ALIVE_SECONDS": str(KEEP_ALIVE_SECONDS),
    }
    with logged.open("w") as log:
        process = subprocess.Popen(
            [*ZEBROS, "serve", "--port", str(port), "--no-seed"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, Path(logged))
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    return conn


def _until_closed(conn: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, chunks = time.monotonic(), []
    with conn:
        while chunk := conn.recv(65536):  # socket.timeout (a failure) after PATIENCE
            chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - started


def _healthy(conn: socket.socket) -> bool:
    """/healthz's whole answer read off a kept-alive connection: a 200."""
    answer = b""
    while not answer.endswith(OK):
        chunk = conn.recv(65536)
        if not chunk:
            return False
        answer += chunk
    return answer.startswith(b"HTTP/1.1 200 ")


def _refusal(answer: bytes, status: int) -> str:
    """The one error body, with ``status``; its message."""
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:300]
    assert b"content-type: application/json" in head.lower()
    body = json.loads(content)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    message: str = error["message"]
    return message


@pytest.mark.e2e
def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    answer, took = _until_closed(_connect(port))
    assert answer == b""
    assert took < HEADER_SECONDS + 2


@pytest.mark.e2e
def test_headers_that_trickle_in_are_cut_at_the_header_timeout(port: int) -> None:
    conn = _connect(port)
    started = time.monotonic()
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    # A header line every 0.2 s, well inside every timeout, until the server answers
    # (no further line after it: it would be reset, and the answer with it).
    while time.monotonic() - started < PATIENCE:
        readable, _, _ = select.select([conn], [], [], 0.2)
        if readable:
            break
        conn.sendall(b"X-Slow: 1\r\n")
    answer, _ = _until_closed(conn)
    took = time.monotonic() - started
    assert "longer than 1 s" in _refusal(answer, 408)
    assert took < HEADER_SECONDS + 3


@pytest.mark.e2e
def test_an_idle_keep_alive_connection_is_closed(port: int) -> None:
    conn = _connect(port)
    conn.sendall(HEALTHZ)
    assert _healthy(conn)
    rest, took = _until_closed(conn)
    assert rest == b""
    assert took < KEEP_ALIVE_SECONDS + 2


@pytest.mark.e2e
def test_a_keep_alive_connection_serves_the_next_request(port: int) -> None:
    """The header timeout runs per request: a connection in use is not cut."""
    with _connect(port) as conn:
        for _ in range(3):
            conn.sendall(HEALTHZ)
            assert _healthy(conn)
            time.sleep(HEADER_SECONDS * 0.7)


@pytest.mark.e2e
def test_a_url_too_long_is_a_graphql_shaped_414(port: int) -> None:
    conn = _connect(port)
    conn.sendall(b"GET /graphql?query=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    answer, _ = _until_closed(conn)
    assert "send the operation by POST" in _refusal(answer, 414)


@pytest.mark.e2e
def test_oversized_headers_are_a_graphql_shaped_431(port: int) -> None:
    conn = _connect(port)
    lines = b"".join(b"X-Big-%d: %s\r\n" % (i, b"a" * 1000) for i in range(132))
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + lines)  # 132 KB, no end yet
    answer, _ = _until_closed(conn)
    assert "larger than" in _refusal(answer, 431)


@pytest.mark.e2e
def test_a_malformed_request_is_a_graphql_shaped_400(port: int) -> None:
    conn = _connect(port)
    conn.sendall(b"GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n")
    answer, _ = _until_closed(conn)
    assert _refusal(answer, 400)
