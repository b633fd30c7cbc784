"""What an erasure gathers, kept in S3 under the job's files rather than in its
checkpoint: a subject's history may name any number of activities, deals, files and
archived copies, and a DynamoDB item holds 400 KB (about 13,000 ids). The checkpoint
keeps the step and the receipt; each step reads the sets it needs a line at a time.

The files are written once, by the gather step (a resumed gather writes them again,
whole), read by the later steps, and deleted when the erasure finishes; the sweep of
job files passes over them (they hold the needles they are swept with).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from dal.errors import NotFound
from dal.jobs import files
from dal.jobs.files import JobFiles
from dal.privacy.scrub import Scrubber
from dal.storage import stream
from jobs.run import Run

BUCKET = "imports-exports"
CHUNK = 500  # ids a step takes from a file at a time


def key(run: Run, name: str) -> str:
    return files.erasure_file(run.repos.scope.tenant_id, run.job.id, name)


def own(run: Run, object_key: str) -> bool:
    """Whether a job file is this job's own (its working sets)."""
    return object_key.startswith(files.job_prefix(run.repos.scope.tenant_id, run.job.id))


async def put_values(run: Run, name: str, values: dict[str, Any]) -> None:
    body = json.dumps(values, sort_keys=True).encode()
    await run.files.blobs.put(run.files.bucket(BUCKET), key(run, name), body, "application/json")


async def values(run: Run, name: str) -> dict[str, Any]:
    body = await run.files.blobs.get(run.files.bucket(BUCKET), key(run, name))
    found: dict[str, Any] = json.loads(body)
    return found


def writer(run: Run, name: str) -> stream.Writer:
    return run.files.writer(BUCKET, key(run, name), "application/x-ndjson")


async def chunks(run: Run, name: str) -> AsyncIterator[list[Any]]:
    """A set's members (one JSON value a line), ``CHUNK`` at a time."""
    taken: list[Any] = []
    async for line in run.files.lines(BUCKET, key(run, name)):
        if line:
            taken.append(json.loads(line))
        if len(taken) == CHUNK:
            yield taken
            taken = []
    if taken:
        yield taken


def line(value: Any) -> bytes:
    return json.dumps(value).encode() + b"\n"


async def forget(run: Run) -> None:
    """The working sets gone (the erasure is over; a rerun finds none to delete)."""
    bucket = run.files.bucket(BUCKET)
    prefix = files.erasure_file(run.repos.scope.tenant_id, run.job.id, "")
    async for page in run.files.blobs.version_pages(bucket, prefix):
        for object_key, version, _ in page:
            await run.files.blobs.objects.delete(bucket, object_key, version)


async def holds(
    files: JobFiles, scrub: Scrubber, bucket: str, object_key: str, version: str
) -> bool:
    """Whether a file holds a needle: read a chunk at a time, each searched off the event
    loop; the end of a chunk is searched again with the next (a needle across two)."""
    if not scrub.needles:
        return False
    keep, tail = 2 * max(map(len, scrub.needles)) + 2, ""
    try:
        async for text in stream.texts(files.blobs.client, bucket, object_key, version):
            window = tail + text
            if await asyncio.to_thread(scrub.found_in, window, False):
                return True
            tail = window[-keep:]
    except NotFound:
        return False  # expired (or deleted) since it was listed: nothing left to hold
    return await asyncio.to_thread(scrub.found_in, tail, True)
