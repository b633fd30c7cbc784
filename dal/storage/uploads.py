"""What an upload may be: the limits of settings, checked before any ticket is made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from dal.errors import InvalidUpload
from dal.storage.names import ORIGINAL_MAX

MAX_PARTS = 10_000  # S3's limit per multipart upload


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int
    multipart_threshold: int
    part_bytes: int
    ticket_seconds: int
    multipart_seconds: int
    download_seconds: int
    content_types: frozenset[str]

    def check(self, name: str, content_type: str, size: int, *, multipart: bool) -> None:
        """InvalidUpload, naming the argument, unless a ticket may be made for this file."""
        _check_name(name)
        if content_type not in self.content_types:
            allowed = ", ".join(sorted(self.content_types))
            raise InvalidUpload(
                f"contentType {content_type!r} is not allowed ({allowed})", "contentType"
            )
        if size < 1 or size > self.max_bytes:
            raise InvalidUpload(f"size must be 1 to {self.max_bytes} bytes", "size")
        if multipart and size <= self.multipart_threshold:
            raise InvalidUpload(
                f"files up to {self.multipart_threshold} bytes use requestDocumentUpload", "size"
            )
        if not multipart and size > self.multipart_threshold:
            raise InvalidUpload(
                f"files over {self.multipart_threshold} bytes use startMultipartUpload", "size"
            )

    def part_size(self, size: int) -> int:
        """The configured part size, or larger where the file needs more than 10,000 parts."""
        return max(self.part_bytes, math.ceil(size / MAX_PARTS))


def _check_name(name: str) -> None:
    if not name.strip():
        raise InvalidUpload("fileName must not be empty", "fileName")
    if len(name) > ORIGINAL_MAX:
        raise InvalidUpload(f"fileName is longer than {ORIGINAL_MAX} characters", "fileName")
    if not name.isprintable():
        raise InvalidUpload("fileName must not hold control characters", "fileName")


def parts_of(size: int, part_size: int) -> int:
    return math.ceil(size / part_size)
