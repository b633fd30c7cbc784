"""Roles and permissions through GraphQL (README "Roles and permissions").

Records are owned by ``u-other`` (a SALES_REP) or by ``u-rep``; each role acts
as its own user. A refused write must answer FORBIDDEN and leave the record
exactly as a read showed it before.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from dal.models import Activity, ActivityType, Contact, Customer, Entity, Opportunity, Role, User
from dal.store import Repos
from dal.timefmt import utcnow
from tests.conftest import Gql
from tests.support import codes, errors_of

CREATE_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
UPDATE_CUSTOMER = """
mutation($id: ID!, $i: UpdateCustomerInput!, $v: Int) {
  updateCustomer(id: $id, input: $i, expectedVersion: $v) { id version }
}
"""
DELETE_CUSTOMER = "mutation($id: ID!) { deleteCustomer(id: $id) }"
CREATE_CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"
UPDATE_CONTACT = """
mutation($id: ID!, $i: UpdateContactInput!) { updateContact(id: $id, input: $i) { id } }
"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) }"
CREATE_OPPORTUNITY = """
mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }
"""
UPDATE_OPPORTUNITY = """
mutation($id: ID!, $i: UpdateOpportunityInput!) { updateOpportunity(id: $id, input: $i) { id } }
"""
DELETE_OPPORTUNITY = "mutation($id: ID!) { deleteOpportunity(id: $id) }"
CREATE_ACTIVITY = "mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }"
UPDATE_ACTIVITY = """
mutation($id: ID!, $i: UpdateActivityInput!) { updateActivity(id: $id, input: $i) { id } }
"""
COMPLETE_ACTIVITY = "mutation($id: ID!) { completeActivity(id: $id) { id } }"
DELETE_ACTIVITY = "mutation($id: ID!) { deleteActivity(id: $id) }"
CREATE_USER = "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }"
UPDATE_USER = "mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id } }"

CUSTOMER = "query($id: ID!) { customer(id: $id) { version industry owner { id } } }"
CONTACT = "query($id: ID!) { contact(id: $id) { version position } }"
OPPORTUNITY = "query($id: ID!) { opportunity(id: $id) { version title owner { id } } }"
ACTIVITY = "query($id: ID!) { activity(id: $id) { version subject completedAt } }"
USER = "query($id: ID!) { user(id: $id) { version username email role permissions preferences } }"
USER_PERMISSIONS = "query($id: ID!) { user(id: $id) { id permissions } }"
USER_PREFERENCES = "query($id: ID!) { user(id: $id) { id preferences } }"
ME = "query { me { id permissions preferences } }"
USERS_PERMISSIONS = "query { users { edges { node { id permissions } } } }"

ACTOR = {
    Role.ADMIN: "u-admin",
    Role.MANAGER: "u-manager",
    Role.SALES_REP: "u-rep",
    Role.READ_ONLY: "u-reader",
}
ME_ID = "<caller>"  # in a case's variables: the acting user's id
STAFF = frozenset({Role.ADMIN, Role.MANAGER})
WRITERS = STAFF | {Role.SALES_REP}
ADMIN = frozenset({Role.ADMIN})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Case:
    document: str
    variables: dict[str, Any]
    probe: tuple[str, str]  # a read (document, id) of what the write would change
    allowed: frozenset[Role]


def _new(id: str, **fields: Any) -> dict[str, Any]:
    return {"i": {"id": id, **fields}}


def _change(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "i": fields}


