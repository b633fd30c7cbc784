"""Money: two decimals out, plain decimals in, one rounding rule for weighted values.

DynamoDB Local, as DynamoDB, keeps numbers without their scale (100.10 comes back
as 100.1): the answer must not show it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Gql, Settle
from tests.support import errors_of

CUSTOMER = 'mutation { createCustomer(input: {id: "cus_m", companyName: "Money"}) { id } }'
DEAL = """mutation($v: Decimal!, $p: Int, $close: Date) {
  createOpportunity(input: {customerId: "cus_m", title: "D", value: $v, probability: $p,
                            expectedCloseDate: $close}) { id value } }"""
LITERAL = """mutation { createOpportunity(input: {customerId: "cus_m", title: "D", value: %s}) {
  value } }"""
READ = """query($id: ID!) { opportunity(id: $id) { value } }"""
FIGURES = """query {
  pipeline { totalValue weightedValue stages { stage totalValue weightedValue } }
  forecast(from: "2031-01-01", to: "2031-01-31", period: MONTH) { totalValue weightedValue }
  dashboard { pipeline { totalValue weightedValue } }
}"""


async def _deal(gql: Gql, value: Any, probability: int | None = None) -> dict[str, Any]:
    variables = {"v": value, "p": 10 if probability is None else probability, "close": "2031-01-15"}
    body: dict[str, Any] = await gql(DEAL, variables)
    return body


async def test_amounts_always_have_two_decimals(gql: Gql) -> None:
    await gql(CUSTOMER)
    for given, shown in (("100.10", "100.10"), ("100", "100.00"), (250, "250.00"), ("0.5", "0.50")):
        body = await _deal(gql, given)
        assert "errors" not in body, body
        made = body["data"]["createOpportunity"]
        assert made["value"] == shown, given
        stored = await gql(READ, {"id": made["id"]})
        assert stored["data"]["opportunity"]["value"] == shown, given


async def test_exponents_and_more_than_two_decimals_are_bad_input(gql: Gql) -> None:
    await gql(CUSTOMER)
    for given in ("1E+2", "1e2", "1.5E1", 1e20, "1.005", "0.001", "12,50", "", "NaN", True):
        body = await _deal(gql, given)
        assert errors_of(body)[0]["extensions"]["code"] == "BAD_USER_INPUT", given
    for literal in ("1E+2", "1.005", '"1e3"'):
        body = await gql(LITERAL % literal)
        assert errors_of(body)[0]["extensions"]["code"] == "BAD_USER_INPUT", literal


async def test_weighted_values_round_half_even_per_deal_everywhere(
    gql: Gql, settle: Settle
) -> None:
    """0.05 at 50% is 0.025: 0.02 (half-even). 0.15 at 50% is 0.075: 0.08. The
    pipeline, the forecast and the dashboard add the rounded amounts."""
    await gql(CUSTOMER)
    for value in ("0.05", "0.05", "0.15"):
        assert "errors" not in await _deal(gql, value, 50)
    await settle()
    figures = (await gql(FIGURES))["data"]
    assert (figures["pipeline"]["totalValue"], figures["pipeline"]["weightedValue"]) == (
        "0.25",
        "0.12",
    )
    lead = next(s for s in figures["pipeline"]["stages"] if s["stage"] == "LEAD")
    assert (lead["totalValue"], lead["weightedValue"]) == ("0.25", "0.12")
    assert figures["forecast"] == [{"totalValue": "0.25", "weightedValue": "0.12"}]
    assert figures["dashboard"]["pipeline"] == {"totalValue": "0.25", "weightedValue": "0.12"}


async def test_only_the_canonical_form_of_an_amount_is_read(gql: Gql) -> None:
    """No spaces, no "+", no leading zeros, ASCII digits only: Arabic-Indic and
    fullwidth digits are digits to a regex's \\d and to Decimal, not to a person
    reading an invoice."""
    await gql(CUSTOMER)
    for given in (
        " 1.00",
        "1.00 ",
        "+1.00",
        "\u0661.\u0660\u0660",
        "\uff11.\uff10\uff10",
        "01.00",
        "1.\u06650",
    ):
        body = await _deal(gql, given)
        assert errors_of(body)[0]["extensions"]["code"] == "BAD_USER_INPUT", given


async def test_zero_is_never_negative(gql: Gql) -> None:
    await gql(CUSTOMER)
    body = await _deal(gql, "-0.00")
    assert body["data"]["createOpportunity"]["value"] == "0.00", body
    made = body["data"]["createOpportunity"]["id"]
    assert (await gql(READ, {"id": made}))["data"]["opportunity"]["value"] == "0.00"
