"""What a handler is given (one run of one job) and what it gives back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dal.jobs.files import JobFiles
from dal.jobs.records import Job, JobStore, Progress
from dal.store import Repos
from resolvers.context import Context
from schema import ZebrosSchema


class JobError(Exception):
    """A failure the job's starter should read as it is (a file that cannot be
    parsed, one too large): the job's ``message``."""


class Cancelled(Exception):
    """``cancelJob`` was asked: the handler stops at this checkpoint."""


@dataclass(frozen=True, slots=True)
class Outcome:
    result_key: str | None = None
    error_key: str | None = None
    message: str | None = None
    receipt: dict[str, Any] | None = None  # an erasure's, per store


@dataclass
class Run:
    job: Job
    repos: Repos
    # The starter's context, as if they had sent each mutation themselves; a new one
    # per chunk (a context pins one "now" and caches what its loaders read).
    make_context: Callable[[], Context]
    schema: ZebrosSchema
    files: JobFiles
    worker: str
    lease_s: float
    chunk_rows: int
    concurrency: int
    max_rows: int
    # Applies every change of the record tables' streams committed so far (archive
    # copies, aggregates): what an erasure waits for before it reads the archive.
    settle: Callable[[], Awaitable[None]] | None = None

    @property
    def jobs(self) -> JobStore:
        return self.repos.jobs

    async def checkpoint(self, made: Progress) -> None:
        """Record progress (and renew the lease); Cancelled when cancelJob was asked."""
        self.job = await self.jobs.progress(self.job.id, self.worker, self.lease_s, made)
        if self.job.cancel_requested:
            raise Cancelled(self.job.id)

    async def execute(self, document: str, variables: dict[str, Any], context: Context) -> Any:
        return await self.schema.execute(document, variable_values=variables, context_value=context)


Handler = Callable[[Run], Awaitable[Outcome]]