# Every write of the API, on records u-other owns (c-mine: u-rep's, given away)
# or on users, in an order in which the allowed ones all succeed: updates
# before deletes, deletes of leaves only.
CASES = [
    Case(CREATE_CUSTOMER, _new("cus_new", companyName="N"), (CUSTOMER, "cus_new"), WRITERS),
    Case(
        CREATE_CUSTOMER,
        _new("cus_new2", companyName="N", ownerId="u-other"),
        (CUSTOMER, "cus_new2"),
        STAFF,
    ),
    Case(UPDATE_CUSTOMER, _change("cus_other", industry="X"), (CUSTOMER, "cus_other"), STAFF),
    Case(UPDATE_CUSTOMER, _change("cus_mine", ownerId="u-other"), (CUSTOMER, "cus_mine"), STAFF),
    Case(
        CREATE_CONTACT,
        _new("con_new", customerId="cus_other", firstName="A", lastName="B"),
        (CONTACT, "con_new"),
        STAFF,
    ),
    Case(UPDATE_CONTACT, _change("con_other", position="CEO"), (CONTACT, "con_other"), STAFF),
    Case(
        CREATE_OPPORTUNITY,
        _new("opp_new", customerId="cus_other", title="T", value="1"),
        (OPPORTUNITY, "opp_new"),
        WRITERS,
    ),
    Case(UPDATE_OPPORTUNITY, _change("opp_other", title="T2"), (OPPORTUNITY, "opp_other"), STAFF),
    Case(
        CREATE_ACTIVITY,
        _new("act_new", relatedId="cus_other", type="NOTE", subject="S"),
        (ACTIVITY, "act_new"),
        WRITERS,
    ),
    Case(UPDATE_ACTIVITY, _change("act_other", subject="S2"), (ACTIVITY, "act_other"), STAFF),
    Case(COMPLETE_ACTIVITY, {"id": "act_other"}, (ACTIVITY, "act_other"), STAFF),
    Case(DELETE_ACTIVITY, {"id": "act_other"}, (ACTIVITY, "act_other"), STAFF),
    Case(DELETE_OPPORTUNITY, {"id": "opp_other"}, (OPPORTUNITY, "opp_other"), STAFF),
    Case(DELETE_CONTACT, {"id": "con_other"}, (CONTACT, "con_other"), STAFF),
    Case(DELETE_CUSTOMER, {"id": "cus_bare"}, (CUSTOMER, "cus_bare"), STAFF),
    Case(
        CREATE_USER,
        _new("u-new", username="new", email="new@acme.example", role="SALES_REP"),
        (USER, "u-new"),
        ADMIN,
    ),
    Case(UPDATE_USER, _change("u-other", username="renamed"), (USER, "u-other"), ADMIN),
    Case(UPDATE_USER, _change(ME_ID, preferences={"tz": "UTC"}), (USER, ME_ID), EVERYONE),
    Case(UPDATE_USER, _change(ME_ID, role="ADMIN"), (USER, ME_ID), ADMIN),
]


async def _world(repos: Repos) -> None:
    """Users of every role and two with grants; u-other's and u-rep's records; c-bare."""
    await _users(repos, *((user, role, ()) for role, user in ACTOR.items()))
    await _users(
        repos,
        ("u-other", Role.SALES_REP, ()),
        ("u-rep-any", Role.SALES_REP, ("write:any",)),
        ("u-manager-users", Role.MANAGER, ("users:manage",)),
    )
    await _owned(repos, "other", "u-other")
    await _owned(repos, "mine", "u-rep")
    await repos.customers.create(
        Customer(id="cus_bare", company_name="Bare", owner_id="u-other", **_at())
    )


def _at() -> dict[str, Any]:
    now = utcnow()
    return {"created_at": now, "updated_at": now}


async def _users(repos: Repos, *users: tuple[str, Role, tuple[str, ...]]) -> None:
    for id, role, permissions in users:
        email = f"{id}@acme.example"
        user = User(id=id, username=id, email=email, role=role, permissions=permissions, **_at())
        await repos.users.create(user)


async def _owned(repos: Repos, tag: str, owner: str) -> None:
    """cus_{tag} with contact p-{tag}, opportunity o-{tag}, activity a-{tag}, all of ``owner``."""
    at, cus = _at(), f"cus_{tag}"
    owned: dict[str, Any] = {"owner_id": owner, **at}
    call: dict[str, Any] = {"type": ActivityType.CALL, "subject": tag}
    await repos.customers.create(Customer(id=cus, company_name=tag, **owned))
    await repos.contacts.create(
        Contact(id=f"con_{tag}", customer_id=cus, first_name="A", last_name=tag, **at)
    )
    await repos.opportunities.create(
        Opportunity(id=f"opp_{tag}", customer_id=cus, title=tag, value=Decimal(1), **owned)
    )
    await repos.activities.create(
        Activity(id=f"act_{tag}", related_id=cus, related_type=Entity.CUSTOMER, **call, **owned)
    )


