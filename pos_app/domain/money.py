"""Money: an integer count of minor units plus an ISO 4217 currency.

Exponents (how many minor units make a major unit) are ISO 4217's, from the table in
``currencies.py`` that this project owns: a Babel (CLDR) upgrade can change how an amount
*looks*, never what stored minor units mean. Providers that accept fewer decimals pass an
explicit ``exponent`` when parsing, and ``currency_exponent(..., overrides)`` tells their
mapping code how to convert their integers.

Nothing here uses ``float``. Text is validated with regular expressions before it becomes a
``Decimal``, and a ``Decimal`` becomes minor units by exact digit arithmetic, never by rounding.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Final

from pos_app.domain.currencies import MINOR_UNITS, minor_units

if TYPE_CHECKING:
    from collections.abc import Mapping

    from babel.numbers import NumberPattern

__all__ = [
    "MAX_MINOR",
    "Money",
    "MoneyError",
    "currency_exponent",
    "format_money",
    "known_currencies",
    "parse_amount",
]

# Minor units must fit a signed 64-bit integer: SQLite INTEGER and most provider APIs.
# Symmetric so that negating any Money is always valid.
MAX_MINOR: Final = 2**63 - 1

# Longer input cannot be a valid amount (MAX_MINOR has 19 digits); refuse it before any work.
_MAX_TEXT_LENGTH: Final = 64

# Surrounding characters we strip: ordinary whitespace and the no-break spaces that Babel puts
# around currency symbols (so a pasted formatted amount still parses). Not str.strip(): that
# would also strip the ASCII separator control characters \x1c-\x1f.
_STRIP_CHARS: Final = " \t\r\n\f\v\u00a0\u202f"

_MINUS_SIGNS: Final = frozenset({"-", "\u2212"})
_PLUS_SIGN: Final = "+"
_SPACE_GROUPS: Final = frozenset({" ", "\u00a0", "\u202f"})
_APOSTROPHE_GROUPS: Final = frozenset({"'", "\u2019"})

_NON_FINITE_RE: Final = re.compile(r"s?nan[0-9]*|inf(?:inity)?", re.IGNORECASE)
_EXPONENT_RE: Final = re.compile(r"[0-9.,]*[0-9][eE][+\-\u2212]?[0-9]+")

_MAX_EXPONENT: Final = 18


class MoneyError(ValueError):
    """An amount or currency was refused.

    ``code`` is a short stable string for programs; ``str(exc)`` is a sentence for the cashier.
    """

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- currencies -----------------------------------------------------------------------------


@cache
def known_currencies() -> frozenset[str]:
    """Every ISO 4217 code of our own table (``currencies.MINOR_UNITS``), upper case."""
    return frozenset(MINOR_UNITS)


def _normalize_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency.upper() not in known_currencies():
        raise MoneyError("unknown_currency", f"“{currency}” is not a currency this app knows.")
    return currency.upper()


def _iso_exponent(currency: str) -> int:
    return minor_units(currency)


def _check_exponent(exponent: int) -> int:
    if isinstance(exponent, bool) or not isinstance(exponent, int):
        raise TypeError(f"exponent must be an int, not {type(exponent).__name__}")
    if not 0 <= exponent <= _MAX_EXPONENT:
        raise ValueError(f"exponent must be between 0 and {_MAX_EXPONENT}, not {exponent}")
    return exponent


def currency_exponent(currency: str, overrides: Mapping[str, int] | None = None) -> int:
    """Decimal places of ``currency``: ISO 4217's, unless ``overrides`` (a provider's) say so.

    Override keys are matched case-insensitively. Unknown currencies raise ``MoneyError``.
    """
    code = _normalize_currency(currency)
    if overrides:
        for key, value in overrides.items():
            if key.upper() == code:
                return _check_exponent(value)
    return _iso_exponent(code)


# --- Money ----------------------------------------------------------------------------------


def _too_precise(currency: str, places: int) -> MoneyError:
    if places == 0:
        limit = "no decimal places"
    elif places == 1:
        limit = "at most 1 decimal place"
    else:
        limit = f"at most {places} decimal places"
    return MoneyError("too_precise", f"{currency} amounts have {limit}.")


def _too_large() -> MoneyError:
    return MoneyError("too_large", "That amount is too large.")


def _decimal_to_minor(value: Decimal, currency: str, places: int, canonical: int) -> int:
    """Exact ``value * 10**canonical``; refuses anything with non-zero digits past ``places``.

    Works on the digit tuple, so the decimal context (precision, rounding) never applies.
    """
    if not value.is_finite():
        raise MoneyError("non_finite", "That is not an amount.")
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int)  # finite, so never 'n'/'N'/'F'
    if not any(digits):
        return 0
    # Digits of the coefficient past `places` decimal places must be zero; then drop them, so a
    # Decimal("1.000…") with thousands of zeros never becomes a huge int.
    kept = len(digits) + exp + places
    if kept < len(digits):
        if kept <= 0 or any(digits[kept:]):
            raise _too_precise(currency, places)
        exp += len(digits) - kept
        digits = digits[:kept]
    if value.adjusted() + canonical > len(str(MAX_MINOR)) - 1:
        raise _too_large()  # checked before building 10**n so huge exponents stay cheap
    scale: int = 10 ** (exp + canonical)  # exp + canonical >= 0 here
    minor = int("".join(map(str, digits))) * scale
    return -minor if sign else minor


def _compare_key(a: Money, b: object) -> tuple[int, int] | None:
    if not isinstance(b, Money):
        return None
    a._require_same_currency(b)
    return a.minor, b.minor


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """``minor`` units of ``currency``; ``Money(1799, "USD")`` is $17.99.

    The currency is stored upper case. ``minor`` must be an ``int`` (not ``bool``, not ``float``)
    with ``abs(minor) <= MAX_MINOR``.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", _normalize_currency(self.currency))
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(
                "not_integer",
                f"An amount in minor units must be a whole number, not {self.minor!r}.",
            )
        if abs(self.minor) > MAX_MINOR:
            raise _too_large()

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str, *, exponent: int | None = None) -> Money:
        """Exact conversion; never rounds.

        ``exponent`` is the most decimal places the caller accepts (a provider's precision);
        it can only tighten the currency's own exponent, because the result is always stored in
        the ISO 4217 exponent. Non-zero digits past the limit raise ``MoneyError("too_precise")``;
        trailing zeros (``Decimal("17.990")``) are fine because the value is still exact.
        """
        if not isinstance(value, Decimal):
            raise TypeError(f"from_decimal needs a Decimal, not {type(value).__name__}")
        code = _normalize_currency(currency)
        canonical = _iso_exponent(code)
        places = canonical if exponent is None else min(_check_exponent(exponent), canonical)
        return cls(_decimal_to_minor(value, code, places, canonical), code)

    def to_decimal(self) -> Decimal:
        """Exactly ``exponent`` places: ``Money(1799, "USD").to_decimal() == Decimal("17.99")``."""
        digits = tuple(int(d) for d in str(abs(self.minor)))
        return Decimal((int(self.minor < 0), digits, -self.exponent))

    def plain(self) -> str:
        """Locale-free text: ``"17.99"``, ``"1799"`` (JPY), ``"1.500"`` (KWD), ``"-1.00"``."""
        exp = self.exponent
        sign = "-" if self.minor < 0 else ""
        if exp == 0:
            return f"{sign}{abs(self.minor)}"
        major, fraction = divmod(abs(self.minor), 10**exp)
        return f"{sign}{major}.{fraction:0{exp}d}"

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    @property
    def is_positive(self) -> bool:
        return self.minor > 0

    @property
    def is_negative(self) -> bool:
        return self.minor < 0

    def _require_same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(
                "currency_mismatch",
                f"Cannot combine {self.currency} and {other.currency} amounts.",
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: object) -> bool:
        key = _compare_key(self, other)
        return NotImplemented if key is None else key[0] < key[1]

    def __le__(self, other: object) -> bool:
        key = _compare_key(self, other)
        return NotImplemented if key is None else key[0] <= key[1]

    def __gt__(self, other: object) -> bool:
        key = _compare_key(self, other)
        return NotImplemented if key is None else key[0] > key[1]

    def __ge__(self, other: object) -> bool:
        key = _compare_key(self, other)
        return NotImplemented if key is None else key[0] >= key[1]


