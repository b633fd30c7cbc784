"""Embedded mode: an in-process moto server (real HTTP) and, if needed, a fake Redis."""

from __future__ import annotations

import logging
from typing import Any

import fakeredis
import redis.asyncio as aioredis
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from settings import Settings

log = logging.getLogger("zebros")


class EmbeddedAws:
    """DynamoDB and S3 on 127.0.0.1, served by moto in a thread of this process."""

    def __init__(self, port: int = 0) -> None:
        # werkzeug logs every request of the moto server: noise, not news.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint_url = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        self._server.stop()


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


async def reachable_redis(client: aioredis.Redis) -> aioredis.Redis | None:
    try:
        await client.ping()
    except Exception:  # any failure means "not there": embedded mode carries on
        await client.aclose()
        return None
    return client


def fake_redis() -> aioredis.Redis:
    log.warning("Redis not reachable: using an in-process fake (embedded mode)")
    fake: aioredis.Redis = fakeredis.FakeAsyncRedis()
    return fake
