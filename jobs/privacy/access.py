"""A data subject's portable export (right of access, data portability).

One zip in the imports-exports bucket, ``{t}/exports/{jobId}/subject-{id}.zip``:
``README.txt`` (what is inside), ``subject.json`` (everything, one document),
one CSV per kind of item (the API's field names as columns), and the files
attached to activities about the subject under ``files/``. Entries are stored,
not deflated: the bytes of the values stay findable, so an erasure later finds
and deletes this export with every other file that holds them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from dal.jobs.records import Progress
from dal.models import Document
from dal.privacy.subject import SubjectKind, record_of
from dal.storage.stream import Writer
from dal.timefmt import dump_dt, utcnow
from jobs.privacy.subject import Subject, gather, public
from jobs.run import JobError, Outcome, Run

FILE_MAX_BYTES = 25 * 1024 * 1024  # a bigger file is listed, not copied (README.txt says so)
FILES_MAX_BYTES = 200 * 1024 * 1024
README = """Personal data export of {kind} {id} (tenant {tenant}), made {at} by request {job}.

subject.json        everything below in one JSON document
{kind_lower}.csv    the {kind_lower}'s own record
activities.csv      activities about the contact
opportunities.csv   opportunities the contact is on
documents.csv       files attached to those activities (their bytes in files/)
audit.csv           audit events: who wrote which fields of these records, when
                    (the audit log keeps field names, never values; 90 days)

Columns and keys are the API's field names (see the GraphQL schema). Times are UTC.
{skipped}"""


async def run_access(run: Run) -> Outcome:
    params, repos = run.job.params, run.repos
    kind = SubjectKind(params["subjectKind"])
    record = await record_of(repos, kind, params["subjectId"])
    if record is None:
        raise JobError(f"{kind.value.lower()} {params['subjectId']} does not exist")
    subject = await gather(repos, kind, record)
    await run.checkpoint(Progress(0, 0, {}, 1 + len(subject.related)))
    key = f"{repos.scope.tenant_id}/exports/{run.job.id}/subject-{record.id}.zip"
    async with run.files.writer("imports-exports", key, "application/zip") as out:
        await _zip(run, subject, out)
    n = 1 + len(subject.related)
    await run.checkpoint(Progress(n, 0, {}, n))
    return Outcome(result_key=key, message=f"{n} items and {len(subject.audit)} audit events")


class _Sink(io.RawIOBase):
    """Where the zip writes (not seekable: entries carry data descriptors); taken
    after each entry and handed to the upload, so the archive is never held whole."""

    def __init__(self) -> None:
        self.held = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.held += data
        return len(data)

    def take(self) -> bytes:
        taken = bytes(self.held)
        self.held.clear()
        return taken


async def _zip(run: Run, subject: Subject, out: Writer) -> None:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        tables = _tables(run, subject)
        skipped = await _files(run, subject.documents, archive, sink, out)
        archive.writestr("README.txt", _readme(run, subject, skipped))
        doc = {name: rows for name, rows in tables.items()}
        archive.writestr("subject.json", json.dumps(doc, indent=2, ensure_ascii=False))
        for name, rows in tables.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    await out.write(sink.take())


def _tables(run: Run, subject: Subject) -> dict[str, list[dict[str, Any]]]:
    own = subject.kind.value.lower()
    return {
        own: [public(run.repos, subject.record)],
        "activities": [public(run.repos, a) for a in subject.activities],
        "opportunities": [public(run.repos, o) for o in subject.opportunities],
        "documents": [public(run.repos, d) for d in subject.documents],
        "audit": [_event(asdict(e)) for e in subject.audit],
    }


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event["id"],
        "at": dump_dt(event["at"]),
        "actorId": event["actor_id"],
        "action": event["action"],
        "entity": event["entity"],
        "recordId": event["record_id"],
        "requestId": event["request_id"],
        "fields": list(event["fields"]),
    }


async def _files(
    run: Run, docs: Iterable[Document], archive: zipfile.ZipFile, sink: _Sink, out: Writer
) -> list[str]:
    """Each file into the archive and on to the upload, one at a time."""
    skipped, total = [], 0
    for doc in docs:
        if doc.size > FILE_MAX_BYTES or total + doc.size > FILES_MAX_BYTES:
            skipped.append(f"{doc.id} {doc.name} ({doc.size} bytes)")
            continue
        bucket = run.files.bucket(doc.kind.value)
        body = await run.files.blobs.get(bucket, doc.key, doc.object_version)
        archive.writestr(f"files/{doc.id}-{doc.key.rsplit('/', 1)[-1]}", body)
        total += len(body)
        await out.write(sink.take())
    return skipped


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = sorted({name for row in rows for name in row})
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _readme(run: Run, subject: Subject, skipped: list[str]) -> str:
    note = ""
    if skipped:
        listed = "\n".join(f"  {s}" for s in skipped)
        note = f"\nFiles too large to include (download them through the API):\n{listed}\n"
    kind = subject.kind.value
    return README.format(
        kind=kind, kind_lower=kind.lower(), id=subject.record.id, at=dump_dt(utcnow()),
        tenant=run.repos.scope.tenant_id, job=run.job.id, skipped=note,
    )  # fmt: skip