# --- parsing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Syntax:
    """The separators a locale uses, and the regular expression of a well-formed number."""

    decimal: str
    groups: frozenset[str]
    allowed: frozenset[str]
    number: re.Pattern[str]


@cache
def _syntax(locale: str) -> _Syntax:
    import babel.numbers  # imported on first use: it costs start-up time
    from babel import Locale

    decimal = babel.numbers.get_decimal_symbol(locale)
    group = babel.numbers.get_group_symbol(locale)
    # People type an ordinary space or apostrophe where CLDR prints a no-break space or ’,
    # and CLDR itself moves between them (Swiss German: ’ until CLDR 46, ' since 47).
    if group in _SPACE_GROUPS:
        groups = _SPACE_GROUPS
    elif group in _APOSTROPHE_GROUPS:
        groups = _APOSTROPHE_GROUPS
    else:
        groups = frozenset({group})
    primary, secondary = Locale.parse(locale).decimal_formats[None].grouping
    g = "[" + "".join(re.escape(s) for s in sorted(groups)) + "]"
    integer = rf"[0-9]+|[0-9]{{1,{secondary}}}(?:{g}[0-9]{{{secondary}}})*{g}[0-9]{{{primary}}}"
    number = re.compile(rf"(?P<int>{integer})?(?:{re.escape(decimal)}(?P<frac>[0-9]+))?")
    # Signs are not in the set: only the one leading minus, removed before this check, is legal.
    allowed = frozenset("0123456789") | {decimal} | groups
    return _Syntax(decimal, groups, allowed, number)


