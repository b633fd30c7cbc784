"""Request bodies: refused past a size (413) before they are read whole, cut off when slow (408).

The size limits run over ASGI, streaming included; the slow body is sent over
a real socket to a real uvicorn server, a few bytes at a time.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from server import create_app
from services import Services
from settings import LimitsSettings, Settings
from tests.api.test_edge_envelope import envelope
from tests.api.test_edge_limits import serve, with_limits
from tests.conftest import fresh_tenant, token

ME = '{"query": "{ me { id } }"}'
LIMIT = 2_000
AUTH = {"Authorization": f"Bearer {token(fresh_tenant('body'))}"}
JSON = AUTH | {"Content-Type": "application/json"}


def padded(size: int) -> bytes:
    """A valid GraphQL request of exactly ``size`` bytes (JSON allows trailing spaces)."""
    return ME.encode().ljust(size)


class Chunks:
    """A request body sent in chunks, counting how many the server pulled."""

    def __init__(self, count: int, size: int) -> None:
        self.count, self.size, self.pulled = count, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield b" " * self.size


def refused(response: httpx.Response, status: int) -> None:
    envelope(response, status, "BAD_REQUEST")
    assert response.headers["connection"] == "close"
    assert response.headers["x-request-id"]


async def test_defaults_are_one_megabyte_and_ten_seconds(client: httpx.AsyncClient) -> None:
    assert (LimitsSettings().max_body_bytes, LimitsSettings().body_read_timeout) == (1 << 20, 10)
    at_limit = await client.post("/graphql", content=padded(1 << 20), headers=JSON)
    assert at_limit.json() == {"data": {"me": {"id": "u-admin"}}}
    over = await client.post("/graphql", content=padded((1 << 20) + 1), headers=JSON)
    refused(over, 413)


async def test_a_declared_oversize_body_is_refused_unread(settings: Settings, db: Services) -> None:
    body = Chunks(count=4, size=LIMIT // 2)
    headers = JSON | {"Content-Length": str(body.count * body.size)}
    async with serve(with_limits(settings, max_body_bytes=LIMIT), db) as client:
        response = await client.post("/graphql", content=body, headers=headers)
    refused(response, 413)
    assert body.pulled == 0
    assert str(LIMIT) in response.json()["errors"][0]["message"]


async def test_a_streamed_body_is_cut_off_past_the_limit(settings: Settings, db: Services) -> None:
    body = Chunks(count=1_000, size=500)  # chunked: no Content-Length to go by
    async with serve(with_limits(settings, max_body_bytes=LIMIT), db) as client:
        response = await client.post("/graphql", content=body, headers=JSON)
    refused(response, 413)
    assert body.pulled == LIMIT // 500 + 1  # read up to the limit, then no more


async def test_a_streamed_body_within_the_limit_runs(settings: Settings, db: Services) -> None:
    chunks = [padded(LIMIT)[i : i + 500] for i in range(0, LIMIT, 500)]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async with serve(with_limits(settings, max_body_bytes=LIMIT), db) as client:
        response = await client.post("/graphql", content=stream(), headers=JSON)
    assert response.json() == {"data": {"me": {"id": "u-admin"}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def uvicorn_serving(settings: Settings, services: Services) -> AsyncIterator[int]:
    """A real uvicorn server in this event loop (where the services' clients live)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, services),
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def trickle(port: int, seconds: float) -> tuple[bytes, float]:
    """Headers at once, then one byte of the body every 50 ms; the answer and when."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: zebros.test\r\nContent-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nX-Request-Id: slow-1\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    try:
        writer.write(head.encode())
        started = time.monotonic()
        answer = asyncio.create_task(reader.read())  # until the server closes the connection
        while not answer.done() and time.monotonic() - started < seconds:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)
        return await asyncio.wait_for(answer, timeout=1), time.monotonic() - started
    finally:
        writer.close()


async def test_a_trickling_body_is_cut_off_with_408(settings: Settings, db: Services) -> None:
    slow = with_limits(settings, body_read_timeout=0.5)
    async with uvicorn_serving(slow, db) as port:
        received, elapsed = await trickle(port, seconds=5)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"\r\nx-request-id: slow-1\r\n" in head.lower() + b"\r\n"
    assert b'"code":"BAD_REQUEST"' in body.replace(b" ", b"")
    assert 0.5 <= elapsed < 3  # cut off at the timeout, not when the client gave up
