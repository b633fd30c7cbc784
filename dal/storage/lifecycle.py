"""What each bucket keeps and for how long: the lifecycle rules ``zebros init`` applies.

Every bucket aborts multipart uploads left incomplete for a week (their parts
are billed until then). Objects clients upload carry a state tag:

- ``pending`` from the upload (the ticket's policy demands it) until a
  confirmation removes it from the version it confirms. Still pending after
  ``UNCONFIRMED_DAYS``, an object was never confirmed (or it is a later upload
  with the same ticket) and expires; its noncurrent versions go a day later.
- ``deleted`` on the confirmed version when the API deletes a file: it stays
  recoverable as a noncurrent version for ``noncurrent_days``, then expires.

A confirmed version that a later upload pushed down to noncurrent carries
neither tag and is kept: the document still names it, so it must not expire.
A plain "noncurrent versions expire" rule would lose such a file.
"""

from __future__ import annotations

from typing import Any

ABORT_INCOMPLETE_DAYS = 7
# A ticket's document may be confirmed up to a day after the ticket expired.
UNCONFIRMED_DAYS = 3
STATE = "zebros-state"
PENDING, DELETED = "pending", "deleted"
VERSIONED = frozenset({"documents", "attachments", "backups"})
CONFIRMED = frozenset({"documents", "attachments"})  # uploads wait for a confirmation


def _rule(rule_id: str, filter: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Filter": filter or {"Prefix": ""}, "Status": "Enabled", **body}


def _tagged(value: str) -> dict[str, Any]:
    return {"Tag": {"Key": STATE, "Value": value}}


def _transitions(*steps: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"Days": days, "StorageClass": storage_class} for days, storage_class in steps]


# Imports/exports to Standard-IA after 30 days; reports after 60, Glacier after a
# year; files read at no known rhythm (documents, attachments, backups) tier themselves.
TIERS: dict[str, list[dict[str, Any]]] = {
    "documents": _transitions((0, "INTELLIGENT_TIERING")),
    "attachments": _transitions((0, "INTELLIGENT_TIERING")),
    "imports-exports": _transitions((30, "STANDARD_IA")),
    "reports": _transitions((60, "STANDARD_IA"), (365, "GLACIER")),
    "backups": _transitions((0, "INTELLIGENT_TIERING")),
}


# Retention by data category (README "Data categories and retention"): uploaded
# import files, exports and job files are system work, kept as the system logs
# (90 days); generated reports are business records (7 years); backups hold
# copies of everything, erased data included, so they go soon (35 days, as
# PITR's longest window) and an erasure is complete everywhere within that.
EXPIRES_DAYS: dict[str, int] = {"imports-exports": 90, "reports": 7 * 366, "backups": 35}


def rules(purpose: str, noncurrent_days: int) -> list[dict[str, Any]]:
    abort = {"DaysAfterInitiation": ABORT_INCOMPLETE_DAYS}
    out = [_rule("abort-incomplete-multipart", AbortIncompleteMultipartUpload=abort)]
    if purpose in TIERS:
        out.append(_rule(f"{purpose}-tiers", Transitions=TIERS[purpose]))
    if purpose in EXPIRES_DAYS:
        out.append(_rule(f"{purpose}-retention", Expiration={"Days": EXPIRES_DAYS[purpose]}))
    if purpose in CONFIRMED:
        out += _confirmed_files(noncurrent_days)
    elif purpose in VERSIONED:
        kept = {"NoncurrentDays": noncurrent_days}
        out.append(_rule("expire-noncurrent", NoncurrentVersionExpiration=kept))
    if purpose in VERSIONED:
        markers = {"ExpiredObjectDeleteMarker": True}
        out.append(_rule("clear-delete-markers", Expiration=markers))
    return out


def _confirmed_files(noncurrent_days: int) -> list[dict[str, Any]]:
    return [
        _rule(
            "expire-unconfirmed",
            _tagged(PENDING),
            Expiration={"Days": UNCONFIRMED_DAYS},
            NoncurrentVersionExpiration={"NoncurrentDays": 1},
        ),
        _rule(
            "expire-deleted",
            _tagged(DELETED),
            NoncurrentVersionExpiration={"NoncurrentDays": noncurrent_days},
        ),
    ]
