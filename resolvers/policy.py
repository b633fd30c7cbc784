"""Who may do what: the rule table, and the checks every write resolver calls.

``RULES`` gives each role a scope per action: ``ANY`` record of the tenant,
only records it ``OWN``s (a contact is owned through its customer), or
nothing. ``GRANTS`` are named permissions on a user's record that lift the
listed actions to ``ANY`` for the listed roles. README "Roles and
permissions" shows both tables (tests/unit/test_policy.py fails on drift).

Order of answers for a change to a stored record: NOT_FOUND (missing, or
another tenant's), then FORBIDDEN, then CONFLICT. A role refused an action
outright gets FORBIDDEN without any read: every id answers the same.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from dal.models import Activity, Contact, Customer, Opportunity, Record, Role, User
from dal.records.repo import Repo
from resolvers.context import Info
from resolvers.errors import BadUserInput, Conflict, Forbidden, NotFoundError

Owned = Customer | Contact | Opportunity | Activity
OwnedT = TypeVar("OwnedT", Customer, Contact, Opportunity, Activity)
R = TypeVar("R", bound=Record)


class Scope(enum.Enum):
    NONE = "-"
    OWN = "own"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Rule:
    what: str
    scopes: Mapping[Role, Scope]  # a role not listed: Scope.NONE


@dataclass(frozen=True, slots=True)
class Grant:
    what: str
    roles: frozenset[Role]
    actions: frozenset[str]


ANY, OWN = Scope.ANY, Scope.OWN
RECORD_WRITE = {Role.ADMIN: ANY, Role.MANAGER: ANY, Role.SALES_REP: OWN}
STAFF = {Role.ADMIN: ANY, Role.MANAGER: ANY}
ADMIN_ONLY = {Role.ADMIN: ANY}
EVERYONE = dict.fromkeys(Role, ANY)

RULES: dict[str, Rule] = {
    "customer.create": Rule("create a customer", RECORD_WRITE),
    "customer.update": Rule("change a customer", RECORD_WRITE),
    "customer.delete": Rule("delete a customer", RECORD_WRITE),
    "contact.create": Rule("add a contact to a customer", RECORD_WRITE),
    "contact.update": Rule("change a contact", RECORD_WRITE),
    "contact.delete": Rule("delete a contact", RECORD_WRITE),
    "opportunity.create": Rule("create an opportunity", RECORD_WRITE),
    "opportunity.update": Rule("change an opportunity", RECORD_WRITE),
    "opportunity.delete": Rule("delete an opportunity", RECORD_WRITE),
    "activity.create": Rule("create an activity", RECORD_WRITE),
    "activity.update": Rule("change an activity", RECORD_WRITE),
    "activity.complete": Rule("complete an activity", RECORD_WRITE),
    "activity.delete": Rule("delete an activity", RECORD_WRITE),
    "document.upload": Rule("upload a file to a customer (or an activity of it)", RECORD_WRITE),
    "document.delete": Rule("delete a customer's file", RECORD_WRITE),
    "owner.assign": Rule("create a record for another owner, or change its owner", STAFF),
    "user.create": Rule("create a user", ADMIN_ONLY),
    "user.update": Rule("change another user's record", ADMIN_ONLY),
    "user.admin": Rule("give the ADMIN role, or change an ADMIN's record", ADMIN_ONLY),
    "user.update.self": Rule("change one's own username and preferences", EVERYONE),
    "user.update.self.account": Rule("change one's own email, role or permissions", ADMIN_ONLY),
    "user.grant": Rule("give or take away a permission the caller does not hold", ADMIN_ONLY),
    "user.grant.self": Rule("give oneself a permission", {}),
    "user.read.permissions": Rule("see another user's permissions", ADMIN_ONLY),
    "user.read.preferences": Rule("see another user's preferences", ADMIN_ONLY),
    "tenant.settings": Rule("change the tenant's settings (no API yet)", ADMIN_ONLY),
    "job.import": Rule("import a file of records (each row is also checked as its write)", STAFF),
    "job.export": Rule("export every record of an entity", STAFF),
    "job.report": Rule("generate a report file", EVERYONE),
    "job.read.any": Rule("see another user's jobs", ADMIN_ONLY),
    "job.cancel.any": Rule("cancel another user's job", ADMIN_ONLY),
    "template.write": Rule("create, change or delete an e-mail template", STAFF),
    "privacy.export": Rule("export a contact's or user's personal data", ADMIN_ONLY),
    "privacy.erase": Rule("erase a contact's or user's personal data", ADMIN_ONLY),
    "privacy.read": Rule("see the tenant's privacy requests and receipts", ADMIN_ONLY),
    "audit.read": Rule("read the audit log", ADMIN_ONLY),
}
RECORD_ACTIONS = frozenset(a for a, rule in RULES.items() if rule.scopes is RECORD_WRITE)
GRANTS: dict[str, Grant] = {
    "write:any": Grant(
        "change customers, contacts, opportunities, activities and files of any owner",
        frozenset({Role.SALES_REP}),
        RECORD_ACTIONS,
    ),
    "users:manage": Grant(
        "create and change other users (not ADMINs), see their permissions",
        frozenset({Role.MANAGER}),
        frozenset({"user.create", "user.update", "user.read.permissions"}),
    ),
    "privacy:manage": Grant(
        "handle privacy requests (exports, erasures) and read the audit log",
        frozenset({Role.MANAGER}),
        frozenset({"privacy.export", "privacy.erase", "privacy.read", "audit.read"}),
    ),
}
SELF_SERVICE = frozenset({"username", "preferences"})


def scope_of(role: Role, permissions: Collection[str], action: str) -> Scope:
    """The table's answer: the role's scope, lifted to ANY by a grant that covers it."""
    if any(_lifts(GRANTS[p], role, action) for p in permissions if p in GRANTS):
        return Scope.ANY
    return RULES[action].scopes.get(role, Scope.NONE)


def _lifts(grant: Grant, role: Role, action: str) -> bool:
    return role in grant.roles and action in grant.actions


async def scope(info: Info, action: str) -> Scope:
    """The caller's scope. Its permissions are read only when a grant could change it."""
    ctx = info.context
    role = ctx.principal.role
    if not any(_lifts(g, role, action) for g in GRANTS.values()):
        return scope_of(role, (), action)
    return scope_of(role, await _permissions(info), action)


