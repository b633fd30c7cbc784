"""The API's error codes, and the one translation from DAL errors to them."""

from __future__ import annotations

from typing import Any

from dal import errors as dal

# Seconds a client should wait after UNAVAILABLE. The DAL has already retried
# with jittered backoff (about 1.5 s over 6 attempts), and DynamoDB's
# throttling (on-demand partitions splitting, adaptive capacity) clears in
# seconds; a longer figure would idle clients the store could already serve.
RETRY_AFTER_SECONDS = 1


class ApiError(Exception):
    """An error meant for the client: its message and extensions are shown as they are."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class NotFoundError(ApiError):
    code = "NOT_FOUND"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field=field)


class Unavailable(ApiError):
    """A store throttled, timed out or stayed contended past the DAL's retries: retryable."""

    code = "UNAVAILABLE"

    def __init__(self, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(
            f"temporarily unavailable; retry in {retry_after} s", retryAfter=retry_after
        )


class Conflict(ApiError):
    code = "CONFLICT"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"the record changed (current version {current_version}); reload and retry",
            currentVersion=current_version,
        )


class ResyncRequired(ApiError):
    """A sync cursor the change log can no longer serve: sync in full (since: null)."""

    code = "RESYNC_REQUIRED"


class Replayed(ApiError):
    """A pushed mutation stored by a concurrent push of it first (internal to sync)."""

    code = "CONFLICT"


class WouldWrite(ApiError):
    """A dry run's write passed every check (an import's dry run reads the code)."""

    code = "DRY_RUN"


def translate(exc: BaseException) -> ApiError | None:
    """The client-facing form of an expected DAL error; ``None`` for anything else."""
    match exc:
        case ApiError():
            return exc
        case dal.NotFound():
            # Same text for "never existed" and "another tenant's": nothing to tell apart.
            return NotFoundError("not found")
        case dal.VersionConflict():
            return Conflict(exc.current_version)
        case dal.InvalidId():
            return BadUserInput(str(exc), field="id")
        case dal.AlreadyExists():
            return BadUserInput("a record with this id already exists", field="id")
        case dal.InvalidUpload():
            return BadUserInput(str(exc), exc.field)
        case dal.MissingReference():
            return BadUserInput(str(exc), exc.field)
        case dal.HasDependents():
            return BadUserInput(
                f"still referenced by {exc.count} record(s); delete or move them first", "id"
            )
        case dal.InvalidCursor():
            return BadUserInput(f"invalid cursor: {exc}", field="after")
        case dal.Throttled() | dal.StoreUnavailable():
            return Unavailable()  # what failed is for the log, not for the client
        case dal.ResyncRequired():
            return ResyncRequired(f"{exc}; sync again with since: null")
        case dal.DuplicateMutation():
            return Replayed("this mutation was applied by another push of it", replayed=True)
        case dal.DryRun():
            return WouldWrite("dry run: the write would be made")
        case dal.Erased():
            return BadUserInput("this record was erased on request and cannot change", "id")
        case dal.Suppressed():
            return BadUserInput(
                "this e-mail address was erased on request and is suppressed in this tenant "
                "(an admin can lift it: zebros privacy unsuppress)",
                exc.field,
            )
        case dal.LegalHold():
            return BadUserInput("the tenant is under legal hold: nothing may be purged", "id")
        case dal.UnknownTenant():
            return Unauthenticated("unknown tenant")
    return None
