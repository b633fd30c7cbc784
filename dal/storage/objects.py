"""S3 objects: presigned tickets, HEAD, multipart and deletes, on one shared client.

Every ``ClientError`` is translated here into ``dal.errors``. The API never
carries file bodies: clients upload and download with the URLs made here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dal.boto_errors import S3, translated
from dal.errors import NotFound
from dal.storage.lifecycle import DELETED, PENDING, STATE

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

SIGNED_KEPT = 10_000  # download URLs kept per process for reuse
# Every upload is tagged pending until its confirmation (lifecycle.py says why).
PENDING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{STATE}</Key><Value>{PENDING}</Value></Tag></TagSet></Tagging>"
)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A presigned POST: where to send the form, and the fields to send before the file."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Head:
    size: int
    content_type: str | None
    version_id: str | None
    last_modified: datetime | None


@dataclass(frozen=True, slots=True)
class Download:
    """What a presigned GET serves: which version, under which name and type."""

    version: str | None
    disposition: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    size: int


class Objects:
    def __init__(self, client: S3Client) -> None:
        self._client = client
        # (bucket, key, what, seconds) -> (url, signed at): URLs reused while fresh.
        self._signed: dict[tuple[str, str, Download, int], tuple[str, float]] = {}

    async def post_ticket(
        self, bucket: str, key: str, content_type: str, size: int, seconds: int
    ) -> Ticket:
        """A browser form upload whose policy pins the key (boto adds that condition),
        the content type, the exact length and the pending tag; S3 refuses any other
        upload with it."""
        conditions: list[Any] = [
            {"Content-Type": content_type},
            {"tagging": PENDING_TAGGING},
            ["content-length-range", size, size],
        ]
        async with translated(S3, "PresignPost"):
            made = await self._client.generate_presigned_post(
                bucket,
                key,
                Fields={"Content-Type": content_type, "tagging": PENDING_TAGGING},
                Conditions=conditions,
                ExpiresIn=seconds,
            )
        return Ticket(str(made["url"]), {k: str(v) for k, v in made["fields"].items()})

    async def head(self, bucket: str, key: str) -> Head | None:
        try:
            async with translated(S3, "HeadObject"):
                out = await self._client.head_object(Bucket=bucket, Key=key)
        except NotFound:
            return None
        return Head(
            int(out.get("ContentLength", 0)),
            out.get("ContentType"),
            out.get("VersionId"),
            out.get("LastModified"),
        )

    async def download_url(self, bucket: str, key: str, get: Download, seconds: int) -> str:
        """A presigned GET with at least half of ``seconds`` left: signing costs about
        0.4 ms (botocore), and a polled list of files would sign each on every poll."""
        now, wanted = time.monotonic(), (bucket, key, get, seconds)
        kept = self._signed.get(wanted)
        if kept is not None and now - kept[1] < seconds / 2:
            return kept[0]
        url = await self._sign_get(bucket, key, get, seconds)
        if len(self._signed) >= SIGNED_KEPT:
            self._signed.pop(next(iter(self._signed)))  # the oldest entry
        self._signed[wanted] = (url, now)
        return url

    async def _sign_get(self, bucket: str, key: str, get: Download, seconds: int) -> str:
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": get.disposition,
            "ResponseContentType": get.content_type,
            # The version confirmed: a ticket used again later cannot swap the bytes.
            **_version(get.version),
        }
        async with translated(S3, "PresignGet"):
            url = await self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=seconds
            )
        return str(url)

    async def confirmed(self, bucket: str, key: str, version: str | None) -> None:
        """The pending tag off the confirmed version: the lifecycle keeps it from now on."""
        async with translated(S3, "DeleteObjectTagging"):
            await self._client.delete_object_tagging(Bucket=bucket, Key=key, **_version(version))

    async def deleted(self, bucket: str, key: str, version: str | None) -> None:
        """Tag the confirmed version deleted: it expires once noncurrent for the retention."""
        tags: Any = {"TagSet": [{"Key": STATE, "Value": DELETED}]}
        async with translated(S3, "PutObjectTagging"):
            await self._client.put_object_tagging(
                Bucket=bucket, Key=key, Tagging=tags, **_version(version)
            )

    async def start_multipart(self, bucket: str, key: str, content_type: str) -> str:
        async with translated(S3, "CreateMultipartUpload"):
            out = await self._client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type, Tagging=f"{STATE}={PENDING}"
            )
        return str(out["UploadId"])

    async def part_urls(
        self, bucket: str, key: str, upload_id: str, count: int, seconds: int
    ) -> list[str]:
        urls = []
        for number in range(1, count + 1):
            params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}
            async with translated(S3, "PresignUploadPart"):
                url = await self._client.generate_presigned_url(
                    "upload_part", Params=params, ExpiresIn=seconds
                )
            urls.append(str(url))
        return urls

    async def parts(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """What S3 holds of a multipart upload: every part, with its ETag and size."""
        found: list[Part] = []
        async with translated(S3, "ListParts"):
            pages = self._client.get_paginator("list_parts")
            async for page in pages.paginate(Bucket=bucket, Key=key, UploadId=upload_id):
                found += [
                    Part(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                    for p in page.get("Parts", [])
                ]
        return found

    async def complete(self, bucket: str, key: str, upload_id: str, parts: list[Part]) -> None:
        done: Any = {"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]}
        async with translated(S3, "CompleteMultipartUpload"):
            await self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=done
            )

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            async with translated(S3, "AbortMultipartUpload"):
                await self._client.abort_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id
                )
        except NotFound:
            return  # aborted or completed already: nothing left to abort

    async def delete(self, bucket: str, key: str, version: str | None = None) -> None:
        """Delete the current object (a delete marker on a versioned bucket: the bytes
        stay as a noncurrent version), or, given ``version``, that version for good."""
        async with translated(S3, "DeleteObject"):
            await self._client.delete_object(Bucket=bucket, Key=key, **_version(version))


class Blobs:
    """Whole objects the server writes and reads itself (job files, template bodies,
    backups): put, get, list and delete by prefix, and a presigned GET."""

    def __init__(self, client: S3Client, objects: Objects) -> None:
        self._client, self.objects = client, objects

    @property
    def client(self) -> S3Client:
        """For ``stream``: files written and read a part at a time."""
        return self._client

    async def put(self, bucket: str, key: str, body: bytes, content_type: str) -> str | None:
        """Store ``body``; the version S3 gave it (None on an unversioned bucket)."""
        async with translated(S3, "PutObject"):
            out = await self._client.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type
            )
        return out.get("VersionId")

    async def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        async with translated(S3, "GetObject"):
            out = await self._client.get_object(Bucket=bucket, Key=key, **_version(version))
            async with out["Body"] as stream:
                return await stream.read()

    async def copy(self, bucket: str, key: str, version: str | None, to: str) -> str | None:
        """A server-side copy of ``key`` (that version) to ``to``; the copy's version."""
        source: Any = {"Bucket": bucket, "Key": key, **_version(version)}
        async with translated(S3, "CopyObject"):
            out = await self._client.copy_object(Bucket=bucket, Key=to, CopySource=source)
        return out.get("VersionId")

    async def keys(self, bucket: str, prefix: str) -> list[str]:
        found: list[str] = []
        async with translated(S3, "ListObjectsV2"):
            pages = self._client.get_paginator("list_objects_v2")
            async for page in pages.paginate(Bucket=bucket, Prefix=prefix):
                found += [str(o["Key"]) for o in page.get("Contents", [])]
        return sorted(found)

    async def versions(self, bucket: str, prefix: str) -> list[tuple[str, str, bool]]:
        """Every version and delete marker under ``prefix`` (one key's: a few)."""
        return [v async for page in self.version_pages(bucket, prefix) for v in page]

    async def version_pages(
        self, bucket: str, prefix: str
    ) -> AsyncIterator[list[tuple[str, str, bool]]]:
        """The versions and delete markers under ``prefix``, a listing page (up to
        1,000) at a time: (key, version id, whether it is a marker); the version is
        "null" on an unversioned bucket."""
        async with translated(S3, "ListObjectVersions"):
            pages = self._client.get_paginator("list_object_versions")
            async for page in pages.paginate(Bucket=bucket, Prefix=prefix):
                found: list[tuple[str, str, bool]] = []
                for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
                    for v in page.get(kind, []):  # type: ignore[attr-defined]
                        found.append((str(v["Key"]), str(v.get("VersionId") or "null"), marker))
                yield found

    async def purge(self, bucket: str, key: str) -> int:
        """Delete ``key`` in every version (and its delete markers) for good; how many."""
        gone = [v for k, v, _ in await self.versions(bucket, key) if k == key]
        for version in gone:
            async with translated(S3, "DeleteObject"):
                await self._client.delete_object(Bucket=bucket, Key=key, **_version(version))
        return len(gone)

    async def url(self, bucket: str, key: str, name: str, content_type: str, seconds: int) -> str:
        get = Download(None, f'attachment; filename="{name}"', content_type)
        return await self.objects.download_url(bucket, key, get, seconds)


def _version(version: str | None) -> Any:
    """The VersionId argument, when there is one ("null": an unversioned bucket's)."""
    return {"VersionId": version} if version and version != "null" else {}
