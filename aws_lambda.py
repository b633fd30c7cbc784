"""The app behind API Gateway (HTTP API payload 2.0, REST API 1.0), through Mangum.

``server.lambda_handler`` is a ``LambdaApp``; ``server.jobs_handler``, a
``JobsLambda``, runs the job worker on SQS events; ``server.uploads_handler``, an
``UploadsLambda``, confirms uploads on S3's ObjectCreated notifications;
``server.streams_handler``, a ``StreamsLambda``, applies the record tables' stream
batches. Nothing here starts what only a server needs (uvicorn, embedded stores).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from mangum import Mangum
from starlette.applications import Starlette

from dal.storage.events import confirm_created
from dal.streams.events import deliver
from observe import logs
from services import Services, open_services, stream_consumer
from settings import Settings

T = TypeVar("T")

AppFactory = Callable[[Settings, Services], Starlette]


class LambdaApp:
    """``server.lambda_handler``: the same app behind API Gateway, through Mangum.

    One per container, made on the first invocation: the event loop, the clients
    and the app, kept for every later invocation (Mangum's own lifespan would open
    and close the clients around each event). Nothing server-only starts here:
    no uvicorn, no embedded stores; settings come from the environment."""

    def __init__(self, app: AppFactory, settings: Callable[[], Settings] = Settings) -> None:
        self._app, self._settings = app, settings
        self._handler: Mangum | None = None
        self._stack: AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._handler is None:
            self._handler = self._start()
        return self._handler(event, context)

    def _start(self) -> Mangum:
        """The loop once per container; the clients and the app kept only when all of
        them came up (a failed start closes what it opened; the next event retries)."""
        settings = self._settings()
        logs.configure(settings.log_level, settings.logs_as())
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)  # Mangum runs each event on the current loop
        stack = AsyncExitStack()
        try:
            opened = self._loop.run_until_complete(
                stack.enter_async_context(open_services(settings))
            )
            handler = Mangum(self._app(settings, opened), lifespan="off")
        except BaseException:
            self._loop.run_until_complete(stack.aclose())
            raise
        self._stack = stack
        return handler

    def close(self) -> None:
        """Close the clients and the loop (tests; a Lambda container is frozen, then dropped)."""
        if self._loop is None:
            return
        # Stragglers of the last event first (a fill Mangum did not wait for): left
        # pending, a closed loop would drop them with their connections open.
        self._loop.run_until_complete(_cancel_pending())
        if self._stack is not None:
            self._loop.run_until_complete(self._stack.aclose())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()
        self._handler, self._stack, self._loop = None, None, None


async def _cancel_pending() -> None:
    """Cancel every other task of the running loop and wait until they have stopped."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


async def _opened(settings: Callable[[], Settings]) -> tuple[AsyncExitStack, Services]:
    """The clients of a handler's container, kept for its later invocations; a failed
    start closes what it opened (the next event starts again)."""
    given = settings()
    logs.configure(given.log_level, given.logs_as())
    stack = AsyncExitStack()
    try:
        return stack, await stack.enter_async_context(open_services(given))
    except BaseException:
        await stack.aclose()
        raise


class _Container:
    """One Lambda container's event loop and clients: opened at its first event, kept
    for the later ones, closed with ``close`` (tests; Lambda freezes containers)."""

    def __init__(self, settings: Callable[[], Settings] = Settings) -> None:
        self._settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stack: AsyncExitStack | None = None
        self._services: Services | None = None
        # What a handler builds on the clients (the job worker, the stream applier):
        # made at the first event, dropped with the clients.
        self._built: Any = None

    def _run(self, work: Callable[[Services], Awaitable[T]]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        if self._services is None:
            self._stack, self._services = self._loop.run_until_complete(_opened(self._settings))
        return self._loop.run_until_complete(work(self._services))

    def close(self) -> None:
        if self._loop is None:
            return
        if self._stack is not None:
            self._loop.run_until_complete(self._stack.aclose())
        self._loop.close()
        self._loop, self._stack, self._services, self._built = None, None, None, None


class JobsLambda(_Container):
    """``server.jobs_handler``: the job worker as an SQS-triggered Lambda.

    Each record of the event is one job message, handled by the same ``Worker``
    as in-process and ``zebros worker``. A message that may not be acknowledged
    yet (its job is another worker's, under a live lease) is reported as a batch
    item failure (``ReportBatchItemFailures`` on the event source mapping), so
    SQS delivers it again and deletes the rest."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = self._run(lambda opened: self._handle(opened, event.get("Records", [])))
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    async def _handle(self, opened: Services, records: list[dict[str, Any]]) -> list[str]:
        from dal.jobs.queue import parse
        from services import job_worker  # the worker needs the schema: only here

        if self._built is None:
            self._built = job_worker(opened)
        failed = []
        for record in records:
            message = parse(record.get("body", ""), record.get("receiptHandle", ""))
            if message is not None and not await self._built.handle(message):
                failed.append(str(record.get("messageId", "")))
        return failed


class UploadsLambda(_Container):
    """``server.uploads_handler``: the documents and attachments buckets notify it of
    every ObjectCreated (``zebros iac`` wires it), and it confirms the upload as
    ``confirmDocumentUpload`` would (``dal/storage/events.confirm_created``), so a
    file becomes AVAILABLE even when its client never comes back to confirm. S3
    delivers at least once: a second delivery confirms nothing new. A record that
    names no pending upload of ours is logged and skipped; a store that fails
    fails the invocation, and Lambda retries the event (confirming is idempotent)."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        made = self._run(lambda opened: confirm_created(opened.store, event))
        return {"confirmed": [d.key for d in made]}


class StreamsLambda(_Container):
    """``server.streams_handler``: the stream consumer on a DynamoDB Streams event
    source mapping (a tumbling window, so each event names its shard). Answers
    ``batchItemFailures`` from the first record not applied, and the window's
    ``state`` (none kept: each batch is applied as it comes)."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        again = self._run(lambda opened: self._deliver(opened, event))
        failures = [] if again is None else [{"itemIdentifier": again}]
        return {"state": {}, "batchItemFailures": failures}

    async def _deliver(self, opened: Services, event: dict[str, Any]) -> str | None:
        if self._built is None:
            self._built = stream_consumer(opened).applier
        records = event.get("Records") or []
        arn = event.get("eventSourceARN") or (records[0]["eventSourceARN"] if records else "")
        shard = str(event.get("shardId", ""))
        if not records:
            return None  # a window's closing call
        if not shard:  # never acknowledge what cannot be applied exactly once
            raise RuntimeError("stream event without shardId: the mapping needs a tumbling window")
        prefix = opened.settings.dynamo.table_prefix
        return await deliver(self._built, prefix, arn, shard, records)
