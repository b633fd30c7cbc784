"""Cached values: pickled, and sealed with an HMAC so Redis can never feed us code.

Cached values are our own dataclasses (DAL records, report figures, GraphQL
objects of plain fields); pickle keeps them exact (Decimal, datetime, enums)
with no per-type codec. Unpickling runs code, so a value is only opened when
its HMAC (a key Redis never sees) verifies: whoever can write to Redis can
make us miss, not execute. A value that does not verify or load is a miss, and
one that cannot be pickled (nested past the recursion limit) is not cached: the
cache may cost a read, never make a readable record unreadable.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from typing import Any

MAC_BYTES = 16


class Sealer:
    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"zebros-cache-v1", hashlib.sha256).digest()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:MAC_BYTES]

    def seal(self, value: Any) -> bytes | None:
        """The sealed bytes, or ``None`` for a value pickle cannot take."""
        try:
            body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # RecursionError, PicklingError, TypeError: not cacheable
            return None
        return self._mac(body) + body

    def open(self, sealed: bytes) -> tuple[bool, Any]:
        """``(True, value)``, or ``(False, None)`` for a value that is not ours."""
        mac, body = sealed[:MAC_BYTES], sealed[MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return False, None
        try:
            return True, pickle.loads(body)  # sealed above: our own bytes
        except Exception:  # a value of an older release: a miss, never an error
            return False, None
