"""A tenant's files: tickets out, confirmations in, metadata kept in Documents.

The flow: ``request_upload`` writes a PENDING document and hands out a
presigned POST for a key built here; the client uploads to S3; ``confirm``
HEADs the object, checks it against the ticket and makes the document
AVAILABLE (listed, counted on its customer). A client names a file by its key;
``find`` accepts only a key this server built for that customer of this
tenant, and finds it by the metadata, never by trusting the key's text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dal import ids
from dal.errors import InvalidUpload, NotFound, VersionConflict
from dal.models import Document, DocumentKind, DocumentStatus, Entity
from dal.records.documents import DocumentRepo
from dal.storage import names
from dal.storage.objects import Download, Head, Objects
from dal.storage.uploads import UploadLimits

# A PENDING document outlives its ticket by this much (a confirm may follow an
# upload that finished at the last moment), then DynamoDB's TTL removes it.
PENDING_GRACE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Upload:
    """A presigned POST for one new document."""

    document: Document
    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewFile:
    customer_id: str
    name: str
    content_type: str
    size: int
    activity_id: str | None
    uploader_id: str


class Files:
    def __init__(
        self,
        documents: DocumentRepo,
        objects: Objects,
        buckets: dict[DocumentKind, str],
        limits: UploadLimits,
    ) -> None:
        self.documents, self.objects, self.limits = documents, objects, limits
        self._buckets = buckets
        self.tenant = documents.scope.tenant_id

    def bucket(self, kind: DocumentKind) -> str:
        return self._buckets[kind]

    def pending(self, new: NewFile, now: datetime, seconds: int) -> Document:
        """The metadata of a file about to be uploaded, under a key built here."""
        kind = DocumentKind.ATTACHMENT if new.activity_id else DocumentKind.DOCUMENT
        doc_id = ids.new_id(Entity.DOCUMENT)
        key = names.ObjectKey(
            self.tenant, new.customer_id, kind, doc_id, names.normalised(new.name)
        )
        return Document(
            id=doc_id,
            customer_id=new.customer_id,
            kind=kind,
            key=str(key),
            name=new.name,
            size=new.size,
            content_type=new.content_type,
            uploader_id=new.uploader_id,
            activity_id=new.activity_id,
            expires_at=now + timedelta(seconds=seconds) + PENDING_GRACE,
            created_at=now,
            updated_at=now,
        )

    async def request_upload(self, new: NewFile, now: datetime) -> Upload:
        self.limits.check(new.name, new.content_type, new.size, multipart=False)
        seconds = self.limits.ticket_seconds
        doc = await self.documents.create(self.pending(new, now, seconds))
        bucket = self.bucket(doc.kind)
        ticket = await self.objects.post_ticket(
            bucket, doc.key, doc.content_type, doc.size, seconds
        )
        return Upload(doc, ticket.url, ticket.fields, now + timedelta(seconds=seconds))

    async def find(self, customer_id: str, key: str) -> Document:
        """The document ``key`` names, if it is ``customer_id``'s in this tenant; else
        NotFound (another tenant's prefix, another customer's key, an edited key)."""
        parsed = names.parse(key)
        if parsed is None or parsed.tenant != self.tenant or parsed.customer_id != customer_id:
            raise NotFound("document")
        doc = await self.documents.get(parsed.document_id)
        if doc is None or doc.key != key or doc.customer_id != customer_id:
            raise NotFound("document")
        return doc

    async def confirm(self, customer_id: str, key: str) -> Document:
        doc = await self.find(customer_id, key)
        if doc.status is DocumentStatus.AVAILABLE:
            return doc  # confirmed already (a retry, or the S3 event got here first)
        head = await self.objects.head(self.bucket(doc.kind), doc.key)
        if head is None and doc.upload_id is not None:
            raise InvalidUpload("a multipart upload is finished by completeMultipartUpload", "key")
        if head is None:
            raise InvalidUpload("nothing has been uploaded at this key yet", "key")
        # A multipart upload completed in S3 whose completion was not recorded is
        # confirmed here too (the S3 event of a completion lands here).
        return await self.available(doc, head)

    async def available(self, doc: Document, head: Head) -> Document:
        """Check the stored object against the ticket; then list it. An object that
        breaks its ticket is removed, so it can never be served."""
        problem = _mismatch(doc, head)
        if problem is not None:
            await self.objects.delete(self.bucket(doc.kind), doc.key, head.version_id)
            raise InvalidUpload(problem, "key")
        # Untagged first: a failure after it leaves a PENDING document to confirm
        # again, never a listed file that the lifecycle would expire.
        await self.objects.confirmed(self.bucket(doc.kind), doc.key, head.version_id)
        try:
            return await self.documents.update(doc.id, lambda d: _listed(d, head), doc.version)
        except VersionConflict:
            current = await self.documents.get(doc.id)  # a concurrent confirm won
            if current is not None and current.status is DocumentStatus.AVAILABLE:
                return current
            raise

    async def delete(self, customer_id: str, key: str) -> None:
        """The object first (its confirmed version tagged deleted, then a delete marker:
        the bytes stay as a noncurrent version for the stated retention), then the
        metadata: a failure in between leaves a listed file that a retry deletes,
        never an object nothing lists."""
        doc = await self.find(customer_id, key)
        bucket = self.bucket(doc.kind)
        if doc.upload_id is not None:
            await self.objects.abort(bucket, doc.key, doc.upload_id)
        if doc.status is DocumentStatus.AVAILABLE and doc.object_version:
            await self.objects.deleted(bucket, doc.key, doc.object_version)
        await self.objects.delete(bucket, doc.key)
        await self.documents.delete(doc.id)

    async def url(self, doc: Document) -> str:
        """A short-lived GET of the confirmed bytes, saved under the original name."""
        get = Download(doc.object_version, names.disposition(doc.name), doc.content_type)
        return await self.objects.download_url(
            self.bucket(doc.kind), doc.key, get, self.limits.download_seconds
        )


def _listed(doc: Document, head: Head) -> Document:
    return replace(
        doc,
        status=DocumentStatus.AVAILABLE,
        upload_id=None,
        expires_at=None,
        object_version=head.version_id,
        last_modified=head.last_modified,
    )


def _mismatch(doc: Document, head: Head) -> str | None:
    if head.size != doc.size:
        return f"the uploaded file has {head.size} bytes; the ticket was for {doc.size}"
    stored = (head.content_type or "").lower()
    if stored != doc.content_type:
        return f"the uploaded file is {stored or 'untyped'}; the ticket was for {doc.content_type}"
    return None
