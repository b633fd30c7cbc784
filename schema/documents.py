"""Files: documents and attachments, and the tickets that upload them.

The API never carries a file's bytes: a ``Document`` gives a short-lived
presigned GET (``url``, made per request, never cached), an ``UploadTicket``
a presigned POST, a ``MultipartUpload`` one presigned PUT per part.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from dal import models
from dal.storage.files import Upload
from dal.storage.multipart import Multipart
from resolvers import documents
from resolvers.context import Info
from schema.cost import ListSize
from schema.enums import DocumentStatus
from schema.wrapping import wrap


@strawberry.type
class Document:
    id: strawberry.ID
    key: str
    name: str  # the original file name
    size: int
    content_type: str | None
    last_modified: datetime | None
    status: DocumentStatus
    record: strawberry.Private[models.Document]

    @classmethod
    def of(cls, r: models.Document) -> Document:
        return wrap(cls, r)

    @strawberry.field
    async def url(self, info: Info) -> str:
        """A presigned GET, valid for minutes (README "Documents")."""
        return await documents.download_url(info, self.record)


@strawberry.type
class UploadTicket:
    key: str
    url: str
    fields: JSON = strawberry.field(description="Form fields to POST before the file.")
    expires_at: datetime

    @classmethod
    def of(cls, upload: Upload) -> UploadTicket:
        return cls(
            key=upload.document.key,
            url=upload.url,
            fields=cast(JSON, dict(upload.fields)),
            expires_at=upload.expires_at,
        )


@strawberry.type
class UploadPart:
    part_number: int
    url: str


@strawberry.type
class MultipartUpload:
    key: str
    upload_id: str
    part_size: int
    # 1 GiB in 16 MiB parts (the defaults) is 64 of them.
    parts: list[UploadPart] = strawberry.field(
        description="A presigned PUT per part.", directives=[ListSize(assumed_size=100)]
    )
    expires_at: datetime

    @classmethod
    def of(cls, started: Multipart) -> MultipartUpload:
        parts = [UploadPart(part_number=n, url=u) for n, u in enumerate(started.part_urls, 1)]
        return cls(
            key=started.document.key,
            upload_id=started.upload_id,
            part_size=started.part_size,
            parts=parts,
            expires_at=started.expires_at,
        )


@strawberry.input
class CompletedPart:
    part_number: int
    etag: str


def documents_of(found: list[models.Document]) -> list[Document]:
    return [Document.of(d) for d in found]
