"""ISO 4217 currencies and their minor units: a table this project owns.

What a stored count of minor units means must never depend on a library's data. CLDR (Babel)
changes its "digits" between releases — Babel 2.19 gives HUF 0 decimals where 2.18 gave 2 —
and CLDR follows cash usage, not the standard: IQD has 0 digits in CLDR and 3 in ISO 4217.
Payment providers count in ISO 4217's minor units, so that is what a ``Money`` counts in.
Babel only formats (``money.format_money``).

The table is ISO 4217 "List One" (current funds), minor unit column, as published by the
maintenance agency (SIX) with the amendments up to number 179 (2025): XCG replaces ANG, ZWG
replaces ZWL, SLE replaces SLL. Codes whose minor unit is "N.A." (precious metals, SDR, test and
"no currency" codes) are not money a till takes and are left out. Withdrawn codes that a journal
written by an earlier version may still hold (ANG, BGN, CUC, HRK, SLL, ZWL) are kept, with the
minor unit they had, so old sales still read back.

Where a provider counts a currency differently, its own folder says so (see
``providers/checkout_com/limits.py``); nothing here bends for one provider.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MINOR_UNITS", "is_currency", "minor_units"]

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP"
    " BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR"
    " FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR"
    " KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR"
    " MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK"
    " SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN"
    " UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)


def _table() -> dict[str, int]:
    table: dict[str, int] = {}
    for places, codes in ((0, _ZERO), (2, _TWO), (3, _THREE), (4, _FOUR)):
        for code in codes.split():
            assert code not in table, f"{code} listed twice"
            table[code] = places
    return dict(sorted(table.items()))


MINOR_UNITS: Final[Mapping[str, int]] = MappingProxyType(_table())


def is_currency(code: object) -> bool:
    """True for an upper-case code in the table (``"usd"`` is not a code; normalize first)."""
    return isinstance(code, str) and code in MINOR_UNITS


def minor_units(code: str) -> int:
    """Decimal places of ``code`` per ISO 4217; KeyError for a code not in the table."""
    return MINOR_UNITS[code]
