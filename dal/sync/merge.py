"""What a stale edit from a device becomes: the conflict rules, as pure functions.

A device edited version ``base``; the server is at ``current``. The server's
changes since ``base`` are known field by field (``history.py``), each with
when it was made. For each field the device sent:

- the server did not change it since ``base`` (or holds the device's value
  already): the device's value applies;
- both changed it: OPTIMISTIC never gets here (any stale edit is a CONFLICT);
  AUTOMERGE keeps the server's value (what other users saw and acknowledged is
  not overwritten by an offline edit) and reports the field; LAST_WRITER_WINS
  applies the device's value if the device made its change after the server's
  last change of that field (``changedAt`` against the server's ``madeAt``),
  else keeps the server's and reports the field.

A stale delete: OPTIMISTIC and AUTOMERGE answer CONFLICT (the record changed
after the device decided; nothing to merge a delete with); LAST_WRITER_WINS
deletes if the device's delete is later than every server change since base.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dal.sync.history import Version


class Strategy(enum.StrEnum):
    OPTIMISTIC = "OPTIMISTIC"
    AUTOMERGE = "AUTOMERGE"
    LAST_WRITER_WINS = "LAST_WRITER_WINS"


@dataclass(frozen=True, slots=True)
class Merge:
    apply: dict[str, Any]  # the device's fields that win
    lost: tuple[str, ...]  # the device's fields the server's values beat


def last_changes(history: Sequence[Version]) -> dict[str, datetime]:
    """Field -> when the server's last change of it since base was made."""
    out: dict[str, datetime] = {}
    for version in history:
        for name in version.fields:
            out[name] = max(out.get(name, version.made_at), version.made_at)
    return out


def merge(
    strategy: Strategy,
    changes: dict[str, Any],
    server: dict[str, Any],
    history: Sequence[Version],
    made_at: datetime | None,
) -> Merge:
    changed = last_changes(history)
    apply: dict[str, Any] = {}
    lost: list[str] = []
    for name, value in changes.items():
        if _device_wins(strategy, name, value, server, changed, made_at):
            apply[name] = value
        else:
            lost.append(name)
    return Merge(apply, tuple(lost))


def _device_wins(
    strategy: Strategy,
    name: str,
    value: Any,
    server: dict[str, Any],
    changed: dict[str, datetime],
    made_at: datetime | None,
) -> bool:
    if name not in changed or server.get(name) == value:
        return True  # only the device changed it, or both to the same value
    return strategy is Strategy.LAST_WRITER_WINS and _later(made_at, changed[name])


def delete_wins(strategy: Strategy, history: Sequence[Version], made_at: datetime | None) -> bool:
    if strategy is not Strategy.LAST_WRITER_WINS or not history:
        return False
    return _later(made_at, max(v.made_at for v in history))


def _later(device: datetime | None, server: datetime) -> bool:
    # A device that says nothing of when it made the change does not win on time.
    return device is not None and device > server
