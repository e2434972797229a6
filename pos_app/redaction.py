"""Scrub secrets and card data out of any text before it is logged or stored.

Used by the log handler and by the provider HTTP client, so a DEBUG log of a
request body never carries a card number, CVC, bearer token or client secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
        "x-recharge-access-token",
        "cvc",
        "cvv",
        "verification",
        "card_cvc",
        "number",
        "card_number",
        "account_number",
    }
)

_KEY_ALTERNATION = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
# "key": "value"  /  key=value  /  'key': 'value'
_JSON_PAIR = re.compile(
    rf"""(?P<k>["']?(?:{_KEY_ALTERNATION})["']?\s*[:=]\s*)(?P<q>["']?)(?P<v>[^"'&,\s}}]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|api-key)\s+[A-Za-z0-9._~+/=-]{6,}")
_PROVIDER_KEY = re.compile(r"\b(sk|pk)_(sbox_|test_|live_)?[A-Za-z0-9]{8,}\b")
# 13-19 digits, optionally grouped by spaces or dashes: a candidate card number.
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


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
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JSON_PAIR.sub(lambda m: f"{m.group('k')}{m.group('q')}{REDACTED}", text)
    text = _PROVIDER_KEY.sub(REDACTED, text)
    return _DIGIT_RUN.sub(_mask_card, text)


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
