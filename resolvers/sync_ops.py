"""A pushed mutation, run as the API's own mutation against this schema.

So a push validates, checks permissions and fails exactly as the mutation would
(same BAD_USER_INPUT messages, same codes): there is one write path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from dal.models import Entity
from resolvers.context import Info

TYPE_NAMES = {
    Entity.CUSTOMER: "Customer",
    Entity.CONTACT: "Contact",
    Entity.OPPORTUNITY: "Opportunity",
    Entity.ACTIVITY: "Activity",
}


class Outcome(enum.StrEnum):
    APPLIED = "APPLIED"
    MERGED = "MERGED"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


class Kind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Applied:
    ok: bool
    code: str | None = None
    message: str | None = None
    raced: bool = False  # lost to a concurrent writer: decide again
    replayed: bool = False  # a concurrent push of the same mutation committed first


def document(entity: Entity, kind: Kind) -> str:
    name = TYPE_NAMES[entity]
    if kind is Kind.CREATE:
        return (
            f"mutation Push($input: Create{name}Input!) "
            f"{{ written: create{name}(input: $input) {{ id }} }}"
        )
    if kind is Kind.UPDATE:
        return (
            f"mutation Push($id: ID!, $input: Update{name}Input!, $v: Int) "
            f"{{ written: update{name}(id: $id, input: $input, expectedVersion: $v) {{ id }} }}"
        )
    return (
        f"mutation Push($id: ID!, $v: Int) "
        f"{{ written: delete{name}(id: $id, expectedVersion: $v) }}"
    )


def variables(kind: Kind, id: str, changes: dict[str, Any], expected: int | None) -> dict[str, Any]:
    if kind is Kind.CREATE:
        return {"input": {**changes, "id": id}}
    if kind is Kind.UPDATE:
        return {"id": id, "input": changes, "v": expected}
    return {"id": id, "v": expected}


async def execute(
    info: Info, entity: Entity, kind: Kind, id: str, changes: dict[str, Any], expected: int | None
) -> Applied:
    result = await info.schema.execute(
        document(entity, kind),
        variable_values=variables(kind, id, changes, expected),
        context_value=info.context,
    )
    if not result.errors:
        return Applied(True)
    error = result.errors[0]
    extensions = error.extensions or {}
    code = str(extensions.get("code", "INTERNAL_SERVER_ERROR"))
    if extensions.get("replayed"):
        return Applied(False, code, error.message, replayed=True)
    # Changed or deleted by another writer since the push read it: decide again.
    raced = code == "NOT_FOUND" or (code == "CONFLICT" and expected is not None)
    return Applied(False, code, error.message, raced=raced)
