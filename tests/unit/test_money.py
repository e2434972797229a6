"""Money: parsing what people and providers type, exact conversion, formatting, arithmetic."""

from __future__ import annotations

import decimal
from decimal import Decimal

import babel.numbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.domain.money import (
    MAX_MINOR,
    Money,
    MoneyError,
    currency_exponent,
    format_money,
    known_currencies,
    parse_amount,
)

# No example database: tests must not write files into the project.
FAST = settings(database=None, deadline=None, max_examples=25)
THOROUGH = settings(database=None, deadline=None, max_examples=300)

ALL_CURRENCIES = sorted(known_currencies())
minor_units = st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR)


# --- parsing: a table of what a cashier or a provider might type ------------------------------

GOOD = [
    # text, currency, locale, expected minor units
    ("17.99", "USD", "en_US", 1799),
    (" 17.99 ", "USD", "en_US", 1799),
    ("\t17.99\n", "USD", "en_US", 1799),
    ("1,234.56", "USD", "en_US", 123456),
    ("1234.56", "USD", "en_US", 123456),
    ("1,234,567", "USD", "en_US", 123456700),
    ("0.5", "USD", "en_US", 50),
    (".5", "USD", "en_US", 50),
    ("5", "USD", "en_US", 500),
    ("007.50", "USD", "en_US", 750),
    ("17.990", "USD", "en_US", 1799),  # trailing zero: still exactly 17.99
    ("1799", "JPY", "en_US", 1799),
    ("1,799", "JPY", "en_US", 1799),
    ("1.234", "KWD", "en_US", 1234),
    ("1.2345", "CLF", "en_US", 12345),
    ("1.234,56", "EUR", "de_DE", 123456),
    ("1234,56", "EUR", "de_DE", 123456),
    (",5", "EUR", "de_DE", 50),
    ("1 234,56", "EUR", "fr_FR", 123456),  # typed space for CLDR's narrow no-break space
    ("1\u202f234,56", "EUR", "fr_FR", 123456),
    ("1'234.56", "CHF", "de_CH", 123456),  # typed apostrophe for CLDR's ’
    ("12,34,567.89", "INR", "en_IN", 1234567_89),  # Indian 3-then-2 grouping
    ("92233720368547758.07", "USD", "en_US", MAX_MINOR),
]

BAD = [
    # text, currency, locale, expected code
    ("", "USD", "en_US", "empty"),
    ("   ", "USD", "en_US", "empty"),
    ("\u00a0\t", "USD", "en_US", "empty"),
    ("abc", "USD", "en_US", "not_a_number"),
    ("17.99 USD", "USD", "en_US", "not_a_number"),
    ("$17.99", "USD", "en_US", "not_a_number"),
    ("17.999", "USD", "en_US", "too_precise"),
    ("1.5", "JPY", "en_US", "too_precise"),
    ("1.2345", "KWD", "en_US", "too_precise"),
    ("0.001", "USD", "en_US", "too_precise"),
    ("NaN", "USD", "en_US", "non_finite"),
    ("nan", "USD", "en_US", "non_finite"),
    ("sNaN", "USD", "en_US", "non_finite"),
    ("inf", "USD", "en_US", "non_finite"),
    ("Infinity", "USD", "en_US", "non_finite"),
    ("-Infinity", "USD", "en_US", "non_finite"),
    ("+inf", "USD", "en_US", "non_finite"),
    ("1e3", "USD", "en_US", "exponent"),
    ("1E-2", "USD", "en_US", "exponent"),
    ("1.5e+2", "USD", "en_US", "exponent"),
    ("-5", "USD", "en_US", "negative"),
    ("\u22125", "USD", "en_US", "negative"),  # MINUS SIGN counts as a minus
    ("-0", "USD", "en_US", "negative"),
    ("+5", "USD", "en_US", "not_a_number"),
    ("--5", "USD", "en_US", "not_a_number"),
    ("5-", "USD", "en_US", "not_a_number"),
    ("-", "USD", "en_US", "not_a_number"),
    ("- 5", "USD", "en_US", "not_a_number"),
    ("0", "USD", "en_US", "zero"),
    ("0.00", "USD", "en_US", "zero"),
    ("000", "USD", "en_US", "zero"),
    ("1,23.45", "USD", "en_US", "bad_grouping"),
    ("1.234,56", "USD", "en_US", "bad_grouping"),
    ("12,34", "USD", "en_US", "bad_grouping"),
    ("1234,567", "USD", "en_US", "bad_grouping"),
    ("17.99", "EUR", "de_DE", "bad_grouping"),  # US habit in a German till: never guess
    ("1,234,567.00", "INR", "en_IN", "bad_grouping"),
    ("12 34", "USD", "en_US", "not_a_number"),
    ("5.", "USD", "en_US", "not_a_number"),
    ("1,234.", "USD", "en_US", "not_a_number"),
    (".", "USD", "en_US", "not_a_number"),
    ("1..5", "USD", "en_US", "not_a_number"),
    ("1.2.3", "USD", "en_US", "not_a_number"),
    (",123", "USD", "en_US", "not_a_number"),
    ("1,,234", "USD", "en_US", "not_a_number"),
    ("17.99\u202e", "USD", "en_US", "not_a_number"),  # bidi override
    ("\u200e17.99", "USD", "en_US", "not_a_number"),  # bidi mark
    ("\x00", "USD", "en_US", "not_a_number"),
    ("17\x0099", "USD", "en_US", "not_a_number"),
    ("\x1c17.99", "USD", "en_US", "not_a_number"),  # str.strip() would have eaten this
    ("١٧", "USD", "en_US", "not_a_number"),  # Arabic-Indic digits: ASCII digits only
    ("１７", "USD", "en_US", "not_a_number"),  # fullwidth digits
    ("17.99", "XYZ", "en_US", "unknown_currency"),
    ("92233720368547758.08", "USD", "en_US", "too_large"),
    ("9" * 10_000, "USD", "en_US", "too_large"),
    ("1" + "0" * 9_999, "JPY", "en_US", "too_large"),
    ("a" * 10_000, "USD", "en_US", "not_a_number"),
    ("," * 10_000, "USD", "en_US", "not_a_number"),
    ("1" * 5_000 + "x", "USD", "en_US", "not_a_number"),
]


