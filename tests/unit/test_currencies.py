"""Our ISO 4217 table agrees with what each provider documents, and nothing else decides."""

from __future__ import annotations

import pytest

from pos_app.config.settings import ProviderProfile, profile_problems
from pos_app.domain.currencies import MINOR_UNITS, is_currency, minor_units
from pos_app.domain.money import Money, MoneyError, parse_amount
from pos_app.providers.checkout_com.limits import DIVIDED_BY_1000, FULL_VALUE, amount_limits
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.registry import PROVIDERS

# ISO 4217's minor units for a sample of currencies, read from the standard's List One.
ISO_SAMPLE = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "HUF": 2, "IDR": 2, "COP": 2, "CHF": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def test_the_table_is_iso_4217s() -> None:
    assert {code: minor_units(code) for code in ISO_SAMPLE} == ISO_SAMPLE
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3, 4}
    # Metals, SDRs and the test code have no minor unit in ISO 4217: not money a till takes.
    assert not any(is_currency(code) for code in ("XAU", "XDR", "XTS", "XXX", "usd", None))


def test_checkout_coms_documented_exponents_agree_with_the_table() -> None:
    """Checkout.com: the full amount for FULL_VALUE, /1000 for DIVIDED_BY_1000, /100 else."""
    assert {minor_units(code) for code in FULL_VALUE} == {0}
    assert {minor_units(code) for code in DIVIDED_BY_1000} == {3}
    for code in ("USD", "EUR", "GBP", "HUF", "IDR"):
        assert amount_limits(code).currency == code
    assert amount_limits("KWD").minimum == 10  # the last digit must be 0


@pytest.mark.parametrize("code", ["CLP", "CLF", "UYI", "UYW"])
def test_a_currency_checkout_com_counts_differently_is_refused_not_rescaled(code: str) -> None:
    with pytest.raises(ConfigurationError, match=f"counts {code}"):
        amount_limits(code)
    profile = ProviderProfile(name="Till", provider="checkout_com", currency=code)
    problems = [p.message for p in profile_problems(profile) if p.field == "currency"]
    assert problems
    assert "cannot take" in problems[0]


def test_other_providers_count_in_the_tables_places() -> None:
    # JustiFi: integer cents of USD or CAD; ReCharge: decimal strings with cents; Payfect: USD.
    assert {minor_units(c) for c in PROVIDERS["justifi"].currencies or ()} == {2}
    assert PROVIDERS["recharge"].exponent == 2
    assert {minor_units(c) for c in PROVIDERS["payfect"].currencies or ()} == {2}


def test_a_code_outside_the_table_is_refused() -> None:
    with pytest.raises(MoneyError) as caught:
        Money(100, "XAU")
    assert caught.value.code == "unknown_currency"
    with pytest.raises(MoneyError):
        parse_amount("1.00", "XTS")
