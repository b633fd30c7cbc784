"""Opaque pagination cursors: an index position, signed and bound to the whole query.

A cursor is ``base64url(json).base64url(hmac)``. The HMAC covers the tenant, the
index name and the query's fingerprint (partition, sort condition, filter,
direction: ``pages.Listing``) as well as the body, so a cursor edited by hand,
minted for another tenant, or taken from another list or another filter fails
to open (DynamoDB refuses a start key outside the key condition with an error;
we refuse it first, as the client's mistake it is).

The body holds the position and, for a list whose window is relative to "now"
(upcoming, overdue), the "now" of its first page: later pages keep that window,
however much later they are asked for. The pinned "now" is part of the
fingerprint, so it cannot be edited either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from dal.errors import InvalidCursor

MAX_CURSOR_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Cursor:
    position: dict[str, str]
    now: str | None = None  # the pinned "now" of a window relative to it


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, tenant: str, index: str, bound: str, body: bytes) -> bytes:
        message = b"\x00".join((tenant.encode(), index.encode(), bound.encode(), body))
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:18]

    def encode(
        self,
        tenant: str,
        index: str,
        position: dict[str, str],
        *,
        bound: str = "",
        now: str | None = None,
    ) -> str:
        content: dict[str, object] = {"at": position} | ({"now": now} if now else {})
        body = json.dumps(content, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(body)}.{_b64(self._sign(tenant, index, bound, body))}"

    def decode(self, tenant: str, index: str, cursor: str, *, bound: str = "") -> Cursor:
        """The position inside ``cursor``, or :class:`InvalidCursor`."""
        body, mac = _split(cursor)
        if not hmac.compare_digest(mac, self._sign(tenant, index, bound, body)):
            raise InvalidCursor("cursor is not valid for this list")
        return _content(body)

    @staticmethod
    def pinned_now(cursor: str | None) -> str | None:
        """The "now" a cursor carries, unverified: the caller rebuilds the query with
        it, and ``decode`` then checks that query's fingerprint against the HMAC."""
        if cursor is None:
            return None
        try:
            return _content(_split(cursor)[0]).now
        except InvalidCursor:
            return None


def _split(cursor: str) -> tuple[bytes, bytes]:
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise InvalidCursor("malformed cursor")
    body_text, mac_text = cursor.split(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    # base64 decoding is lenient (padding bits, +/- alphabets): only the one
    # canonical spelling of a cursor opens it.
    if _b64(body) != body_text or _b64(mac) != mac_text:
        raise InvalidCursor("cursor is not valid for this list")
    return body, mac


def _content(body: bytes) -> Cursor:
    try:
        content: Any = json.loads(body)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc
    position = content.get("at") if isinstance(content, dict) else None
    now = content.get("now") if isinstance(content, dict) else None
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise InvalidCursor("malformed cursor")
    if now is not None and not isinstance(now, str):
        raise InvalidCursor("malformed cursor")
    return Cursor({str(k): v for k, v in position.items()}, now)
