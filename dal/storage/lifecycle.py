"""What each bucket keeps and for how long: the lifecycle rules ``zebros init`` applies.

Every bucket aborts multipart uploads left incomplete for a week (their parts
are billed until then). Versioned buckets keep a deleted or overwritten
object as a noncurrent version for ``noncurrent_days`` (README "Documents"),
then S3 expires it, and clears delete markers left with nothing behind them.
"""

from __future__ import annotations

from typing import Any

ABORT_INCOMPLETE_DAYS = 7
VERSIONED = frozenset({"documents", "attachments", "backups"})


def _rule(rule_id: str, **body: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Filter": {"Prefix": ""}, "Status": "Enabled", **body}


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


def rules(purpose: str, noncurrent_days: int) -> list[dict[str, Any]]:
    out = [
        _rule(
            "abort-incomplete-multipart",
            AbortIncompleteMultipartUpload={"DaysAfterInitiation": ABORT_INCOMPLETE_DAYS},
        )
    ]
    if purpose in TIERS:
        out.append(_rule(f"{purpose}-tiers", Transitions=TIERS[purpose]))
    if purpose in VERSIONED:
        out.append(
            _rule(
                "expire-noncurrent",
                NoncurrentVersionExpiration={"NoncurrentDays": noncurrent_days},
                Expiration={"ExpiredObjectDeleteMarker": True},
            )
        )
    return out
