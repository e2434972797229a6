"""The bad-input battery's cases: what a cashier (or a broken profile) might type, and the
specific answer each must get before anything is recorded or sent.

A case is (amount text, description, currency, locale) with the expected field, code and
message. The USD cases use JustiFi's real limits (0.51 to 999,999.99 USD).
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_app.providers.justifi.limits import amount_limits
from pos_app.providers.types import AmountLimits

USD = amount_limits("USD")
JPY = AmountLimits("JPY", 50, 99_999_999)
KWD = AmountLimits("KWD", 100, 999_999_999)

# The answers, as the cashier reads them.
EMPTY = "Enter an amount."
NOT_A_NUMBER = "Enter the amount in digits, for example 12.50."
NON_FINITE = "That is not an amount. Enter a number such as 12.50."
EXPONENT = "Type the amount in full, without “e” notation (such as 1e3)."
GROUPING = (
    "The “,” separators are in the wrong place. Type the amount without them, for example 1234.56."
)
GROUPING_DE = (
    "The “.” separators are in the wrong place. Type the amount without them, for example 1234,56."
)
NEGATIVE = "The amount cannot be negative."
ZERO = "The amount must be more than zero."
TOO_PRECISE_USD = "USD amounts have at most 2 decimal places."
TOO_PRECISE_JPY = "JPY amounts have no decimal places."
TOO_PRECISE_KWD = "KWD amounts have at most 3 decimal places."
ABOVE_MAXIMUM = "The largest amount this provider accepts is 999999.99 USD."
BELOW_MINIMUM = "The smallest amount this provider accepts is 0.51 USD."
TOO_LARGE = "That amount is too large."
NO_DESCRIPTION = "Enter a description of what is being sold."
CONTROL = "The description contains invisible control characters; retype it."


def unknown_currency(code: str) -> str:
    return f"“{code}” is not a currency this app knows."


@dataclass(frozen=True)
class BadInput:
    label: str
    amount: str
    field: str
    code: str
    message: str
    description: str = "Two croissants"
    limits: AmountLimits = USD
    locale: str = "en_US"

    def __str__(self) -> str:
        return self.label


def _amount(label: str, text: str, code: str, message: str, **kw: object) -> BadInput:
    return BadInput(label, text, "amount", code, message, **kw)  # type: ignore[arg-type]


def _description(label: str, text: str, code: str, message: str) -> BadInput:
    return BadInput(label, "12.50", "description", code, message, description=text)


def _currency(code: str) -> BadInput:
    limits = AmountLimits(code, 1, 10**9)
    return BadInput(
        f"currency {code!r}",
        "12.50",
        "amount",
        "unknown_currency",
        unknown_currency(code),
        limits=limits,
    )


CASES: tuple[BadInput, ...] = (
    # Nothing there.
    _amount("empty", "", "empty", EMPTY),
    _amount("spaces", "   ", "empty", EMPTY),
    _amount("tab and newline", "\t\n", "empty", EMPTY),
    _amount("no-break space", "\u00a0", "empty", EMPTY),
    # Not finite.
    _amount("NaN", "NaN", "non_finite", NON_FINITE),
    _amount("nan", "nan", "non_finite", NON_FINITE),
    _amount("-NaN", "-NaN", "non_finite", NON_FINITE),
    _amount("inf", "inf", "non_finite", NON_FINITE),
    _amount("-inf", "-inf", "non_finite", NON_FINITE),
    _amount("Infinity", "Infinity", "non_finite", NON_FINITE),
    _amount("+Infinity", "+Infinity", "non_finite", NON_FINITE),
    # Exponent forms.
    _amount("1e3", "1e3", "exponent", EXPONENT),
    _amount("1E-2", "1E-2", "exponent", EXPONENT),
    _amount("2.5e1", "2.5e1", "exponent", EXPONENT),
    # Separators of the wrong locale.
    _amount("German grouping in en_US", "1.234,56", "bad_grouping", GROUPING),
    _amount("comma decimal in en_US", "12,34", "bad_grouping", GROUPING),
    _amount("Indian grouping in en_US", "1,23.45", "bad_grouping", GROUPING),
    _amount("zero with comma decimal", "0,00", "bad_grouping", GROUPING),
    _amount("space grouping in en_US", "1 234.56", "not_a_number", NOT_A_NUMBER),
    _amount("Swiss apostrophe in en_US", "1'234.56", "not_a_number", NOT_A_NUMBER),
    _amount("US grouping in de_DE", "1,234.56", "bad_grouping", GROUPING_DE, locale="de_DE"),
    _amount("point decimal in de_DE", "12.34", "bad_grouping", GROUPING_DE, locale="de_DE"),
    # Signs.
    _amount("negative", "-5", "negative", NEGATIVE),
    _amount("negative zero", "-0", "negative", NEGATIVE),
    _amount("unicode minus", "\u22125", "negative", NEGATIVE),
    _amount("plus sign", "+5", "not_a_number", NOT_A_NUMBER),
    # Zero.
    _amount("zero", "0", "zero", ZERO),
    _amount("zero with decimals", "0.00", "zero", ZERO),
    # Over-precise for the currency.
    _amount("three decimals USD", "17.999", "too_precise", TOO_PRECISE_USD),
    _amount("a tenth of a cent", "0.001", "too_precise", TOO_PRECISE_USD),
    _amount("decimals JPY", "1.5", "too_precise", TOO_PRECISE_JPY, limits=JPY),
    _amount("half a yen", "100.5", "too_precise", TOO_PRECISE_JPY, limits=JPY),
    _amount("four decimals KWD", "1.2345", "too_precise", TOO_PRECISE_KWD, limits=KWD),
    _amount("a tenth of a fils", "0.0001", "too_precise", TOO_PRECISE_KWD, limits=KWD),
    # Provider limits and sheer size.
    _amount("above JustiFi's maximum", "1000000", "outside_limits", ABOVE_MAXIMUM),
    _amount("far above the maximum", "99999999999", "outside_limits", ABOVE_MAXIMUM),
    _amount("below JustiFi's minimum", "0.50", "outside_limits", BELOW_MINIMUM),
    _amount("one cent", "0.01", "outside_limits", BELOW_MINIMUM),
    _amount("70 nines", "9" * 70, "too_large", TOO_LARGE),
    # Not digits.
    _amount("lone point", ".", "not_a_number", NOT_A_NUMBER),
    _amount("trailing point", "5.", "not_a_number", NOT_A_NUMBER),
    _amount("double point", "..5", "not_a_number", NOT_A_NUMBER),
    _amount("two points", "12.5.1", "not_a_number", NOT_A_NUMBER),
    _amount("letters", "12abc", "not_a_number", NOT_A_NUMBER),
    _amount("dollar sign", "$12", "not_a_number", NOT_A_NUMBER),
    _amount("currency code", "12 USD", "not_a_number", NOT_A_NUMBER),
    _amount("Arabic-Indic digits", "١٢", "not_a_number", NOT_A_NUMBER),
    _amount("full-width digits", "１２", "not_a_number", NOT_A_NUMBER),
    _amount("hexadecimal", "0x1F", "not_a_number", NOT_A_NUMBER),
    _amount("underscore grouping", "1_000", "not_a_number", NOT_A_NUMBER),
    _amount("vulgar fraction", "½", "not_a_number", NOT_A_NUMBER),
    _amount("roman numeral", "Ⅻ", "not_a_number", NOT_A_NUMBER),
    # Control and direction characters in the amount.
    _amount("right-to-left override after", "12\u202e", "not_a_number", NOT_A_NUMBER),
    _amount("right-to-left override before", "\u202e21", "not_a_number", NOT_A_NUMBER),
    _amount("NUL inside", "1\x002", "not_a_number", NOT_A_NUMBER),
    _amount("bell", "12\x07", "not_a_number", NOT_A_NUMBER),
    # Currencies a broken profile might carry.
    _currency("US"),
    _currency(""),
    _currency("EURO"),
    _currency("U$D"),
    _currency("ZZZ"),
    _currency(" USD"),
    # Descriptions.
    _description("empty description", "", "empty", NO_DESCRIPTION),
    _description("spaces only", "   ", "empty", NO_DESCRIPTION),
    _description("newline and tab only", "\n\t", "empty", NO_DESCRIPTION),
    _description("ideographic space only", "\u3000", "empty", NO_DESCRIPTION),
    _description(
        "201 characters",
        "x" * 201,
        "too_long",
        "Keep the description under 200 characters (it has 201).",
    ),
    _description(
        "a huge string",
        "ab" * 50_000,
        "too_long",
        "Keep the description under 200 characters (it has 100000).",
    ),
    _description("right-to-left override", "cake\u202egnp.exe", "control_characters", CONTROL),
    _description("NUL", "cake\x00", "control_characters", CONTROL),
    _description("terminal escape", "cake\x1b[31m", "control_characters", CONTROL),
    _description("zero-width space only", "\u200b", "control_characters", CONTROL),
    _description("zero-width space inside", "cake\u200bcake", "control_characters", CONTROL),
    _description("bidi isolates", "\u2066cake\u2069", "control_characters", CONTROL),
    _description("byte order mark", "cake\ufeff", "control_characters", CONTROL),
)
