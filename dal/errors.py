"""The DAL's error tree. Boto ``ClientError`` never crosses the DAL boundary."""

from __future__ import annotations


class DalError(Exception):
    """Base of every error the data layer raises."""


class NotFound(DalError):
    """The record does not exist in this tenant (or exists only in another)."""


class VersionConflict(DalError):
    def __init__(self, current_version: int) -> None:
        super().__init__(f"version conflict; current version is {current_version}")
        self.current_version = current_version


class InvalidId(DalError):
    """An id that cannot name a record of its entity (``ids.py``)."""


class AlreadyExists(DalError):
    """A create used an id that is taken in this tenant."""


class MissingReference(DalError):
    """A field names a record that does not exist in this tenant (or not the right one)."""

    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(message or f"{field} does not name an existing record")
        self.field = field


class HasDependents(DalError):
    """A delete would leave records pointing at nothing."""

    def __init__(self, count: int) -> None:
        super().__init__(f"record still has {count} dependent record(s)")
        self.count = count


class UnknownTenant(DalError):
    """The tenant is not in the registry (and this server does not register tenants)."""


class TenantHasData(DalError):
    """A registration would re-key a tenant whose records are stored under another model."""

    def __init__(self, tenant_id: str, model: str) -> None:
        super().__init__(f"tenant {tenant_id} already has data under the {model} model")
        self.model = model


class InvalidCursor(DalError):
    """A cursor that was tampered with, or minted for another tenant or index."""


class Throttled(DalError):
    """The store kept refusing work (throttling or unprocessed keys) after retries."""


class StoreUnavailable(DalError):
    """The store could not be reached or answered with an unexpected error."""


class InvalidRequest(DalError):
    """The store refused a request as malformed (DynamoDB's ValidationException): a bug
    of ours to log and fix, never an outage to retry. The API answers it as an
    internal error; callers check what they pass (ids, keys) before it gets here."""


class ConditionFailed(DalError):
    """A conditional write's condition did not hold (internal to the DAL)."""

    def __init__(self, item: dict[str, object] | None = None) -> None:
        super().__init__("condition failed")
        self.item = item


class TransactionCancelled(DalError):
    """A transaction was refused; ``reasons`` has one code per operation, in order."""

    def __init__(self, reasons: list[str], items: list[dict[str, object] | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items


class InvalidUpload(DalError):
    """An upload that breaks its ticket (size, type, parts), or a request for one
    that the limits refuse. ``field`` names the argument to blame."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class DuplicateMutation(DalError):
    """A pushed mutation's receipt was written first by another push of it (a replay
    racing the original): the caller reads the receipt back."""


class ResyncRequired(DalError):
    """A sync cursor points before what the change log still keeps (entries expired),
    or at shards it no longer has: the device must sync in full again."""


class DryRun(DalError):
    """A write reached its commit in a dry run: every check passed, nothing was written."""


class Erased(DalError):
    """The record was erased on request: it can no longer be changed."""


class Suppressed(DalError):
    """The e-mail address was erased on request and is on the tenant's suppression list."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class LegalHold(DalError):
    """The tenant is under legal hold: nothing of it may be purged."""
