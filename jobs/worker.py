"""The one worker: takes a message, claims its job, runs the handler, records the end.

Idempotent by the job record: a message for a finished job is acknowledged and
does nothing; a job another worker holds under a live lease is left alone (its
message comes back after the visibility timeout, by when it has finished or its
lease has run out); a job whose lease ran out (a crashed worker) is claimed
again and the handler resumes from the record's checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from auth import Principal
from dal.errors import ConditionFailed, DalError, StoreUnavailable, Throttled, UnknownTenant
from dal.jobs.files import JobFiles
from dal.jobs.queue import Message, Queue
from dal.jobs.records import Job, JobKind, JobStatus, Lost
from dal.models import Role
from dal.store import Repos, Store
from dal.tenancy.scope import InvalidTenant
from jobs.run import Cancelled, Handler, JobError, Outcome, Run
from resolvers.context import Context, PageLimits, build_context
from schema import ZebrosSchema

log = logging.getLogger("zebros.jobs")
IDLE_POLL_S = 0.5  # between empty receives (moto's server would block on a long poll)


@dataclass(frozen=True, slots=True)
class Tuning:
    lease_s: float = 120
    chunk_rows: int = 100
    concurrency: int = 8
    max_rows: int = 100_000


class Worker:
    def __init__(
        self,
        store: Store,
        queue: Queue,
        files: JobFiles,
        schema: ZebrosSchema,
        handlers: Mapping[JobKind, Handler],
        tuning: Tuning | None = None,
        limits: PageLimits | None = None,
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store, self.queue, self.files, self.schema = store, queue, files, schema
        self.settle = settle  # the stream consumer's (Run.settle)
        self.handlers, self.tuning = handlers, tuning or Tuning()
        self.limits = limits or PageLimits()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.woken = asyncio.Event()  # set by an in-process start: poll now
        self.handled = 0  # messages acknowledged (the CLI reports it)

    async def run_once(self, most: int = 10) -> int:
        """Receive what is waiting and handle it; how many messages came."""
        messages = await self.queue.receive(most)
        for message in messages:
            if await self._handled(message):
                await self.queue.delete(message)
                self.handled += 1
        return len(messages)

    async def _handled(self, message: Message) -> bool:
        """``handle``, except that a message naming no tenant of ours is dropped, and
        any other failure leaves the message to come back (a dead-letter queue, on
        AWS, takes it after its last delivery)."""
        try:
            return await self.handle(message)
        except (UnknownTenant, InvalidTenant):
            log.warning("job message for unknown tenant %r dropped", message.tenant)
            return True
        except DalError as exc:
            log.warning("job %s: %s; the message comes back", message.job_id, exc)
            return False

    async def drain(self) -> None:
        """Handle messages until the queue has none (tests, ``zebros worker --once``)."""
        while await self.run_once():
            pass

    async def run_forever(self) -> None:
        while True:
            try:
                if await self.run_once():
                    continue
            except DalError as exc:  # SQS or DynamoDB away: wait, and go on
                log.warning("job worker: %s", exc)
            except Exception:  # a bug must not stop the worker of a whole process
                log.exception("job worker: unexpected failure")
            self.woken.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), IDLE_POLL_S)

    async def handle(self, message: Message) -> bool:
        """Run the message's job; True once the message may be acknowledged."""
        repos = await self.store.open(message.tenant, request_id=message.job_id)
        job = await repos.jobs.get(message.job_id)
        if job is None or job.status.finished:
            return True
        try:
            job = await repos.jobs.claim(job, self.name, self.tuning.lease_s)
        except ConditionFailed:
            return False  # another worker holds it
        repos = await self.store.open(message.tenant, job.actor, job.id)
        try:
            return await self._run(job, repos)
        except Lost:
            log.warning("job %s: lease lost to another worker", job.id)
            return False

    async def _run(self, job: Job, repos: Repos) -> bool:
        principal = await self._starter(job, repos)
        if principal is None:
            await repos.jobs.finish(job.id, self.name, JobStatus.FAILED, message=_GONE)
            return True
        run = self._new_run(job, repos, principal)
        try:
            outcome = await self.handlers[job.kind](run)
        except Cancelled:
            await repos.jobs.finish(job.id, self.name, JobStatus.CANCELLED, message="cancelled")
            return True
        except (Lost, asyncio.CancelledError):
            raise
        except DalError as exc:
            if _comes_back(job, exc):
                raise  # a store away: the message comes back, the run resumes its checkpoint
            return await self._failed(job, repos, exc)
        except Exception as exc:  # a job's failure is recorded, never lost
            return await self._failed(job, repos, exc)
        await self._succeeded(run, outcome)
        return True

    async def _starter(self, job: Job, repos: Repos) -> Principal | None:
        """Who the job runs as: its starter, with the role of the verified token that
        started it (saved on the job), or None when their record is gone. Not the
        record's role: that is the one of their first request, never refreshed."""
        user = await repos.users.get(job.actor)
        if user is None:
            return None
        role = Role(job.role)
        return Principal(repos.scope.tenant_id, user.id, role, user.username, user.email)

    def _new_run(self, job: Job, repos: Repos, principal: Principal) -> Run:
        t = self.tuning
        make = partial(_context, job.id, principal, repos, self.limits)
        return Run(
            job, repos, make, self.schema, self.files, self.name, t.lease_s,
            t.chunk_rows, t.concurrency, t.max_rows, self.settle,
        )  # fmt: skip

    async def _succeeded(self, run: Run, outcome: Outcome) -> None:
        job = run.job
        await run.jobs.finish(
            job.id,
            self.name,
            JobStatus.SUCCEEDED,
            result_key=outcome.result_key,
            error_key=outcome.error_key,
            message=outcome.message,
            receipt=outcome.receipt,
        )

    async def _failed(self, job: Job, repos: Repos, exc: Exception) -> bool:
        message = str(exc) if isinstance(exc, JobError) else "internal error"
        if not isinstance(exc, JobError):
            log.exception("job %s (%s) failed", job.id, job.kind.value)
        await repos.jobs.finish(job.id, self.name, JobStatus.FAILED, message=message)
        return True


_GONE = "the user who started this job no longer exists"
# Runs of a privacy request that a store failure may send back to the queue; the
# queue's dead-letter redrive is at 5 receives (deploy/jobs.py), so the last run
# records FAILED (and clears the checkpoint) rather than leave a RUNNING job behind.
PRIVACY_RUNS = 4


def _comes_back(job: Job, exc: DalError) -> bool:
    """Half an erasure is worse than a late one: a privacy request's run that met a
    store failure (not a bug, not a refusal) goes again, a few times."""
    away = isinstance(exc, StoreUnavailable | Throttled)
    return job.kind is JobKind.PRIVACY and away and job.attempts < PRIVACY_RUNS


def _context(request_id: str, principal: Principal, repos: Repos, limits: PageLimits) -> Context:
    return build_context(request_id, principal, repos, limits)
