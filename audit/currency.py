"""ISO 4217 currencies in circulation and their minor units (for amounts in major units)."""

from __future__ import annotations

_CODES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP "
    "MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR "
    "RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT "
    "TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR "
    "ZMW ZWG"
)
_ZERO_DECIMAL = frozenset(
    ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
     "XAF", "XOF", "XPF"))
_THREE_DECIMAL = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))

CURRENCIES: frozenset[str] = frozenset(_CODES.split())

NO_CURRENCY = "(no currency)"
"""The bucket of money at risk whose finding states no currency (None or empty): counted
and shown on its own, never dropped and never added to a currency's total."""


def currency_key(code: str | None) -> str:
    """The money-at-risk bucket of a finding's currency: the code, or NO_CURRENCY where
    none is stated."""
    return code if code else NO_CURRENCY


def minor_units(code: str) -> int:
    """Digits after the decimal mark for a currency (2 unless ISO 4217 says otherwise)."""
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


_STRIPE_UNITS = {"MGA": 0, "ISK": 2}
"""Where Stripe's API amounts count other minor units than ISO 4217: Stripe lists the
ariary among its zero-decimal currencies (ISO: 2), and keeps the krona two-decimal in the
API (ISO: 0; an amount of 100 is 1 ISK)."""


def stripe_minor_units(code: str) -> int:
    """Digits after the decimal mark of a Stripe API amount (`amount` 4999 in EUR is 49.99,
    1000 in JPY is 1000): `minor_units`, but for Stripe's own exceptions."""
    return _STRIPE_UNITS.get(code, minor_units(code))


def is_known(code: str) -> bool:
    return code in CURRENCIES


def decimals(code: object) -> int:
    """Digits to show of an amount in `code`: its minor units where it is a known currency,
    else 2 (an unknown or missing code)."""
    return minor_units(code) if type(code) is str and code in CURRENCIES else 2


def rounded(amount: float, code: object) -> float:
    """`amount` rounded to the minor units of `code` (`decimals`)."""
    return round(amount, decimals(code))


def shown(amount: float, code: object, *, grouped: bool = True) -> str:
    """`amount` as a figure in the minor units of `code` (1,234.56 EUR; 1,235 JPY; 1.381 KWD),
    with thousands grouped unless `grouped` is false; the code itself is not added."""
    return f"{amount:{',' if grouped else ''}.{decimals(code)}f}"


def figure(amount: float, code: object) -> str:
    """`amount` as a message tells it: in the minor units of `code`, thousands grouped (as
    a finding's `:.2f` field reads, and the reports' tables show amounts: "1,594.55",
    "12,500" in JPY), or "(not recorded)" where it is missing (NaN)."""
    return "(not recorded)" if amount != amount else shown(amount, code)
