"""Opaque pagination cursors: the index position, signed and bound to tenant and index.

A cursor is ``base64url(json).base64url(hmac)``. The HMAC covers the tenant and
the index name as well as the position, so a cursor edited by hand, minted for
another tenant, or taken from another list fails to open. The position's
partition value must also equal the partition being listed, so a cursor from
one customer's contacts cannot page through another customer's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from dal.errors import InvalidCursor

MAX_CURSOR_LENGTH = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, tenant: str, index: str, body: bytes) -> bytes:
        message = b"\x00".join((tenant.encode(), index.encode(), body))
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:18]

    def encode(self, tenant: str, index: str, position: dict[str, str]) -> str:
        body = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(body)}.{_b64(self._sign(tenant, index, body))}"

    def decode(self, tenant: str, index: str, cursor: str) -> dict[str, str]:
        """The position inside ``cursor``, or :class:`InvalidCursor`."""
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
        if not hmac.compare_digest(mac, self._sign(tenant, index, body)):
            raise InvalidCursor("cursor is not valid for this list")
        position: Any = json.loads(body)
        if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
            raise InvalidCursor("malformed cursor")
        return {str(k): v for k, v in position.items()}
