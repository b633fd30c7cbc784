"""Updates and deletes of owned records: the policy check, then the versioned write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dal.records.repo import Repo
from resolvers import policy
from resolvers.context import Info
from resolvers.policy import OwnedT


async def update_record(
    info: Info,
    action: str,
    repo: Repo[OwnedT],
    id: str,
    values: dict[str, Any],
    expected_version: int | None,
) -> OwnedT:
    """Set ``values`` (already validated) on the record, if the caller may."""
    version = await policy.require_existing(info, action, repo, id, expected_version, values)
    return await repo.update(id, lambda r: replace(r, **values), version)


async def delete_record(
    info: Info, action: str, repo: Repo[OwnedT], id: str, expected_version: int | None
) -> str:
    version = await policy.require_existing(info, action, repo, id, expected_version)
    await repo.delete(id, version)
    return id
