"""Boto's errors, translated into ``dal.errors`` at the one place calls are made.

Nothing above the DAL sees boto's exceptions. Each service says what its error
codes mean as data (a table of code -> error maker, below); any
other code, and every ``BotoCoreError`` (no answer, a timeout), is the store
being unavailable. The original is always chained (``from exc``) for the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dal.dynamodb.items import deserialize
from dal.errors import (
    ConditionFailed,
    DalError,
    InvalidRequest,
    InvalidUpload,
    NotFound,
    StoreUnavailable,
    Throttled,
    TransactionCancelled,
)

# What one code means: (operation, the ClientError) -> the DAL's error.
Maker = Callable[[str, ClientError], DalError]
Codes = Mapping[str, Maker]


def code_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def unavailable(operation: str, exc: ClientError) -> DalError:
    return StoreUnavailable(f"{operation}: {code_of(exc)}")


@asynccontextmanager
async def translated(codes: Codes, operation: str) -> AsyncIterator[None]:
    """Map the boto errors of one call (``operation`` names it in messages)."""
    try:
        yield
    except ClientError as exc:
        raise codes.get(code_of(exc), unavailable)(operation, exc) from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"{operation}: {exc}") from exc


# DynamoDB
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


def _condition_failed(operation: str, exc: ClientError) -> DalError:
    raw: Any = exc.response.get("Item")
    return ConditionFailed(deserialize(raw) if raw else None)


def _cancelled(operation: str, exc: ClientError) -> DalError:
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    codes = [str(r.get("Code", "None")) for r in reasons]
    items = [deserialize(r["Item"]) if r.get("Item") else None for r in reasons]
    return TransactionCancelled(codes, items)


def _throttled(operation: str, exc: ClientError) -> DalError:
    return Throttled(f"{operation}: {code_of(exc)}")


# What DynamoDB's error codes mean to the DAL (any other: StoreUnavailable).
DYNAMODB: Codes = {
    "ConditionalCheckFailedException": _condition_failed,
    "TransactionConflictException": lambda _, __: TransactionCancelled(
        ["TransactionConflict"], [None]
    ),
    "TransactionCanceledException": _cancelled,
    **dict.fromkeys(_THROTTLED, _throttled),
    # Our request was malformed: no retry helps.
    "ValidationException": lambda op, exc: InvalidRequest(f"{op}: {exc}"),
    "ResourceNotFoundException": lambda op, _: StoreUnavailable(
        f"{op}: table missing; run `zebros init`"
    ),
}


# S3
_MISSING = {"404", "NoSuchKey", "NoSuchUpload", "NoSuchVersion", "NotFound"}
_REFUSED = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge"}


def _missing(operation: str, exc: ClientError) -> DalError:
    return NotFound(f"{operation}: {code_of(exc)}")


def _refused(operation: str, exc: ClientError) -> DalError:
    return InvalidUpload(f"S3 refused the parts: {code_of(exc)}", "parts")


# What S3's error codes mean to the DAL (any other: StoreUnavailable).
S3: Codes = dict.fromkeys(_MISSING, _missing) | dict.fromkeys(_REFUSED, _refused)

# SQS: every error is the queue being unavailable.
SQS: Codes = {}
