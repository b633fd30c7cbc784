"""How the store's refusals reach the DAL: a malformed request is a bug, not an outage."""

from __future__ import annotations

import pytest

from dal.errors import InvalidRequest, StoreUnavailable
from dal.store import Repos


async def test_a_request_dynamodb_calls_malformed_is_invalid_not_unavailable(
    repos: Repos,
) -> None:
    """An empty sort key is DynamoDB's ValidationException: retrying cannot help, and
    a 503 would tell the client to retry; the API answers it as an internal error."""
    with pytest.raises(InvalidRequest) as raised:
        await repos.jobs.get("")
    assert not isinstance(raised.value, StoreUnavailable)
    assert "ValidationException" in str(raised.value)
