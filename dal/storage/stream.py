"""Job files written and read a piece at a time, so a file's size never sets a
worker's memory: a writer that sends S3 multipart parts as its buffer fills, and a
reader that yields an object's bytes in chunks (or its lines).

A file smaller than one part is one PutObject (as before: no upload to complete);
anything larger is a multipart upload of ``part_size`` parts (S3 wants every part
but the last to be at least 5 MiB), completed on a clean exit and aborted on an
error, so no half-written file ever appears under the key. An upload a killed
worker leaves behind is aborted by every bucket's lifecycle rule
(``lifecycle.ABORT_INCOMPLETE_DAYS``).
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dal.boto_errors import S3, translated
from dal.errors import NotFound, StoreUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

MIN_PART = 5 * 1024 * 1024  # S3's least size of a part that is not the last
READ_CHUNK = 1024 * 1024


class Writer:
    """``async with Writer(...) as out: await out.write(b"...")``: bytes in, parts out."""

    def __init__(
        self, client: S3Client, bucket: str, key: str, content_type: str, part_size: int = MIN_PART
    ) -> None:
        if part_size < MIN_PART:
            raise ValueError(f"S3 parts (but the last) are at least {MIN_PART} bytes")
        self._client, self.bucket, self.key = client, bucket, key
        self.content_type, self.part_size = content_type, part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []  # (number, ETag): a few per GB
        self.size = 0

    async def __aenter__(self) -> Writer:
        return self

    async def write(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.part_size:
            await self._send(bytes(self._buffer[: self.part_size]))
            del self._buffer[: self.part_size]

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            await self._abort()
            return
        if self._upload_id is None:  # it all fitted in one part: a plain put
            await self._put(bytes(self._buffer))
            return
        if self._buffer:
            await self._send(bytes(self._buffer))
        await self._complete()

    async def _put(self, body: bytes) -> None:
        async with translated(S3, "PutObject"):
            await self._client.put_object(
                Bucket=self.bucket, Key=self.key, Body=body, ContentType=self.content_type
            )

    async def _send(self, body: bytes) -> None:
        if self._upload_id is None:
            async with translated(S3, "CreateMultipartUpload"):
                out = await self._client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, ContentType=self.content_type
                )
            self._upload_id = str(out["UploadId"])
        number = len(self._parts) + 1
        async with translated(S3, "UploadPart"):
            sent = await self._client.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                PartNumber=number, Body=body,
            )  # fmt: skip
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def _complete(self) -> None:
        if self._upload_id is None:  # only called once a part has gone: a bug, not input
            raise RuntimeError("completing a multipart upload that was never started")
        done: Any = {"Parts": self._parts}
        async with translated(S3, "CompleteMultipartUpload"):
            await self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload=done
            )

    async def _abort(self) -> None:
        if self._upload_id is None:
            return
        # The error that stopped the writer is the one to report; an upload left
        # behind is aborted by the bucket's lifecycle rule.
        with contextlib.suppress(StoreUnavailable, NotFound):
            async with translated(S3, "AbortMultipartUpload"):
                await self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
                )


async def chunks(
    client: S3Client, bucket: str, key: str, version: str | None = None, size: int = READ_CHUNK
) -> AsyncIterator[bytes]:
    """An object's bytes, ``size`` at a time."""
    extra: Any = {"VersionId": version} if version and version != "null" else {}
    async with translated(S3, "GetObject"):
        out = await client.get_object(Bucket=bucket, Key=key, **extra)
        body = out["Body"]
        try:
            while piece := await body.read(size):
                yield piece
        finally:
            body.close()


async def lines(client: S3Client, bucket: str, key: str) -> AsyncIterator[bytes]:
    """An object's lines (without their ends), one at a time."""
    rest = b""
    async for piece in chunks(client, bucket, key):
        rest += piece
        *whole, rest = rest.split(b"\n")
        for line in whole:
            yield line
    if rest:
        yield rest


async def texts(
    client: S3Client, bucket: str, key: str, version: str | None = None
) -> AsyncIterator[str]:
    """An object's UTF-8 text in chunks (a character split between two reads is
    whole in the next chunk; undecodable bytes become U+FFFD)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    async for piece in chunks(client, bucket, key, version):
        yield decoder.decode(piece)
    yield decoder.decode(b"", final=True)