async def _permissions(info: Info) -> tuple[str, ...]:
    """The caller's permissions, read strongly consistent once per request: a grant
    (or a revocation) made a moment ago must count, which the dataloaders'
    BatchGetItem, eventually consistent, does not promise."""
    ctx = info.context
    if ctx.permissions is None:
        # Just-in-time provisioning wrote the caller's record before any resolver runs.
        me = await ctx.repos.users.get(ctx.principal.user_id)
        ctx.permissions = () if me is None else me.permissions
    return ctx.permissions


async def require(info: Info, action: str, record: Owned | None = None) -> None:
    """FORBIDDEN unless the caller may do ``action`` (on ``record``, if only on its own)."""
    allowed = await scope(info, action)
    if allowed is Scope.ANY:
        return
    caller = info.context.principal.user_id
    if allowed is Scope.OWN and record is not None and await _owner(info, record) == caller:
        return
    raise _refused(info, action, allowed)


def _refused(info: Info, action: str, allowed: Scope) -> Forbidden:
    role = info.context.principal.role
    what = f"forbidden: {action} ({RULES[action].what})"
    if allowed is Scope.OWN:
        return Forbidden(f"{what} is allowed for {role} only on records it owns", action=action)
    return Forbidden(f"{what} is not allowed for {role}", action=action)


async def _owner(info: Info, record: Owned) -> str | None:
    if not isinstance(record, Contact):
        return record.owner_id
    # A contact is its customer's. Strongly consistent read (BatchGetItem, behind the
    # loaders, is not): a customer created or reassigned a moment ago must count.
    customer = await info.context.repos.customers.get(record.customer_id)
    if customer is None:
        raise BadUserInput("customerId does not name an existing record", "customerId")
    return customer.owner_id


