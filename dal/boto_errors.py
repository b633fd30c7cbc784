"""Boto's errors, translated into ``dal.errors`` at the one place calls are made.

Nothing above the DAL sees boto's exceptions. Each service says what its error
codes mean as data (a table of code -> error maker, next to its client); any
other code, and every ``BotoCoreError`` (no answer, a timeout), is the store
being unavailable. The original is always chained (``from exc``) for the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from botocore.exceptions import BotoCoreError, ClientError

from dal.errors import DalError, StoreUnavailable

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
