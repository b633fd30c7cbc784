"""E-mail templates: versioned saves, rendering over the documented fields only,
and templates that try to reach further, run long or grow huge are refused."""

from __future__ import annotations

from typing import Any

from dal.models import Role
from tests.conftest import Gql

SAVE = """
mutation($input: EmailTemplateInput!, $v: Int) {
  saveEmailTemplate(input: $input, expectedVersion: $v) { id name subject body version }
}"""
RENDER = """
query($id: ID!, $c: ID!, $o: ID) {
  renderEmailTemplate(id: $id, contactId: $c, opportunityId: $o) { subject body }
}"""
LIST = "{ emailTemplates { id version body } }"
DELETE = "mutation($id: ID!) { deleteEmailTemplate(id: $id) }"
ONE = "query($id: ID!) { emailTemplate(id: $id) { id version } }"
SETUP = """
mutation {
  c: createCustomer(input: {companyName: "Acme Rockets"}) { id }
}"""
CONTACT = """
mutation($c: ID!) {
  createContact(input: {customerId: $c, firstName: "Ann", lastName: "Lee",
                        email: "ann@acmerockets.com"}) { id }
}"""
DEAL = """
mutation($c: ID!) {
  createOpportunity(input: {customerId: $c, title: "Rockets", value: "1250.5"}) { id }
}"""
BODY = (
    "Dear {{ contact.firstName }} {{ contact.lastName }},\n"
    "{{ customer.companyName | upper }}: {{ opportunity.title }} for {{ opportunity.value }}.\n"
    "{% for word in ['a', 'b'] %}{{ word }}{% endfor %} -- {{ sender.username }}"
)


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body["errors"]
    return body["data"]


def refused(body: dict[str, Any]) -> tuple[str, str]:
    error = body["errors"][0]
    return error["extensions"]["code"], error["message"]


async def records(gql: Gql) -> tuple[str, str]:
    customer = data(await gql(SETUP))["c"]["id"]
    contact = data(await gql(CONTACT, {"c": customer}))["createContact"]["id"]
    deal = data(await gql(DEAL, {"c": customer}))["createOpportunity"]["id"]
    return contact, deal


async def test_a_template_renders_the_fields_of_a_contact_and_a_deal(gql: Gql) -> None:
    contact, deal = await records(gql)
    made = {"name": "Offer", "subject": "For {{ customer.companyName }}", "body": BODY}
    saved = data(await gql(SAVE, {"input": made}))["saveEmailTemplate"]
    assert saved["version"] == 1
    id = saved["id"]
    again = data(await gql(SAVE, {"input": {**made, "id": id, "name": "Offer 2"}, "v": 1}))
    assert again["saveEmailTemplate"]["version"] == 2
    stale = await gql(SAVE, {"input": {**made, "id": id}, "v": 1})
    assert refused(stale)[0] == "CONFLICT"
    shown = data(await gql(RENDER, {"id": id, "c": contact, "o": deal}))["renderEmailTemplate"]
    assert shown["subject"] == "For Acme Rockets"
    assert shown["body"] == "Dear Ann Lee,\nACME ROCKETS: Rockets for 1250.50.\nab -- u-admin"
    rep = {"user": "u-rep", "role": Role.SALES_REP}
    assert data(await gql(RENDER, {"id": id, "c": contact}, **rep))  # every role renders
    assert refused(await gql(SAVE, {"input": made}, **rep))[0] == "FORBIDDEN"
    assert [t["version"] for t in data(await gql(LIST))["emailTemplates"]] == [2]
    assert data(await gql(DELETE, {"id": id}))["deleteEmailTemplate"] == id
    assert data(await gql(ONE, {"id": id}))["emailTemplate"] is None


PROBES = [
        ("{{ contact.__class__ }}", "not a template field"),
        ("{{ contact.firstName.__class__.__mro__ }}", "not a template field"),
        ("{{ contact.notes }}", "contact.notes is not a template field"),
        ("{{ config }}", "unknown name(s) config"),
        ("{% for i in range(10) %}x{% endfor %}", "unknown name(s) range"),
        ("{{ self.__init__ }}", "is not a template field"),
        ("{% include '/etc/passwd' %}", "no loader"),
        ("{{ 'x' * 1000000 }}", "longer than 100000 characters"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", ""),
        ("{% for a in 'abcdefghij' %}{% for b in 'abcdefghij' %}{% for c in 'abcdefghij' %}"
         "{% for d in 'abcdefghij' %}{% for e in 'abcdefghij' %}{% for f in 'abcdefghij' %}"
         "xxxxxxxxxx{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         "longer than 100000 characters"),
        ("{{ 2 ** 100000 }}", "** is not allowed"),
        ("{% for a in 'abcdefghij' %}{% for b in 'abcdefghij' %}{% for c in 'abcdefghij' %}"
         "{% for d in 'abcdefghij' %}{% for e in 'abcdefghij' %}{% for f in 'abcdefghij' %}"
         "{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         "longer than 100 ms"),
        ("{% if %}", "line 1"),
]  # fmt: skip


async def test_a_template_reaches_nothing_else_and_is_bounded(gql: Gql) -> None:
    contact, _ = await records(gql)
    for body, says in PROBES:
        made = {"name": "Probe", "subject": "s", "body": body}
        saved = await gql(SAVE, {"input": made})
        if "errors" in saved:  # refused on save: it could never render
            code, message = refused(saved)
        else:
            id = saved["data"]["saveEmailTemplate"]["id"]
            code, message = refused(await gql(RENDER, {"id": id, "c": contact}))
        assert (code, says in message) == ("BAD_USER_INPUT", True), (body, message)
