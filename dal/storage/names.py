"""Object keys: the one place that spells them, always from server-side values.

``{tenant}/customers/{customerId}/{documents|attachments}/{documentId}/{fileName}``:
the tenant first, so an IAM policy or a lifecycle rule can name one tenant's
objects by prefix; the document id before the file name, so two uploads of
"report.pdf" never meet and a key names exactly one metadata item. The file
name in the key is a normalised copy (the original is kept in metadata and
given back in ``Content-Disposition``): no separators, no control characters,
no leading dots, at most ``NAME_BYTES`` bytes of UTF-8, the extension kept, and
none of ``$ { }`` (see ``_UNSAFE``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from dal.models import DocumentKind

NAME_BYTES = 120  # of the key's file-name segment (S3 allows 1,024 for the whole key)
ORIGINAL_MAX = 255  # characters of the original name, as file systems allow
# Separators, characters Windows refuses in names, whatever is not printable, and
# ``$ { }``: a key ending in ``${filename}`` turns boto's exact key condition into a
# starts-with one, which would let a ticket store any name under its prefix.
_UNSAFE = re.compile(r'[\\/:*?"<>|${}\x00-\x1f\x7f-\x9f]')
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"(\.[A-Za-z0-9]{1,10})$")


@dataclass(frozen=True, slots=True)
class ObjectKey:
    tenant: str
    customer_id: str
    kind: DocumentKind
    document_id: str
    file_name: str

    def __str__(self) -> str:
        return "/".join(
            (
                self.tenant,
                "customers",
                self.customer_id,
                self.kind.value,
                self.document_id,
                self.file_name,
            )
        )


def normalised(name: str) -> str:
    """A file name safe in a key and a URL path: what a browser could have sent, made tame."""
    base = re.split(r"[\\/]", name)[-1]  # "C:\\x\\a.pdf" and "../../a.pdf" keep "a.pdf"
    clean = _SPACES.sub(" ", _UNSAFE.sub("_", unicodedata.normalize("NFC", base))).strip()
    clean = clean.lstrip(".").strip() or "file"
    return _shortened(clean)


def _shortened(name: str) -> str:
    if len(name.encode()) <= NAME_BYTES:
        return name
    found = _EXTENSION.search(name)
    extension = found.group(1) if found else ""
    stem = name[: len(name) - len(extension)]
    while len((stem + extension).encode()) > NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip() + extension


def parse(key: str) -> ObjectKey | None:
    """The parts of a key this server could have built; None for anything else."""
    parts = key.split("/")
    if len(parts) != 6 or parts[1] != "customers":
        return None
    tenant, _, customer_id, kind, document_id, file_name = parts
    if kind not in {k.value for k in DocumentKind} or not all(parts):
        return None
    return ObjectKey(tenant, customer_id, DocumentKind(kind), document_id, file_name)


def disposition(original: str) -> str:
    """``Content-Disposition`` for a download under its original name (RFC 6266):
    an ASCII fallback for old clients, the exact name in ``filename*``."""
    fallback = unicodedata.normalize("NFKD", normalised(original)).encode("ascii", "ignore")
    ascii_name = fallback.decode().replace('"', "_").replace("\\", "_") or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(original, safe='')}"
