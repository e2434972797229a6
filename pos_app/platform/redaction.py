"""Scrub secrets and card data out of any text before it is logged or stored.

Used by the log handler and by the provider HTTP client, so a DEBUG log of a
request body never carries a card number, CVC, bearer token or client secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Keys whose values are secret wherever they appear (JSON bodies, form posts, headers).
SECRET_KEYS = frozenset(
    {
        "authorization",
        "client_secret",
        "access_token",
        "refresh_token",
        "secret",
        "password",
        "pin",
        "api_key",
        "x-api-key",
        "x-recharge-access-token",
        "cvc",
        "cvv",
        "cvc2",
        "cvv2",
        "security_code",
        "verification",
        "card_cvc",
        "number",
        "card_number",
        "account_number",
    }
)

_NAMES_LONGEST_FIRST = tuple(sorted(SECRET_KEYS, key=len, reverse=True))
# What follows a secret key name, and its value. A form field may close a bracket first
# (``card[cvc]=123``, or URL-encoded ``card%5Bcvc%5D=123``).
_SEPARATOR = r"""(?:\]|%5[dD])?["']?\s*[:=]\s*["']?"""
_VALUE = r"""(?P<v>[^"'&,\s}]+)"""
_SEPARATOR_VALUE = re.compile(_SEPARATOR + _VALUE)
_BEARER = re.compile(r"(?i)\b(bearer|basic|api-key)\s+[A-Za-z0-9._~+/=-]{6,}")
_PROVIDER_KEY = re.compile(r"\b(sk|pk)_(sbox_|test_|live_)?[A-Za-z0-9]{8,}\b")
# 13-19 digits, optionally grouped by spaces (no-break ones too), dashes or dots: a
# candidate card number.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ .\u00a0\u202f-]?\d){12,18}(?!\d)")
# Where one can be: 13+ characters of digits and those separators (a cheap scan that skips
# the ids and timestamps a response is full of).
_DIGIT_STRETCH = re.compile(r"\d[\d .\u00a0\u202f-]{12,}")
_ASCII_DIGIT_STRETCH = re.compile(r"[0-9][0-9 .-]{12,}")  # the same on ASCII text, 3x faster


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return f"[CARD ****{digits[-4:]}]"
    return match.group(0)


def redact(text: str) -> str:
    """Return text with secret values, bearer tokens, API keys and card numbers masked."""
    lowered = text.casefold()  # as IGNORECASE compares (ſ is s, K is k)
    if "bearer" in lowered or "api-key" in lowered or "basic" in lowered:
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if names := tuple(name for name in _NAMES_LONGEST_FIRST if name in lowered):
        text = _mask_secret_values(text, lowered, names)
    if "sk_" in text or "pk_" in text:
        text = _PROVIDER_KEY.sub(REDACTED, text)
    stretch = _ASCII_DIGIT_STRETCH if text.isascii() else _DIGIT_STRETCH
    return stretch.sub(lambda m: _DIGIT_RUN.sub(_mask_card, m.group(0)), text)


def _mask_secret_values(text: str, lowered: str, names: tuple[str, ...]) -> str:
    """Mask the value in `"key": "value"` / `key=value` / `'key': 'value'` wherever the key is,
    or ends in, one of ``names`` (any case).

    The names are found with str.find and only the separator is matched with a regex: one
    case-insensitive pattern over all names costs ~0.1-1 ms per response body, and every
    provider response goes through here.
    """
    if len(lowered) != len(text):  # casefold changed lengths: positions would not line up
        return _pair_pattern(names).sub(rf"\g<k>{REDACTED}", text)
    starts = sorted((at, len(name)) for name in names for at in _occurrences(lowered, name))
    parts: list[str] = []
    done = 0
    for at, length in starts:
        if at < done:  # inside a value already masked, as re.sub would skip it
            continue
        value = _SEPARATOR_VALUE.match(text, at + length)
        if value is not None:
            parts += (text[done : value.start("v")], REDACTED)
            done = value.end()
    return "".join(parts) + text[done:] if parts else text


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at != -1:
        yield at
        at = haystack.find(needle, at + 1)


@functools.lru_cache(maxsize=64)
def _pair_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?P<k>(?:{alternation}){_SEPARATOR}){_VALUE}", re.IGNORECASE)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_KEYS else v) for k, v in headers.items()}


def redact_mapping(data: Any) -> Any:
    """Deep copy of a JSON-like value with secret keys masked."""
    if isinstance(data, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_KEYS else redact_mapping(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data