@pytest.mark.parametrize(("text", "currency", "locale", "minor"), GOOD)
def test_parse_accepts(text: str, currency: str, locale: str, minor: int) -> None:
    assert parse_amount(text, currency, locale=locale) == Money(minor, currency)


@pytest.mark.parametrize(("text", "currency", "locale", "code"), BAD)
def test_parse_refuses_with_code(text: str, currency: str, locale: str, code: str) -> None:
    with pytest.raises(MoneyError) as caught:
        parse_amount(text, currency, locale=locale)
    assert caught.value.code == code
    _assert_cashier_sentence(str(caught.value))


def _assert_cashier_sentence(message: str) -> None:
    assert message[0].isupper() or message[0] == "“"
    assert message.endswith(".")
    for jargon in ("Decimal", "InvalidOperation", "Traceback", "regex", "None"):
        assert jargon not in message


def _code(text: str, currency: str = "USD", **kwargs: object) -> str:
    with pytest.raises(MoneyError) as caught:
        parse_amount(text, currency, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


def test_messages_name_the_limit() -> None:
    cases = {
        ("17.999", "USD"): "USD amounts have at most 2 decimal places.",
        ("1.5", "JPY"): "JPY amounts have no decimal places.",
        ("1.2345", "KWD"): "KWD amounts have at most 3 decimal places.",
        ("", "USD"): "Enter an amount.",
        ("0", "USD"): "The amount must be more than zero.",
        ("-1", "USD"): "The amount cannot be negative.",
    }
    for (text, currency), expected in cases.items():
        with pytest.raises(MoneyError, match=expected):
            parse_amount(text, currency)


def test_not_a_number_message_shows_a_local_example() -> None:
    with pytest.raises(MoneyError, match=r"12,50\.$"):
        parse_amount("abc", "EUR", locale="de_DE")
    with pytest.raises(MoneyError, match=r"example 12\.$"):
        parse_amount("abc", "JPY")


def test_sign_and_zero_are_opt_in() -> None:
    assert parse_amount("-5", "USD", allow_negative=True) == Money(-500, "USD")
    assert parse_amount("0", "USD", allow_zero=True) == Money(0, "USD")
    assert parse_amount("-0", "USD", allow_negative=True, allow_zero=True).is_zero
    assert _code("-0", allow_negative=True) == "zero"
    assert _code("-17.999", allow_negative=True) == "too_precise"
    assert _code("+5", allow_negative=True) == "not_a_number"


def test_maximum() -> None:
    limit = Money(50_000, "USD")
    assert parse_amount("500.00", "USD", maximum=limit) == limit
    with pytest.raises(MoneyError, match=r"at most \$500\.00\.") as caught:
        parse_amount("500.01", "USD", maximum=limit)
    assert caught.value.code == "too_large"
    assert _code("1", maximum=Money(100, "EUR")) == "currency_mismatch"


def test_exponent_argument_only_tightens() -> None:
    # A provider that takes HUF without decimals.
    assert parse_amount("150", "HUF", exponent=0) == Money(15_000, "HUF")
    assert _code("1.50", "HUF", exponent=0) == "too_precise"
    # A provider that sends ISK with two decimals: zeros are fine, real cents cannot exist.
    assert parse_amount("100.00", "ISK", exponent=2) == Money(100, "ISK")
    assert _code("100.50", "ISK", exponent=2) == "too_precise"


def test_parse_ignores_the_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 2
        ctx.traps[decimal.Inexact] = True
        assert parse_amount("123456.78", "USD") == Money(12_345_678, "USD")
        assert Money.from_decimal(Decimal("123456.78"), "USD").minor == 12_345_678


def test_parse_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        parse_amount(17.99, "USD")  # type: ignore[arg-type]


@given(st.text(max_size=40))
@THOROUGH
def test_parse_never_crashes_on_any_text(text: str) -> None:
    for locale in ("en_US", "de_DE"):
        try:
            result = parse_amount(text, "USD", locale=locale, allow_zero=True, allow_negative=True)
        except MoneyError as exc:
            _assert_cashier_sentence(str(exc))
        else:
            assert isinstance(result, Money)


@given(st.text(alphabet="0123456789.,-", min_size=1, max_size=20))
@THOROUGH
def test_accepted_text_means_exactly_its_digits(text: str) -> None:
    try:
        result = parse_amount(text, "KWD", allow_zero=True, allow_negative=True)
    except MoneyError:
        return
    # en_US: drop the grouping commas and the number Decimal reads is the amount, unrounded.
    assert result.to_decimal() == Decimal(text.replace(",", ""))


# --- round trips over every currency ------------------------------------------------------------


# Each example checks every currency of our table, so no currency is left to chance.
EDGES = [0, 1, -1, 9, 10, 99, 100, 101, MAX_MINOR, -MAX_MINOR]


def _assert_plain_round_trip(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert parse_amount(money.plain(), currency, allow_negative=True, allow_zero=True) == money


def _assert_formatted_round_trip(minor: int, currency: str, locale: str) -> None:
    money = Money(minor, currency)
    formatted = format_money(money, locale)
    number = _number_part(formatted, currency, locale)
    parsed = parse_amount(number, currency, locale=locale, allow_negative=True, allow_zero=True)
    assert parsed == money, (formatted, number)


@given(minor=minor_units)
@settings(database=None, deadline=None, max_examples=100)
def test_plain_round_trips_in_every_currency(minor: int) -> None:
    for currency in ALL_CURRENCIES:
        _assert_plain_round_trip(minor, currency)


@pytest.mark.parametrize("minor", EDGES)
def test_plain_round_trips_at_the_edges(minor: int) -> None:
    for currency in ALL_CURRENCIES:
        _assert_plain_round_trip(minor, currency)


def _number_part(formatted: str, currency: str, locale: str) -> str:
    """The amount inside Babel's output, with the currency symbol or code taken out first.

    Symbols may contain separator characters (XCG is "Cg."), so remove whole symbols before
    filtering; then keep only what a number is made of in this locale.
    """
    symbol = babel.numbers.get_currency_symbol(currency, locale)
    text = formatted
    for token in sorted({symbol, currency}, key=len, reverse=True):
        text = text.replace(token, "")
    keep = set("0123456789-") | {
        babel.numbers.get_decimal_symbol(locale),
        babel.numbers.get_group_symbol(locale),
    }
    number = "".join(ch for ch in text if ch in keep)
    dropped = [ch for ch in text if ch not in keep]
    assert all(not ch.isdigit() for ch in dropped), (formatted, dropped)
    return number


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
@given(minor=minor_units)
@settings(database=None, deadline=None, max_examples=40)
def test_formatted_round_trips_in_every_currency(locale: str, minor: int) -> None:
    for currency in ALL_CURRENCIES:
        _assert_formatted_round_trip(minor, currency, locale)


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
@pytest.mark.parametrize("minor", EDGES)
def test_formatted_round_trips_at_the_edges(locale: str, minor: int) -> None:
    for currency in ALL_CURRENCIES:
        _assert_formatted_round_trip(minor, currency, locale)


# How people write grouped numbers in each locale, fixed here rather than read from CLDR so
# that a Babel upgrade cannot change what the test expects: (decimal, group marks, grouping).
WRITTEN = {
    "en_US": (".", [","], (3, 3)),
    "de_DE": (",", ["."], (3, 3)),
    "en_IN": (".", [","], (3, 2)),
    "fr_FR": (",", [" ", "\u00a0", "\u202f"], (3, 3)),
    # CLDR 46 (Babel 2.18) prints ’, CLDR 47 (Babel 2.19) prints ': both mean the same.
    "de_CH": (".", ["\u2019", "'"], (3, 3)),
}


def _grouped(money: Money, decimal_mark: str, group: str, grouping: tuple[int, int]) -> str:
    major, _, fraction = money.plain().partition(".")
    primary, secondary = grouping
    parts = [major[-primary:]]
    rest = major[:-primary]
    while rest:
        parts.insert(0, rest[-secondary:])
        rest = rest[:-secondary]
    return group.join(parts) + (decimal_mark + fraction if fraction else "")


@pytest.mark.parametrize("locale", sorted(WRITTEN))
@given(minor=st.integers(min_value=0, max_value=10**15), mark=st.integers(0, 2))
@FAST
def test_locale_grouped_numbers_parse(locale: str, minor: int, mark: int) -> None:
    decimal_mark, groups, grouping = WRITTEN[locale]
    money = Money(minor, "EUR")
    text = _grouped(money, decimal_mark, groups[mark % len(groups)], grouping)
    assert parse_amount(text, "EUR", locale=locale, allow_zero=True) == money


# --- Money itself ---------------------------------------------------------------------------


def test_exponents_are_iso_4217s_with_overrides() -> None:
    assert [currency_exponent(c) for c in ("USD", "JPY", "KWD", "CLF")] == [2, 0, 3, 4]
    # Where CLDR (what Babel knows) disagrees with ISO 4217, ISO wins: HUF is 0 in CLDR 47,
    # IQD is 0 in every CLDR, and providers count them in 2 and 3 places.
    assert [currency_exponent(c) for c in ("HUF", "IQD", "IDR", "COP")] == [2, 3, 2, 2]
    assert currency_exponent("isk", {"ISK": 2}) == 2
    assert currency_exponent("ISK", {"isk": 2}) == 2
    assert currency_exponent("ISK", {"HUF": 0}) == 0
    with pytest.raises(MoneyError) as caught:
        currency_exponent("XYZ", {"XYZ": 2})
    assert caught.value.code == "unknown_currency"


def test_stored_minor_units_mean_the_same_whatever_babel_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Babel upgrade may change CLDR's digits; what 15 050 HUF minor units mean may not."""
    monkeypatch.setattr(babel.numbers, "get_currency_precision", lambda currency: 7)
    money = Money(15_050, "HUF")
    assert money.plain() == "150.50"
    assert money.to_decimal() == Decimal("150.50")
    assert parse_amount("150.50", "HUF") == money
    assert format_money(money, "de_DE") == "150,50\u00a0HUF"


def test_amounts_show_their_iso_decimals_even_where_cldr_has_none() -> None:
    assert format_money(Money(15_050, "HUF"), "en_US") == "HUF150.50"
    assert format_money(Money(1_500_250, "IQD"), "en_US") == "IQD1,500.250"
    assert format_money(Money(1_799, "JPY"), "en_US") == "¥1,799"


def test_known_currencies() -> None:
    codes = known_currencies()
    assert {"USD", "EUR", "JPY", "KWD", "CLF"} <= codes
    assert all(code == code.upper() and len(code) == 3 for code in codes)


def test_money_normalizes_and_validates() -> None:
    assert Money(1, "usd") == Money(1, "USD")
    assert Money(1, "usd").currency == "USD"
    assert hash(Money(1, "usd")) == hash(Money(1, "USD"))
    for bad_minor in (True, 17.99, 17.0, Decimal(17), "17"):
        with pytest.raises(MoneyError) as caught:
            Money(bad_minor, "USD")  # type: ignore[arg-type]
        assert caught.value.code == "not_integer"
    for bad_currency in ("XYZ", "", " USD", "US", 840):
        with pytest.raises(MoneyError) as caught:
            Money(1, bad_currency)  # type: ignore[arg-type]
        assert caught.value.code == "unknown_currency"
    with pytest.raises(MoneyError) as caught:
        Money(MAX_MINOR + 1, "USD")
    assert caught.value.code == "too_large"
    assert Money(-MAX_MINOR, "USD").is_negative


def test_to_decimal_and_plain() -> None:
    assert Money(1799, "USD").to_decimal() == Decimal("17.99")
    assert str(Money(1799, "USD").to_decimal()) == "17.99"
    assert str(Money(0, "USD").to_decimal()) == "0.00"
    assert str(Money(1799, "JPY").to_decimal()) == "1799"
    assert Money(1799, "USD").plain() == "17.99"
    assert Money(1799, "JPY").plain() == "1799"
    assert Money(1500, "KWD").plain() == "1.500"
    assert Money(-100, "USD").plain() == "-1.00"
    assert Money(-5, "USD").plain() == "-0.05"
    assert Money(5, "CLF").plain() == "0.0005"


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD", "CLF"])
@given(minor=minor_units)
@FAST
def test_from_decimal_is_exact(currency: str, minor: int) -> None:
    money = Money(minor, currency)
    as_decimal = money.to_decimal()
    assert as_decimal.as_tuple().exponent == -money.exponent
    assert Money.from_decimal(as_decimal, currency) == money
    # One more non-zero digit can never be absorbed silently.
    finer = as_decimal + Decimal((0, (1,), -money.exponent - 1))
    with pytest.raises(MoneyError) as caught:
        Money.from_decimal(finer, currency)
    assert caught.value.code in {"too_precise", "too_large"}


def test_from_decimal_edges() -> None:
    assert Money.from_decimal(Decimal("17.990"), "USD") == Money(1799, "USD")
    assert Money.from_decimal(Decimal("1E+3"), "JPY") == Money(1000, "JPY")
    assert Money.from_decimal(Decimal("-0.00"), "USD") == Money(0, "USD")
    assert Money.from_decimal(Decimal("1." + "0" * 6000), "USD") == Money(100, "USD")
    assert Money.from_decimal(Decimal("0E-999999"), "USD").is_zero
    cases = {
        Decimal("17.999"): "too_precise",
        Decimal("1E-999999"): "too_precise",
        Decimal("1E+999999"): "too_large",
        Decimal("NaN"): "non_finite",
        Decimal("-Infinity"): "non_finite",
    }
    for value, code in cases.items():
        with pytest.raises(MoneyError) as caught:
            Money.from_decimal(value, "USD")
        assert caught.value.code == code
    with pytest.raises(TypeError):
        Money.from_decimal(17.99, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="no decimal places"):
        Money.from_decimal(Decimal("1.5"), "JPY")


def test_arithmetic_and_comparison() -> None:
    a, b = Money(1799, "USD"), Money(201, "USD")
    assert a + b == Money(2000, "USD")
    assert a - b == Money(1598, "USD")
    assert b - a == Money(-1598, "USD")
    assert -a == Money(-1799, "USD")
    assert b < a
    assert b <= a
    assert a > b
    assert a >= b
    assert a <= a
    assert a >= a
    assert not a < a
    assert Money(0, "USD").is_zero
    assert not Money(0, "USD").is_positive
    assert a.is_positive
    assert (-a).is_negative
    assert sorted([a, b, -a]) == [-a, b, a]
    assert a != Money(1799, "EUR")
    text: object = "17.99"
    assert a != text


@pytest.mark.parametrize(
    "operation",
    [
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: x < y,
        lambda x, y: x <= y,
        lambda x, y: x > y,
        lambda x, y: x >= y,
    ],
)
def test_mixing_currencies_is_refused(operation: object) -> None:
    with pytest.raises(MoneyError) as caught:
        operation(Money(1, "USD"), Money(1, "EUR"))  # type: ignore[operator]
    assert caught.value.code == "currency_mismatch"
    assert "USD" in str(caught.value)
    assert "EUR" in str(caught.value)


def test_arithmetic_with_non_money_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Money(1, "USD") + 1
    with pytest.raises(TypeError):
        Money(1, "USD") < 1  # noqa: B015


def test_overflow_is_refused_not_wrapped() -> None:
    with pytest.raises(MoneyError) as caught:
        Money(MAX_MINOR, "USD") + Money(1, "USD")
    assert caught.value.code == "too_large"


# --- formatting -------------------------------------------------------------------------------


def test_format_money_examples() -> None:
    assert format_money(Money(1799, "USD")) == "$17.99"
    assert format_money(Money(1799, "JPY")) == "¥1,799"
    assert format_money(Money(-100, "USD")) == "-$1.00"
    assert format_money(Money(123456, "EUR"), "de_DE") == "1.234,56\xa0€"
    kwd = format_money(Money(1500, "KWD"))
    assert "KWD" in kwd
    assert kwd.endswith("1.500")
    assert format_money(Money(5, "CLF")).endswith("0.0005")
    assert format_money(Money(0, "USD")) == "$0.00"
