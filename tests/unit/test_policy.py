"""The rule table: what each role may do, what grants lift, and that the README shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dal.models import Role
from resolvers.policy import GRANTS, RULES, Grant, Scope, scope_of

README = Path(__file__).resolve().parents[2] / "README.md"
ANY, OWN, NONE = Scope.ANY, Scope.OWN, Scope.NONE
A, M, R, RO = Role.ADMIN, Role.MANAGER, Role.SALES_REP, Role.READ_ONLY

# (role, permissions on the caller's record, action, scope): the rules the issue names.
CASES = [
    (R, (), "customer.update", OWN),
    (R, ("write:any",), "customer.update", ANY),
    (R, ("write:any",), "owner.assign", NONE),  # editing others' records is not taking them
    (R, ("users:manage",), "user.create", NONE),  # a grant lifts only the roles it names
    (R, ("no:such:permission",), "contact.delete", OWN),
    (M, (), "opportunity.delete", ANY),
    (M, (), "owner.assign", ANY),
    (M, (), "user.create", NONE),
    (M, ("users:manage",), "user.create", ANY),
    (M, ("users:manage",), "user.read.permissions", ANY),
    (M, ("users:manage",), "user.update.self.account", NONE),  # no promoting oneself
    (M, ("users:manage",), "user.admin", NONE),
    (M, ("users:manage", "privacy:manage"), "user.grant", NONE),  # held: checked by name
    (A, (), "user.grant", ANY),
    (A, (), "user.grant.self", NONE),  # no one grants themself
    (M, ("users:manage",), "user.read.preferences", NONE),
    (A, (), "user.admin", ANY),
    (A, (), "tenant.settings", ANY),
    (RO, ("write:any", "users:manage"), "customer.create", NONE),
    (RO, (), "user.update.self", ANY),
]


@pytest.mark.parametrize(("role", "permissions", "action", "expected"), CASES)
def test_scope_of(role: Role, permissions: tuple[str, ...], action: str, expected: Scope) -> None:
    assert scope_of(role, permissions, action) is expected


def test_read_only_may_change_nothing_but_its_own_profile() -> None:
    every_grant = tuple(GRANTS)
    allowed = [a for a in RULES if scope_of(RO, every_grant, a) is not NONE]
    assert allowed == ["user.update.self", "job.report"]  # a report file is a read


def test_grants_name_actions_of_the_table() -> None:
    for name, grant in GRANTS.items():
        assert grant.actions <= RULES.keys(), name
        assert grant.roles, name


def test_unknown_action_is_an_error_not_a_default() -> None:
    with pytest.raises(KeyError):
        scope_of(A, (), "customer.teleport")


def _rules_table() -> str:
    head = ["action", "meaning", *Role, "lifted to `any` by"]
    lines = [_row(head), _row(["---"] * len(head))]
    for action, rule in RULES.items():
        cells = [rule.scopes.get(role, NONE).value for role in Role]
        lifts = ", ".join(f"`{p}` ({_roles(g)})" for p, g in GRANTS.items() if action in g.actions)
        lines.append(_row([f"`{action}`", rule.what, *cells, lifts]))
    return "\n".join(lines)


def _grants_table() -> str:
    lines = [_row(["permission", "for roles", "meaning"]), _row(["---"] * 3)]
    for name, grant in GRANTS.items():
        lines.append(_row([f"`{name}`", _roles(grant), grant.what]))
    return "\n".join(lines)


def _roles(grant: Grant) -> str:
    return ", ".join(r for r in Role if r in grant.roles)  # in Role order: stable text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def test_readme_shows_the_tables_the_code_enforces() -> None:
    text = README.read_text()
    assert _rules_table() in text, "README rule table is stale; expected:\n" + _rules_table()
    assert _grants_table() in text, "README grant table is stale; expected:\n" + _grants_table()
