"""``zebros worker``, ``zebros backup`` and ``zebros restore``: long commands, with
a progress bar (rich) on a terminal and a log line per phase otherwise."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from dal.errors import UnknownTenant
from jobs.backup import BackupError, backup, restore
from jobs.backup import Progress as Steps
from services import Services, job_worker, open_services, stream_consumer
from settings import Settings

log = logging.getLogger("zebros")


def add_arguments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser("worker", help="run the job worker on the queue")
    worker.add_argument("--once", action="store_true", help="handle what is queued, then exit")
    made = sub.add_parser("backup", help="write a logical backup of one tenant to S3")
    made.add_argument("--tenant", required=True)
    back = sub.add_parser("restore", help="restore a backup into an empty tenant")
    back.add_argument("--tenant", required=True, help="the target: registered, and empty")
    back.add_argument("--from", dest="source", required=True, help="the manifest's key")


def run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        if args.command == "worker":
            return await _worker(services, args.once)
        try:
            return await _backup_or_restore(services, args)
        except (BackupError, UnknownTenant) as exc:
            print(f"zebros {args.command}: {exc}", file=sys.stderr)
            return 1


async def _worker(services: Services, once: bool) -> int:
    """The job worker and the stream consumer (aggregates, archive copies)."""
    worker, consumer = job_worker(services), stream_consumer(services)
    if once:
        await worker.drain()
        await consumer.settle()
        print(f"{worker.handled} job message(s) handled, {consumer.seen} stream change(s)")
        return 0
    log.info("job worker %s: waiting for jobs and stream changes", worker.name)
    await asyncio.gather(worker.run_forever(), consumer.run_forever())
    return 0


async def _backup_or_restore(services: Services, args: argparse.Namespace) -> int:
    store, files = services.store, services.store.job_files
    if files is None:
        raise BackupError("no S3 configured")
    repos = await store.open(args.tenant)
    with _bar() as progress:
        if args.command == "backup":
            settle = stream_consumer(services).settle  # the change log numbered
            key, made = await backup(repos, files, settle, progress)
            counts = ", ".join(f"{v['count']} {k.lower()}" for k, v in made.files.items())
            print(f"backup of {args.tenant}: {key} ({counts})")
            return 0
        made = await restore(repos, files, args.source, progress)
    print(f"restored {made.tenant}'s backup into {args.tenant}; every count and checksum matches")
    return 0


@contextmanager
def _bar() -> Iterator[Steps]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), disable=not sys.stderr.isatty()) as bar:
        tasks: dict[str, int] = {}

        def step(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = int(bar.add_task(phase, total=total))
                log.info("%s: %d items", phase, total)
            bar.update(TaskID(tasks[phase]), completed=done, total=total)

        yield step