def _example(syntax: _Syntax, places: int) -> str:
    return "12" if places == 0 else "12" + syntax.decimal + ("50" + "0" * places)[:places]


def _not_a_number(syntax: _Syntax, places: int) -> MoneyError:
    return MoneyError(
        "not_a_number",
        f"Enter the amount in digits, for example {_example(syntax, places)}.",
    )


def _classify_bad_characters(body: str, syntax: _Syntax, places: int) -> MoneyError:
    """Name the mistake in text that contains characters a number never has."""
    if _NON_FINITE_RE.fullmatch(body):
        return MoneyError(
            "non_finite",
            f"That is not an amount. Enter a number such as {_example(syntax, places)}.",
        )
    if _EXPONENT_RE.fullmatch(body):
        return MoneyError(
            "exponent",
            "Type the amount in full, without “e” notation (such as 1e3).",
        )
    return _not_a_number(syntax, places)


def _classify_bad_layout(body: str, syntax: _Syntax, places: int) -> MoneyError:
    """Name the mistake in text made only of digits and separators that is still malformed."""
    separators = syntax.groups | {syntax.decimal}
    misplaced = (
        body.count(syntax.decimal) > 1
        or body[0] in separators
        or body[-1] in separators
        or any(a in separators and b in separators for a, b in pairwise(body))
    )
    if misplaced or not any(ch in syntax.groups for ch in body):
        return _not_a_number(syntax, places)
    shown = min(syntax.groups)
    return MoneyError(
        "bad_grouping",
        f"The “{shown}” separators are in the wrong place. "
        f"Type the amount without them, for example 1234{syntax.decimal}56.",
    )


def _split_sign(text: str, syntax: _Syntax, places: int) -> tuple[bool, str]:
    """Return (negative, rest). One leading minus is a sign; a leading '+' is refused."""
    if text[0] == _PLUS_SIGN:
        rest = text[1:]
        if _NON_FINITE_RE.fullmatch(rest):
            raise _classify_bad_characters(rest, syntax, places)
        raise _not_a_number(syntax, places)
    if text[0] in _MINUS_SIGNS:
        return True, text[1:]
    return False, text