def _reassigns(new: Owned, old: Owned | None, caller: str) -> bool:
    """Whether writing ``new`` gives it an owner other than the caller (create) or the
    owner it had (update). Contacts have no owner of their own."""
    if isinstance(new, Contact) or isinstance(old, Contact):
        return False
    return new.owner_id != (caller if old is None else old.owner_id)


async def require_write(info: Info, action: str, new: Owned, old: Owned | None = None) -> None:
    """Refuse writing ``new`` (over ``old``, for an update): owner changes, then the action."""
    if _reassigns(new, old, info.context.principal.user_id):
        await require(info, "owner.assign")
    await require(info, action, new if old is None else old)


async def require_existing(
    info: Info,
    action: str,
    repo: Repo[OwnedT],
    id: str,
    expected_version: int | None,
    changes: Mapping[str, Any] | None = None,
) -> int | None:
    """Check a change (``changes``, none for a delete) to a stored record; the version to
    write at. The record is read only when the answer depends on it; the write is then
    pinned to the version checked, so a record changed since (owner included) is CONFLICT."""
    changes = changes or {}
    if not await _depends_on_record(info, action, changes):
        return expected_version
    current = await _stored(repo, id)
    await require_write(info, action, replace(current, **changes), current)
    return _pinned(current.version, expected_version)


async def _depends_on_record(info: Info, action: str, changes: Mapping[str, Any]) -> bool:
    allowed = await scope(info, action)
    if allowed is Scope.NONE:
        raise _refused(info, action, allowed)
    if allowed is Scope.OWN:
        return True
    return "owner_id" in changes and await scope(info, "owner.assign") is not Scope.ANY


async def _stored(repo: Repo[R], id: str) -> R:
    # Strongly consistent, as the write's own read: judge the record about to be replaced.
    current = await repo.get(id)
    if current is None:
        raise NotFoundError("not found")
    return current


def _pinned(current: int, expected: int | None) -> int:
    if expected is not None and expected != current:
        raise Conflict(current)
    return current


async def require_user_create(info: Info, new: User) -> None:
    await require(info, "user.create")
    if new.role is Role.ADMIN:
        await require(info, "user.admin")
    await _require_grants(info, new.id, (), new.permissions)


async def require_user_update(
    info: Info, repo: Repo[User], id: str, changes: Mapping[str, Any], expected: int | None
) -> int | None:
    """Own username and preferences: anyone; the rest of one's own record: ADMIN;
    another's record: user managers, and only ADMINs for ADMINs; permissions as
    ``_require_grants`` says. The version to write at."""
    if id == info.context.principal.user_id:
        own = changes.keys() <= SELF_SERVICE
        await require(info, "user.update.self" if own else "user.update.self.account")
        if "permissions" not in changes:
            return expected
    else:
        await require(info, "user.update")
        if await scope(info, "user.admin") is Scope.ANY:
            return expected  # an ADMIN gives another user anything
    current = await _stored(repo, id)
    if Role.ADMIN in (current.role, changes.get("role")):
        await require(info, "user.admin")
    await _require_grants(info, id, current.permissions, changes.get("permissions"))
    return _pinned(current.version, expected)


async def _require_grants(
    info: Info, user_id: str, old: Collection[str], new: Collection[str] | None
) -> None:
    """Permissions from ``old`` to ``new`` on ``user_id``'s record (None: unchanged).
    Nobody adds one to their own record, ADMINs included: while the token says ADMIN a
    permission adds nothing, so its only use would be to outlive a demotion. A
    permission the caller does not hold is given or taken away by ADMINs only."""
    if new is None or set(new) == set(old):
        return
    if user_id == info.context.principal.user_id and set(new) - set(old):
        await require(info, "user.grant.self")
    if await scope(info, "user.grant") is Scope.ANY:
        return
    if (set(new) ^ set(old)) - set(await _permissions(info)):
        await require(info, "user.grant")


async def require_view(info: Info, action: str, user: User) -> None:
    """A restricted field of a user: always visible on one's own record."""
    if user.id != info.context.principal.user_id:
        await require(info, action)
