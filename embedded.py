"""Embedded mode: an in-process moto server (real HTTP) and, if needed, a fake Redis."""

from __future__ import annotations

import logging
import threading
from typing import Any

import fakeredis
import redis.asyncio as aioredis
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from pydantic import SecretStr
from werkzeug.serving import make_server

from dal.cache.client import Client
from services import redis_where
from settings import Settings

log = logging.getLogger("zebros")


class _SerialApp:
    """moto's WSGI app, one request at a time.

    moto's backends are not thread-safe: TransactWriteItems deep-copies a table
    while other request threads change it ("dictionary changed size during
    iteration", HTTP 500). Connections stay concurrent (keep-alive works); only
    the handling is serialised, which costs little since moto holds the GIL anyway.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self._lock:
            return list(self._app(environ, start_response))


class EmbeddedAws:
    """DynamoDB and S3 on 127.0.0.1, served by moto in a thread of this process."""

    def __init__(self, port: int = 0) -> None:
        # werkzeug logs every request of the moto server: noise, not news.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = _SerialApp(DomainDispatcherApplication(create_backend_app))
        self._server: Any = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.endpoint_url = ""

    def start(self) -> str:
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.endpoint_url = f"http://{host}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def with_endpoint(settings: Settings, endpoint_url: str) -> Settings:
    """Settings pointing at the embedded endpoint, with moto's dummy credentials."""
    aws = settings.aws.model_copy(
        update={
            "endpoint_url": endpoint_url,
            "access_key_id": "embedded",
            "secret_access_key": SecretStr("embedded"),
        }
    )
    return settings.model_copy(update={"aws": aws})


async def reachable_redis(client: Client) -> Client | None:
    try:
        await client.ping()
    except Exception:  # any failure means "not there": embedded mode carries on
        await client.aclose()
        return None
    log.info("cache: %s answers, the real one is used (embedded mode)", redis_where(client))
    return client


def fake_redis() -> aioredis.Redis:
    log.warning("Redis not reachable: using an in-process fake (embedded mode)")
    fake: aioredis.Redis = fakeredis.FakeAsyncRedis()
    return fake
