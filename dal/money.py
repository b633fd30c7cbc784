"""Money: exact decimals, two places, one rounding rule.

Amounts are stored as DynamoDB numbers, which keep the value but not the
scale (100.10 comes back as 100.1), so every amount leaves the server through
``cents``. Derived amounts (a deal's weighted value) are rounded half-even to
cents where they are made, once, here: the pipeline, the forecast and the
dashboard then add up rounded amounts, as a person adding the deals would.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

CENTS = Decimal("0.01")
# Enough digits for any sum of amounts below 10^15 (DynamoDB keeps 38).
_CONTEXT = Context(prec=38)


def cents(amount: Decimal) -> Decimal:
    """``amount`` with exactly two decimals, half-even; zero is never "-0.00"."""
    rounded = amount.quantize(CENTS, rounding=ROUND_HALF_EVEN, context=_CONTEXT)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def weighted(value: Decimal, probability: int) -> Decimal:
    """A deal's value weighted by its probability (percent), in cents."""
    return cents(_CONTEXT.multiply(value, Decimal(probability)) / 100)
