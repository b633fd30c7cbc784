"""Documents: the metadata of files kept in S3, one item per file.

A file is listed (and counted on its customer) only once AVAILABLE: the list
index keys and the customer reference follow the status, so a PENDING upload
is in no list and blocks no delete, and confirming it is the update that adds
both, conditioned on the customer still existing. Listing is one Query of a
sparse index per customer or activity, never a ListObjectsV2.
"""

from __future__ import annotations

from collections.abc import Mapping

from dal.dynamodb.tables import DOCUMENTS
from dal.models import Document, DocumentKind, DocumentStatus, Entity
from dal.records.codec import Codec, choice, moment, number, text
from dal.records.refs import Ref
from dal.records.repo import Repo
from dal.tenancy.scope import TenantScope
from dal.timefmt import dump_dt

LIST_READ = 1000  # items one Query call of a listing asks for (DynamoDB stops at 1 MB)


def _index_keys(scope: TenantScope, d: Document) -> Mapping[str, str | int | None]:
    listed = d.status is DocumentStatus.AVAILABLE
    expires = None if d.expires_at is None or listed else int(d.expires_at.timestamp())
    return {
        "customerKey": scope.key(d.customer_id) if listed else None,
        "tenantKey": scope.key("all") if listed else None,
        "activityKey": scope.key(d.activity_id) if listed and d.activity_id else None,
        "createdKey": f"{dump_dt(d.created_at)}#{d.id}",
        DOCUMENTS.ttl or "expiresAt": expires,
    }


def _refs(d: Document) -> list[Ref]:
    # Counted on the customer while AVAILABLE: a customer with files cannot be deleted.
    if d.status is DocumentStatus.AVAILABLE:
        return [Ref(Entity.CUSTOMER, d.customer_id, "customerId")]
    return []


CODEC = Codec(
    Document,
    DOCUMENTS,
    (
        text("customerId", "customer_id"),
        choice("kind", "kind", DocumentKind),
        text("key", "key"),
        text("name", "name"),
        number("size", "size"),
        text("contentType", "content_type"),
        text("uploaderId", "uploader_id"),
        choice("status", "status", DocumentStatus),
        text("activityId", "activity_id"),
        text("uploadId", "upload_id"),
        moment("ticketExpiresAt", "expires_at"),
        text("objectVersion", "object_version"),
        moment("lastModified", "last_modified"),
    ),
    _index_keys,
    _refs,
    # A device hears of a file once it is there to download, not of a ticket.
    logged=lambda d: d.status is DocumentStatus.AVAILABLE,
)


class DocumentRepo(Repo[Document]):
    async def of_customer(self, customer_id: str) -> list[Document]:
        """Every AVAILABLE file of a customer, newest first (all pages)."""
        return await self._all("byCustomer", self.scope.key(customer_id))

    async def of_activity(self, activity_id: str) -> list[Document]:
        return await self._all("byActivity", self.scope.key(activity_id))

    async def _all(self, index: str, partition: str) -> list[Document]:
        pk = DOCUMENTS.index(index).pk
        pages = self.dynamo.pages(
            self.table_name, index, (pk, partition), page=LIST_READ, forward=False
        )
        return [d async for items in pages for d in map(self._load, items) if d is not None]