def parse_amount(
    text: str,
    currency: str,
    *,
    locale: str = "en_US",
    allow_zero: bool = False,
    allow_negative: bool = False,
    exponent: int | None = None,
    maximum: Money | None = None,
) -> Money:
    """Parse what a cashier or a provider typed into an exact ``Money``; strict, never rounds.

    Rules, with the ``MoneyError.code`` each failure carries:

    - Only surrounding whitespace (including no-break spaces) is stripped. Nothing left: ``empty``.
    - Digits are ASCII 0-9. The decimal and group symbols are the locale's (Babel): ``1,234.56``
      in en_US, ``1.234,56`` in de_DE. Where the locale groups with a (no-break) space, an
      ordinary space also works; where it uses ’, an apostrophe also works.
    - Grouping is optional (``1234.56`` is fine) but, when used, every separator must sit where
      the locale puts it (threes in most locales, 3-then-2 in en_IN), and never after the
      decimal symbol: ``1,23.45``, ``12,34`` and en_US ``1.234,56`` give ``bad_grouping``.
    - ``.5`` means 0.5. A trailing decimal symbol (``5.``), a leading or doubled separator, or
      two decimal symbols give ``not_a_number``.
    - ``NaN``/``inf``/``Infinity`` (any case, any sign): ``non_finite``. ``1e3``: ``exponent``.
    - A leading ``-`` (or U+2212) when ``allow_negative`` is false: ``negative`` (even ``-0``).
      A ``+`` sign, letters, other symbols, control or bidi characters: ``not_a_number``.
    - Non-zero digits beyond the exponent: ``too_precise`` (``17.999`` USD, ``1.5`` JPY).
      Trailing zeros are accepted (``17.990`` USD is exactly 17.99). ``exponent`` may tighten
      the currency's own limit; see ``Money.from_decimal``.
    - Zero when ``allow_zero`` is false: ``zero``. Above ``maximum``, longer than 64 characters
      or beyond ``MAX_MINOR``: ``too_large``. Unknown currency: ``unknown_currency``.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_amount needs text, not {type(text).__name__}")
    code = _normalize_currency(currency)
    canonical = _iso_exponent(code)
    places = canonical if exponent is None else min(_check_exponent(exponent), canonical)
    syntax = _syntax(locale)

    stripped = text.strip(_STRIP_CHARS)
    if not stripped:
        raise MoneyError("empty", "Enter an amount.")
    negative, body = _split_sign(stripped, syntax, places)
    if not body:
        raise _not_a_number(syntax, places)
    if any(ch not in syntax.allowed for ch in body):
        raise _classify_bad_characters(body, syntax, places)
    if len(stripped) > _MAX_TEXT_LENGTH:
        has_digits = any(ch.isascii() and ch.isdigit() for ch in body)
        raise _too_large() if has_digits else _not_a_number(syntax, places)
    match = syntax.number.fullmatch(body)
    if match is None or not (match["int"] or match["frac"]):
        raise _classify_bad_layout(body, syntax, places)
    if negative and not allow_negative:
        raise MoneyError("negative", "The amount cannot be negative.")

    integer = "".join(ch for ch in match["int"] or "0" if ch.isascii() and ch.isdigit())
    value = Decimal(f"{'-' if negative else ''}{integer}.{match['frac'] or '0'}")
    result = Money(_decimal_to_minor(value, code, places, canonical), code)

    if result.is_zero and not allow_zero:
        raise MoneyError("zero", "The amount must be more than zero.")
    if maximum is not None and result > maximum:
        raise MoneyError("too_large", f"The amount can be at most {format_money(maximum, locale)}.")
    return result


# --- formatting -----------------------------------------------------------------------------


def format_money(m: Money, locale: str = "en_US") -> str:
    """The locale's currency format, always with exactly ``m.exponent`` (ISO 4217) decimals.

    ``"$17.99"``, ``"¥1,799"``, ``"-$1.00"`` in en_US; ``"17,99 $"`` (no-break space) in de_DE.
    """
    pattern = _currency_pattern(locale, m.exponent)
    # The value already has exactly that many places, so quantizing can never round.
    text: str = pattern.apply(m.to_decimal(), locale, currency=m.currency, currency_digits=False)
    return text


@cache
def _currency_pattern(locale: str, places: int) -> NumberPattern:
    """The locale's standard currency pattern with ``places`` fraction digits, whatever CLDR's
    own digits for the currency are (CLDR's HUF has 0 since Babel 2.19; ISO 4217 says 2)."""
    from babel import Locale

    pattern: NumberPattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern
