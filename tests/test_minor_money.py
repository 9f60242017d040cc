"""sources.common.minor_money: an amount in minor units as the canonical text, without a
Decimal where the digits allow, against `money(parse_minor(...))`."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from audit.currency import CURRENCIES, minor_units
from audit.sources.common import BadValue, minor_money, money, parse_minor


def _outcome(function: Callable[[str, str], str], text: str, currency: str) -> object:
    try:
        return function(text, currency)
    except BadValue as exc:
        return ("BadValue", str(exc))


def _exact(text: str, currency: str) -> str:
    return money(parse_minor(text, currency))


@pytest.mark.parametrize(("text", "currency", "expected"), [
    ("4499", "EUR", "44.99"), ("4499", "usd", "44.99"), ("+7", "EUR", "0.07"),
    ("0", "EUR", "0.00"), ("-0", "EUR", "0.00"), ("007", "GBP", "0.07"),
    ("4499", "JPY", "4499"), ("1", "BHD", "0.001"), (" 12 ", "EUR", "0.12"),
    ("123456789012345678", "EUR", "1234567890123456.78"),
    ("1234567890123456789012", "EUR", "12345678901234567890.12"),  # past 18: Decimal's way
])
def test_known_amounts(text: str, currency: str, expected: str) -> None:
    assert minor_money(text, currency) == expected == _exact(text, currency)


@pytest.mark.parametrize("text", ["٤٤٩٩", "４４９９", "44٩9"])
def test_another_scripts_digits_are_refused_by_both_readings(text: str) -> None:
    """Arabic-Indic or full-width digits were read as 44.99 (int() and Decimal() take any
    script's digits): no export writes them; quarantined naming the first, as a generic
    log's amount is."""
    got = _outcome(minor_money, text, "EUR")
    assert got == _outcome(_exact, text, "EUR")
    assert isinstance(got, tuple) and got[1].startswith("digits other than ASCII 0-9 (")


@pytest.mark.parametrize("text", ["-4499", "-1234567890123456789012"])
def test_a_negative_amount_is_refused_by_both_readings(text: str) -> None:
    """Stripe's amounts are magnitudes: a minus sign is refused (it was dropped)."""
    assert _outcome(minor_money, text, "usd") == _outcome(_exact, text, "usd") == (
        "BadValue", "negative amount (this export writes amounts as magnitudes: a refund is "
        "told by its kind, not by a sign)")


def test_an_integer_longer_than_python_reads_still_gives_decimals_text() -> None:
    text = "9" * 5000  # int() refuses more than 4,300 digits; Decimal does not (it rounds
    assert minor_money(text, "EUR") == _exact(text, "EUR")  # to 28 digits when scaled)


def test_equals_the_decimal_reading_on_generated_texts() -> None:
    rng = random.Random(7)
    by_units: dict[int, str] = {}
    for code in sorted(CURRENCIES):
        by_units.setdefault(minor_units(code), code)
    assert set(by_units) >= {0, 2, 3}
    currencies = [*by_units.values(), "usd", "Eur", "XXX", ""]
    bad = 0
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 22)))
        text = (rng.choice(["", "-", "+", " ", "-0"]) + digits
                + rng.choice(["", "", " ", "\t", ".5", "e2", "x"]))
        if rng.random() < 0.02:
            text = rng.choice(["", " ", "-", "+", "1,5", "١٢", "٤٤٩٩"])
        currency = rng.choice(currencies)
        got = _outcome(minor_money, text, currency)
        assert got == _outcome(_exact, text, currency), (text, currency)
        bad += isinstance(got, tuple)
    assert 2_000 < bad < 18_000  # both readings' errors compared, not only values


def test_amounts_shown_in_minor_units() -> None:
    """Reports show an amount in its currency's minor units; an unknown or missing code
    keeps two decimals."""
    from audit.currency import rounded, shown
    from reports.view import money
    assert [shown(1234.5, c) for c in ("EUR", "JPY", "KWD", None, "XYZ")] == [
        "1,234.50", "1,234", "1,234.500", "1,234.50", "1,234.50"]
    assert shown(1234.5, "EUR", grouped=False) == "1234.50"
    assert [rounded(0.0164, c) for c in ("KWD", "EUR", "JPY")] == [0.016, 0.02, 0.0]
    assert money(1.391, "KWD") == "1.391 KWD"
