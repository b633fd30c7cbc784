"""Embedded mode: an in-process moto server (real HTTP) and, if needed, a fake Redis.

``python -m embedded [--port 5000]`` serves the same moto on its own, as an
endpoint for ``zebros init``/``seed``/``serve`` that outlives one process. Use it
rather than moto's ``moto_server``, which handles requests in threads: moto's
TransactWriteItems is not atomic across threads (it checks and applies item by
item, and a cancelled one puts back copies of whole tables taken when it began,
undoing what other requests wrote meanwhile), so concurrent writes leave a
change-log shard's head behind its entries and every later write to that shard
is refused (``zebros seed``: "write cancelled: ... ConditionalCheckFailed").
"""

from __future__ import annotations

import argparse
import copy
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakeredis
import redis.asyncio as aioredis
from moto.dynamodb import models as moto_dynamodb
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
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
EMBEDDED_READ_TIMEOUT_S = 60.0  # a request's wait in line for the in-process store


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


Saved = list[tuple[Table, DynamoType, DynamoType | None, Item | None]]
_MOTO_TRANSACT = moto_dynamodb.DynamoDBBackend.transact_write_items


class _TablesShared:
    """Stands in for ``copy`` in moto's DynamoDB backend during one transaction:
    tables are not copied, every other value is."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value)


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    setattr(moto_dynamodb, "copy", _TablesShared)  # noqa: B010 (moto exports no "copy")
    try:
        yield
    finally:
        setattr(moto_dynamodb, "copy", copy)  # noqa: B010


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolled back item by item instead of table by table.

    moto deep-copies every table a transaction names before it starts, to put the
    copies back if a condition fails: a write costs time proportional to the whole
    table (0.9 s for one createCustomer on the seeded demo tables), so a burst of
    writes queued behind it timed out. Here only the items the transaction names
    are saved and restored; _SerialApp runs one request at a time, so nothing else
    sees the store in between. (Streams records of a rolled-back write would stay:
    nothing here enables streams.)"""
    saved = _saved_items(backend, transact_items)
    try:
        with _tables_not_copied():
            _MOTO_TRANSACT(backend, transact_items)
    except Exception:
        _restore(saved)
        raise


def _saved_items(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    saved: Saved = []
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName"))
            key = op.get("Key") or op.get("Item") or {}
            if table is None or not _keyed(table, key):
                continue  # moto refuses the transaction before it writes anything
            hash_value = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = None if range_attr is None else DynamoType(key[range_attr])
            current = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _keyed(table: Table, key: dict[str, Any]) -> bool:
    return table.hash_key_attr in key and (
        table.range_key_attr is None or table.range_key_attr in key
    )


def _restore(saved: Saved) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        # moto's layout: items[hash] is the item, or {range: item} with a sort key.
        items: Any = table.items if range_value is None else table.items[hash_value]
        at = hash_value if range_value is None else range_value
        items.pop(at, None)
        if item is not None:
            items[at] = item


class EmbeddedAws:
    """DynamoDB and S3 on 127.0.0.1, served by moto in a thread of this process."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        # werkzeug logs every request of the moto server: noise, not news.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        backend: Any = moto_dynamodb.DynamoDBBackend
        backend.transact_write_items = _transact_write_items
        app = _SerialApp(DomainDispatcherApplication(create_backend_app))
        self._server: Any = make_server(
            host, port, app, threaded=True, request_handler=MotoRequestHandler
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
    """Settings pointing at the embedded endpoint, with moto's dummy credentials.

    The read timeout is longer: this store is not a remote dependency that can be
    sick, only one that is busy (one request at a time, _SerialApp). A burst waits
    in line for it; with the usual 5 s a request at the back timed out, and its
    retry sent the same write again to a store still working through the queue."""
    aws = settings.aws.model_copy(
        update={
            "endpoint_url": endpoint_url,
            "access_key_id": "embedded",
            "secret_access_key": SecretStr("embedded"),
            "read_timeout": max(settings.aws.read_timeout, EMBEDDED_READ_TIMEOUT_S),
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


def main(argv: list[str] | None = None) -> None:
    """``python -m embedded``: embedded mode's moto as a server, until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m embedded", description="DynamoDB, S3 and SQS (moto), one request at a time"
    )
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    aws = EmbeddedAws(args.port, args.host)
    print(f"moto (one request at a time) at {aws.start()}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        aws.stop()


if __name__ == "__main__":
    main()
