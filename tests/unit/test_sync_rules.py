"""Sync cursors and conflict rules, without a store."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from dal.errors import InvalidCursor, ResyncRequired
from dal.models import Entity
from dal.records.cursors import CursorCodec
from dal.sync import cursor
from dal.sync.changes import Op
from dal.sync.cursor import SyncCursor
from dal.sync.history import Version
from dal.sync.merge import Strategy, delete_wins, merge
from dal.sync.sequence import SHARDS

CODEC = CursorCodec(b"k" * 32)
EARLY, LATE = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
SERVER_TIER = [Version(2, Op.UPSERT, ("tier",), datetime(2026, 3, 1, tzinfo=UTC))]


def _issued(age_s: float, entities: tuple[Entity, ...] = ()) -> str:
    at = SyncCursor((3,) * SHARDS, entities, issued=time.time() - age_s)
    return cursor.encode(CODEC, "t1", at)


def test_a_cursor_older_than_the_retention_answers_resync_required() -> None:
    assert cursor.decode(CODEC, "t1", _issued(10), (), 60).positions == (3,) * SHARDS
    with pytest.raises(ResyncRequired):
        cursor.decode(CODEC, "t1", _issued(61), (), 60)


def test_a_cursor_opens_only_for_its_tenant_and_filter() -> None:
    text = _issued(0, (Entity.CUSTOMER,))
    with pytest.raises(InvalidCursor):
        cursor.decode(CODEC, "t2", text, (Entity.CUSTOMER,), 60)
    with pytest.raises(InvalidCursor):
        cursor.decode(CODEC, "t1", text, (), 60)


def test_automerge_keeps_the_server_field_both_changed() -> None:
    done = merge(
        Strategy.AUTOMERGE,
        {"tier": "FREE", "industry": "x"},
        {"tier": "PREMIUM"},
        SERVER_TIER,
        LATE,
    )
    assert (done.apply, done.lost) == ({"industry": "x"}, ("tier",))


def test_the_same_value_on_both_sides_is_no_conflict() -> None:
    done = merge(Strategy.AUTOMERGE, {"tier": "PREMIUM"}, {"tier": "PREMIUM"}, SERVER_TIER, None)
    assert (done.apply, done.lost) == ({"tier": "PREMIUM"}, ())


def test_last_writer_wins_goes_by_when_each_side_made_its_change() -> None:
    later = merge(
        Strategy.LAST_WRITER_WINS, {"tier": "FREE"}, {"tier": "PREMIUM"}, SERVER_TIER, LATE
    )
    earlier = merge(
        Strategy.LAST_WRITER_WINS, {"tier": "FREE"}, {"tier": "PREMIUM"}, SERVER_TIER, EARLY
    )
    undated = merge(
        Strategy.LAST_WRITER_WINS, {"tier": "FREE"}, {"tier": "PREMIUM"}, SERVER_TIER, None
    )
    assert (later.lost, earlier.lost, undated.lost) == ((), ("tier",), ("tier",))
    assert delete_wins(Strategy.LAST_WRITER_WINS, SERVER_TIER, LATE)
    assert not delete_wins(Strategy.AUTOMERGE, SERVER_TIER, LATE)
