"""Multipart uploads of large files: part URLs out, the parts checked before completion.

A presigned UploadPart cannot pin a part's length, so the sizes are checked
against what S3 holds (ListParts) before the upload is completed: every part
but the last of one size, the total equal to the size the ticket was for, and
the client's list naming exactly those parts with their ETags.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dal.errors import InvalidUpload, NotFound
from dal.models import Document, DocumentStatus
from dal.storage.files import Files, NewFile
from dal.storage.objects import Part
from dal.storage.uploads import parts_of


@dataclass(frozen=True, slots=True)
class Multipart:
    document: Document
    upload_id: str
    part_size: int
    part_urls: list[str]
    expires_at: datetime


async def start(files: Files, new: NewFile, now: datetime) -> Multipart:
    files.limits.check(new.name, new.content_type, new.size, multipart=True)
    seconds = files.limits.multipart_seconds
    doc = files.pending(new, now, seconds)
    bucket = files.bucket(doc.kind)
    upload_id = await files.objects.start_multipart(bucket, doc.key, doc.content_type)
    try:
        doc = await files.documents.create(replace(doc, upload_id=upload_id))
    except BaseException:
        await files.objects.abort(bucket, doc.key, upload_id)  # nothing would ever finish it
        raise
    size = files.limits.part_size(doc.size)
    urls = await files.objects.part_urls(
        bucket, doc.key, upload_id, parts_of(doc.size, size), seconds
    )
    return Multipart(doc, upload_id, size, urls, now + timedelta(seconds=seconds))


async def complete(
    files: Files, customer_id: str, key: str, upload_id: str, given: list[tuple[int, str]]
) -> Document:
    """Check the parts, complete, confirm. A retry after S3 completed the upload
    (and the metadata write failed), or a concurrent complete, finds the upload
    gone: then the object is confirmed as it stands."""
    doc = await files.find(customer_id, key)
    if doc.status is DocumentStatus.AVAILABLE:
        return doc  # completed already: a retry
    _same_upload(doc, upload_id)
    bucket = files.bucket(doc.kind)
    try:
        held = await files.objects.parts(bucket, doc.key, upload_id)
        _check_parts(doc, held, given)
        await files.objects.complete(bucket, doc.key, upload_id, held)
    except NotFound:
        pass  # completed (by us, earlier) or aborted: what S3 holds decides
    return await _confirm_completed(files, doc)


async def _confirm_completed(files: Files, doc: Document) -> Document:
    head = await files.objects.head(files.bucket(doc.kind), doc.key)
    if head is None:
        raise NotFound("upload")  # aborted: nothing was ever stored
    return await files.available(doc, head)


async def abort(files: Files, customer_id: str, key: str, upload_id: str) -> None:
    doc = await files.find(customer_id, key)
    _same_upload(doc, upload_id)
    await files.objects.abort(files.bucket(doc.kind), doc.key, upload_id)
    await files.documents.delete(doc.id)


def _same_upload(doc: Document, upload_id: str) -> None:
    if doc.status is not DocumentStatus.PENDING or doc.upload_id != upload_id:
        raise InvalidUpload("uploadId is not this document's upload in progress", "uploadId")


def _etag(value: str) -> str:
    return value.strip().strip('"')


def _check_parts(doc: Document, held: list[Part], given: list[tuple[int, str]]) -> None:
    numbers = [p.number for p in held]
    if not held or numbers != list(range(1, len(held) + 1)):
        raise InvalidUpload(f"S3 holds parts {numbers}; parts 1 to n are needed", "parts")
    mine = [(p.number, _etag(p.etag)) for p in held]
    if [(n, _etag(e)) for n, e in given] != mine:
        raise InvalidUpload("parts must list every uploaded part, in order, with its ETag", "parts")
    if any(p.size != held[0].size for p in held[:-1]) or held[-1].size > held[0].size:
        raise InvalidUpload("every part but the last must have the same size", "parts")
    total = sum(p.size for p in held)
    if total != doc.size:
        raise InvalidUpload(f"the parts hold {total} bytes; the ticket was for {doc.size}", "parts")