async def _as(
    gql: Gql, role: Role, document: str, variables: dict[str, Any], user: str | None = None
) -> dict[str, Any]:
    return await gql(document, variables, user=user or ACTOR[role], role=role)


def _fill(variables: dict[str, Any], me: str) -> dict[str, Any]:
    return {k: me if v == ME_ID else v for k, v in variables.items()}


async def _read(gql: Gql, case: Case, me: str) -> dict[str, Any]:
    document, id = case.probe
    body = await gql(document, {"id": me if id == ME_ID else id})
    assert "errors" not in body, body
    return body


def _refused(body: dict[str, Any]) -> str:
    """The action a FORBIDDEN answer names (and that it is the only error)."""
    assert codes(body) == ["FORBIDDEN"], body
    action: str = errors_of(body)[0]["extensions"]["action"]
    return action


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
async def test_each_role_does_what_the_table_says_and_a_refusal_changes_nothing(
    gql: Gql, repos: Repos, role: Role
) -> None:
    await _world(repos)
    me = ACTOR[role]
    for case in CASES:
        before = await _read(gql, case, me)
        body = await _as(gql, role, case.document, _fill(case.variables, me))
        if role in case.allowed:
            assert "errors" not in body, (case, body)
        else:
            assert codes(body) == ["FORBIDDEN"], (case, body)
            assert await _read(gql, case, me) == before, case


OWN_WRITES = [
    (UPDATE_CUSTOMER, _change("cus_mine", industry="X")),
    (CREATE_CONTACT, _new("con_new", customerId="cus_mine", firstName="A", lastName="B")),
    (UPDATE_CONTACT, _change("con_mine", position="CTO")),
    (UPDATE_OPPORTUNITY, _change("opp_mine", title="T")),
    (UPDATE_ACTIVITY, _change("act_mine", subject="S")),
    (COMPLETE_ACTIVITY, {"id": "act_mine"}),
    (DELETE_ACTIVITY, {"id": "act_mine"}),
    (DELETE_OPPORTUNITY, {"id": "opp_mine"}),
    (DELETE_CONTACT, {"id": "con_new"}),
]


