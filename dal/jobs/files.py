"""Where the files of jobs live, and the keys they get: always built on the server,
always under the tenant's prefix (so an IAM policy or a lifecycle rule can name one
tenant's files, and a key a client sends back is checked by its prefix).

- ``imports-exports``: ``{t}/imports/{importId}/{fileName}`` (uploaded by the
  client through a presigned POST), ``{t}/exports/{jobId}/{entity}.{csv|jsonl}``,
  and each job's rejected rows, ``{t}/jobs/{jobId}/rejected.csv`` (built from
  ``rejected/{chunk}.jsonl`` parts, one per checkpoint, so a resumed job keeps
  the rejections of the chunks it does not redo), and an erasure's working sets,
  ``{t}/jobs/{jobId}/erasure/{name}`` (deleted when it finishes);
- ``reports``: ``{t}/reports/{jobId}/{kind}.{csv|json}``;
- ``templates``: ``{t}/templates/{templateId}/v{version}.txt``;
- ``backups``: ``{t}/backups/{backupId}/...`` (``jobs/backup.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from dal import ids
from dal.storage import stream
from dal.storage.names import normalised
from dal.storage.objects import Blobs

EXTENSIONS = {"CSV": "csv", "JSON": "jsonl"}
CONTENT_TYPES = {"CSV": "text/csv", "JSON": "application/x-ndjson"}


@dataclass(frozen=True, slots=True)
class JobFiles:
    blobs: Blobs
    buckets: dict[str, str]  # purpose (buckets.PURPOSES) -> bucket name
    url_seconds: int  # life of a presigned GET of a result
    upload_seconds: int  # life of an import's upload ticket
    import_max_bytes: int
    part_size: int = stream.MIN_PART  # of the multipart uploads results are written with

    def bucket(self, purpose: str) -> str:
        return self.buckets[purpose]

    def writer(self, purpose: str, key: str, content_type: str) -> stream.Writer:
        """A result written a part at a time (``stream.Writer``): its size never sits
        in memory."""
        blobs = self.blobs
        return stream.Writer(blobs.client, self.bucket(purpose), key, content_type, self.part_size)

    def lines(self, purpose: str, key: str) -> AsyncIterator[bytes]:
        return stream.lines(self.blobs.client, self.bucket(purpose), key)


def import_key(tenant: str, file_name: str) -> str:
    return f"{tenant}/imports/imp_{ids.ulid()}/{normalised(file_name)}"


def is_import_key(tenant: str, key: str) -> bool:
    """A key ``import_key`` could have built for this tenant (nothing else is read)."""
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == tenant and parts[1] == "imports" and all(parts)


def format_of(key: str) -> str | None:
    """CSV or JSON (lines) by the file's extension; None for anything else."""
    lowered = key.lower()
    if lowered.endswith(".csv"):
        return "CSV"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "JSON"
    return None


def export_key(tenant: str, job_id: str, entity: str, fmt: str) -> str:
    return f"{tenant}/exports/{job_id}/{entity.lower()}.{EXTENSIONS[fmt]}"


def rejected_part(tenant: str, job_id: str, chunk: int) -> str:
    return f"{tenant}/jobs/{job_id}/rejected/{chunk:06d}.jsonl"


def rejected_key(tenant: str, job_id: str) -> str:
    return f"{tenant}/jobs/{job_id}/rejected.csv"


def job_prefix(tenant: str, job_id: str) -> str:
    """Where a job's own files live (its rejected rows, an erasure's working sets)."""
    return f"{tenant}/jobs/{job_id}/"


def erasure_file(tenant: str, job_id: str, name: str) -> str:
    """A set an erasure gathered (ids, needles), kept out of its checkpoint."""
    return f"{job_prefix(tenant, job_id)}erasure/{name}"


def report_key(tenant: str, job_id: str, kind: str, fmt: str) -> str:
    return f"{tenant}/reports/{job_id}/{kind.lower()}.{'csv' if fmt == 'CSV' else 'json'}"


def template_key(tenant: str, template_id: str, version: int) -> str:
    return f"{tenant}/templates/{template_id}/v{version}.txt"