async def test_a_sales_rep_changes_its_own_records_and_contacts_of_its_customers(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    for document, variables in OWN_WRITES:
        body = await _as(gql, Role.SALES_REP, document, variables)
        assert "errors" not in body, (document, variables, body)


async def test_a_refusal_names_the_action_and_the_role(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    body = await _as(gql, Role.SALES_REP, UPDATE_CONTACT, _change("con_other", position="X"))
    error = errors_of(body)[0]
    assert error["extensions"] == {"code": "FORBIDDEN", "action": "contact.update"}
    assert "contact.update" in error["message"]
    assert "SALES_REP" in error["message"]
    assert body["data"] is None
    body = await _as(gql, Role.READ_ONLY, COMPLETE_ACTIVITY, {"id": "act_mine"})
    assert _refused(body) == "activity.complete"


async def test_missing_or_foreign_record_is_not_found_before_forbidden(
    gql: Gql, repos: Repos, neighbour: Repos
) -> None:
    await _world(repos)
    globex = neighbour
    await _users(globex, ("u-far", Role.SALES_REP, ()))
    await _owned(globex, "far", "u-far")
    for id in ("nope", "cus_far"):
        body = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, _change(id, industry="X"))
        assert codes(body) == ["NOT_FOUND"], id
    for document, id in ((DELETE_CONTACT, "con_far"), (COMPLETE_ACTIVITY, "act_far")):
        assert codes(await _as(gql, Role.SALES_REP, document, {"id": id})) == ["NOT_FOUND"]
    manage_users = {"user": "u-manager-users"}
    body = await _as(gql, Role.MANAGER, UPDATE_USER, _change("nope", username="x"), **manage_users)
    assert codes(body) == ["NOT_FOUND"]


async def test_a_role_refused_outright_gets_forbidden_for_every_id(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    for id in ("nope", "cus_other"):
        body = await _as(gql, Role.READ_ONLY, UPDATE_CUSTOMER, _change(id, industry="X"))
        assert _refused(body) == "customer.update"
        body = await _as(gql, Role.MANAGER, UPDATE_USER, _change(id, username="x"))
        assert _refused(body) == "user.update"


async def test_permission_is_checked_before_the_expected_version(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    stale = {"industry": "X"}
    body = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, {"id": "cus_mine", "i": stale, "v": 5})
    assert errors_of(body)[0]["extensions"] == {"code": "CONFLICT", "currentVersion": 1}
    body = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, {"id": "cus_other", "i": stale, "v": 5})
    assert _refused(body) == "customer.update"


REASSIGNMENTS = [
    (CREATE_CUSTOMER, _new("cus_new", companyName="N", ownerId="u-other")),
    (
        CREATE_OPPORTUNITY,
        _new("opp_new", customerId="cus_mine", title="T", value="1", ownerId="u-other"),
    ),
    (
        CREATE_ACTIVITY,
        _new("act_new", relatedId="cus_mine", type="NOTE", subject="S", ownerId="u-other"),
    ),
    (UPDATE_CUSTOMER, _change("cus_mine", ownerId="u-other")),
    (UPDATE_CUSTOMER, _change("cus_mine", ownerId=None)),
    (UPDATE_OPPORTUNITY, _change("opp_mine", ownerId="u-other")),
    (UPDATE_ACTIVITY, _change("act_mine", ownerId="u-other")),
]


async def test_a_sales_rep_neither_creates_for_nor_reassigns_to_others(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    for document, variables in REASSIGNMENTS:
        body = await _as(gql, Role.SALES_REP, document, variables)
        assert _refused(body) == "owner.assign", variables
    after = await gql(CUSTOMER, {"id": "cus_mine"})
    assert after["data"]["customer"] == {"version": 1, "industry": None, "owner": {"id": "u-rep"}}
    assert (await gql(CUSTOMER, {"id": "cus_new"}))["data"] == {"customer": None}
    keep = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, _change("cus_mine", ownerId="u-rep"))
    assert keep["data"]["updateCustomer"] == {"id": "cus_mine", "version": 2}


async def test_a_manager_reassigns_and_the_new_owner_may_then_change_it(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    body = await _as(gql, Role.MANAGER, UPDATE_CUSTOMER, _change("cus_other", ownerId="u-rep"))
    assert "errors" not in body, body
    body = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, _change("cus_other", industry="X"))
    assert body["data"]["updateCustomer"] == {"id": "cus_other", "version": 3}
    body = await _as(gql, Role.SALES_REP, UPDATE_CONTACT, _change("con_other", position="X"))
    assert "errors" not in body, body


SELF_SERVICE = _change(ME_ID, username="me-renamed", preferences={"theme": "dark"})
SELF_ACCOUNT = [
    _change(ME_ID, role="ADMIN"),
    _change(ME_ID, permissions=[]),
    _change(ME_ID, email="me@elsewhere.example"),
    _change(ME_ID, preferences={}, role="MANAGER"),
]


async def test_everyone_edits_own_profile_but_only_an_admin_own_account(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    for role, me in ACTOR.items():
        body = await _as(gql, role, UPDATE_USER, _fill(SELF_SERVICE, me))
        assert "errors" not in body, (role, body)
        for change in SELF_ACCOUNT:
            body = await _as(gql, role, UPDATE_USER, _fill(change, me))
            if role is Role.ADMIN:
                assert "errors" not in body, (change, body)
            else:
                assert _refused(body) == "user.update.self.account", (role, change)


async def test_an_admin_manages_users_a_manager_does_not(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    user = _new("u-new", username="new", email="new@acme.example", role="SALES_REP")
    assert _refused(await _as(gql, Role.MANAGER, CREATE_USER, user)) == "user.create"
    assert "errors" not in await _as(gql, Role.ADMIN, CREATE_USER, user)
    change = _change("u-new", role="MANAGER", permissions=["users:manage"])
    assert _refused(await _as(gql, Role.MANAGER, UPDATE_USER, change)) == "user.update"
    assert "errors" not in await _as(gql, Role.ADMIN, UPDATE_USER, change)
    got = (await gql(USER, {"id": "u-new"}))["data"]["user"]
    assert (got["role"], got["permissions"], got["version"]) == ("MANAGER", ["users:manage"], 2)


OTHERS_WRITES = [
    (UPDATE_CUSTOMER, _change("cus_other", industry="X")),
    (CREATE_CONTACT, _new("con_new", customerId="cus_other", firstName="A", lastName="B")),
    (UPDATE_CONTACT, _change("con_other", position="CTO")),
    (UPDATE_OPPORTUNITY, _change("opp_other", title="T")),
    (COMPLETE_ACTIVITY, {"id": "act_other"}),
    (DELETE_ACTIVITY, {"id": "act_other"}),
    (DELETE_OPPORTUNITY, {"id": "opp_other"}),
    (DELETE_CUSTOMER, {"id": "cus_bare"}),
]


async def test_write_any_lets_a_rep_change_others_records_but_not_their_owners(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    rep_any = {"user": "u-rep-any"}
    for document, variables in OTHERS_WRITES:
        body = await _as(gql, Role.SALES_REP, document, variables, **rep_any)
        assert "errors" not in body, (variables, body)
    take = _change("cus_other", ownerId="u-rep-any")
    assert _refused(await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, take, **rep_any)) == (
        "owner.assign"
    )
    rename = _change("u-other", username="x")
    assert _refused(await _as(gql, Role.SALES_REP, UPDATE_USER, rename, **rep_any)) == (
        "user.update"
    )


async def test_users_manage_lets_a_manager_manage_users_except_admins(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    # A grant it holds (write:any lifts SALES_REPs only): it may pass it on.
    await _users(repos, ("u-manager-reps", Role.MANAGER, ("users:manage", "write:any")))
    mgr = {"user": "u-manager-reps"}
    user = _new("u-new", username="new", email="new@acme.example", role="SALES_REP")
    assert "errors" not in await _as(gql, Role.MANAGER, CREATE_USER, user, **mgr)
    grant = _change("u-rep", permissions=["write:any"])
    assert "errors" not in await _as(gql, Role.MANAGER, UPDATE_USER, grant, **mgr)
    # The grant is read from u-rep's record on its next request.
    body = await _as(gql, Role.SALES_REP, UPDATE_CUSTOMER, _change("cus_other", industry="X"))
    assert "errors" not in body, body


ADMIN_GUARDED = [
    (CREATE_USER, _new("u-new", username="n", email="n@acme.example", role="ADMIN"), "user.admin"),
    (UPDATE_USER, _change("u-admin", username="x"), "user.admin"),
    (UPDATE_USER, _change("u-rep", role="ADMIN"), "user.admin"),
    (UPDATE_USER, _change("u-manager-users", role="ADMIN"), "user.update.self.account"),
    (UPDATE_USER, _change("u-manager-users", permissions=[]), "user.update.self.account"),
]


async def test_users_manage_stops_at_admins_and_at_oneself(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    mgr = {"user": "u-manager-users"}
    for document, variables, action in ADMIN_GUARDED:
        assert _refused(await _as(gql, Role.MANAGER, document, variables, **mgr)) == action
    got = (await gql(USER, {"id": "u-admin"}))["data"]["user"]
    assert (got["username"], got["version"]) == ("u-admin", 1)


async def test_everyone_sees_own_permissions_and_preferences(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    for role, me in ACTOR.items():
        body = await _as(gql, role, ME, {})
        assert body == {"data": {"me": {"id": me, "permissions": [], "preferences": None}}}
    body = await _as(gql, Role.SALES_REP, ME, {}, "u-rep-any")
    assert body["data"]["me"]["permissions"] == ["write:any"]


async def test_permissions_are_visible_to_self_admin_and_user_managers(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    seen = {"id": "u-rep-any", "permissions": ["write:any"]}
    for role, user in ((Role.ADMIN, None), (Role.MANAGER, "u-manager-users")):
        body = await _as(gql, role, USER_PERMISSIONS, {"id": "u-rep-any"}, user)
        assert body == {"data": {"user": seen}}, role
    # Non-null in the contract: a refusal nulls the nearest nullable parent.
    body = await _as(gql, Role.MANAGER, USER_PERMISSIONS, {"id": "u-rep-any"})
    assert body["data"] == {"user": None}
    assert [(e["path"], e["extensions"]["code"]) for e in errors_of(body)] == [
        (["user", "permissions"], "FORBIDDEN")
    ]
    body = await _as(gql, Role.SALES_REP, USERS_PERMISSIONS, {})
    assert body["data"] is None
    assert set(codes(body)) == {"FORBIDDEN"}


async def test_preferences_of_others_are_visible_to_admins_only(gql: Gql, repos: Repos) -> None:
    await _world(repos)
    prefs = {"tz": "CET"}
    assert "errors" not in await _as(
        gql, Role.ADMIN, UPDATE_USER, _change("u-other", preferences=prefs)
    )
    assert (await _as(gql, Role.ADMIN, USER_PREFERENCES, {"id": "u-other"}))["data"] == {
        "user": {"id": "u-other", "preferences": prefs}
    }
    body = await _as(gql, Role.SALES_REP, USER_PREFERENCES, {"id": "u-other"}, "u-other")
    assert body == {"data": {"user": {"id": "u-other", "preferences": prefs}}}
    body = await _as(gql, Role.MANAGER, USER_PREFERENCES, {"id": "u-other"}, "u-manager-users")
    assert body["data"] == {"user": {"id": "u-other", "preferences": None}}
    error = errors_of(body)[0]
    assert (error["path"], error["extensions"]["code"]) == (["user", "preferences"], "FORBIDDEN")


async def test_a_user_manager_grants_only_what_it_holds_and_never_to_itself(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    await _users(repos, ("u-privacy", Role.MANAGER, ("privacy:manage",)))
    mgr = {"user": "u-manager-users"}
    escalations = [
        # Another manager's identity-provider subject, not provisioned yet.
        (CREATE_USER, _new("idp-manager-2", username="m2", email="m2@acme.example",
                           role="MANAGER", permissions=["privacy:manage"]), "user.grant"),
        (UPDATE_USER, _change("u-manager", permissions=["privacy:manage"]), "user.grant"),
        (UPDATE_USER, _change("u-rep", permissions=["write:any"]), "user.grant"),
        (UPDATE_USER, _change("u-privacy", permissions=[]), "user.grant"),  # nor take it away
        (CREATE_USER, _new("u-manager-users", username="me", email="me@acme.example",
                           role="MANAGER", permissions=["users:manage"]), "user.grant.self"),
    ]  # fmt: skip
    for document, variables, action in escalations:
        assert _refused(await _as(gql, Role.MANAGER, document, variables, **mgr)) == action
    for id in ("u-manager", "u-rep", "u-privacy"):
        assert (await gql(USER, {"id": id}))["data"]["user"]["version"] == 1, id
    assert (await gql(USER, {"id": "idp-manager-2"}))["data"]["user"] is None
    # What it holds it may pass on, and take back.
    for permissions in (["users:manage"], []):
        change = _change("u-manager", permissions=permissions)
        assert "errors" not in await _as(gql, Role.MANAGER, UPDATE_USER, change, **mgr)


async def test_an_admin_grants_anything_to_others_but_nothing_to_itself(
    gql: Gql, repos: Repos
) -> None:
    await _world(repos)
    await _users(repos, ("u-admin-2", Role.ADMIN, ("privacy:manage",)))
    grant = _change("u-manager", permissions=["privacy:manage", "users:manage"])
    assert "errors" not in await _as(gql, Role.ADMIN, UPDATE_USER, grant)
    selfish = _change("u-admin", permissions=["privacy:manage"])
    assert _refused(await _as(gql, Role.ADMIN, UPDATE_USER, selfish)) == "user.grant.self"
    # Giving up one's own permissions is no escalation.
    drop = _change("u-admin-2", permissions=[])
    assert "errors" not in await _as(gql, Role.ADMIN, UPDATE_USER, drop, user="u-admin-2")
    got = (await gql(USER, {"id": "u-admin"}))["data"]["user"]
    assert (got["permissions"], got["version"]) == ([], 1)
