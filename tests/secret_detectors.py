"""What counts as a leaked secret, and where to look for one.

Shared by the pytest plugin (tests/secret_scan.py, every test) and the reliability benchmark
(benchmarks/reliability.py, every file its batteries leave). Looked for:

* the sandbox's credentials (JustiFi client secret, Checkout.com secret key, ReCharge token,
  Payfect API key, webhook signing secrets) and the access tokens the sandbox issued (read
  from its state database);
* card numbers: 13-19 digits, spaces or dashes allowed between them, passing Luhn and with a
  card network's prefix and length (so ids and millisecond timestamps do not count);
* a 3-4 digit value under a CVC field name; an unredacted ``Bearer``/``Api-Key`` credential or
  ``sk_`` secret key.

Where to look (files, databases) is tests/secret_files.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_sandbox.cards import TEST_CARDS
from pos_sandbox.checkout_com.api import SANDBOX_SECRET_KEY
from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY
from pos_sandbox.recharge.api import SANDBOX_RECHARGE_TOKEN
from pos_sandbox.server import SANDBOX_CLIENT_SECRET

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

SANDBOX_SECRETS: dict[str, str] = {
    SANDBOX_CLIENT_SECRET: "the JustiFi sandbox client secret",
    SANDBOX_SECRET_KEY: "the Checkout.com sandbox secret key",
    SANDBOX_RECHARGE_TOKEN: "the ReCharge sandbox access token",
    SANDBOX_PAYFECT_API_KEY: "the Payfect sandbox API key",
    **{secret: f"the {name} webhook signing secret" for name, secret in WEBHOOK_SECRETS.items()},
}

# A card number stands alone: never glued to letters, digits or hyphens on either side, so
# the all-digit stretches of UUIDs and hex ids (request ids, idempotency keys) are not one.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z-])")
_CVC = re.compile(
    r"""(?i)\b(?:card_)?(?:cvc2?|cvv2?|cvn|csc|security_code|verification(?:_value)?)["'\]]?"""
    r"""\s*[:=]\s*["']?([0-9]{3,4})(?![0-9])"""
)
_CREDENTIAL = re.compile(
    r"(?i)\b(?:bearer|api-key)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{12,}"
    # Not inside a base64 run (a PIN's scrypt hash "...$sk_Xy..." is random text, not a key).
    r"|(?-i:(?<![A-Za-z0-9+/=$_-])sk_(?:sbox_|test_|live_)?[A-Za-z0-9]{8,})"
)
# Cheap tests that let find_secrets skip a slow pattern on text that cannot match it.
_CVC_WORDS = ("cvc", "cvv", "cvn", "csc", "security_code", "verification")
_CREDENTIAL_WORDS = ("bearer", "api-key", "sk_")
_MASTERCARD = re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)")


def luhn_valid(digits: str) -> bool:
    """Our own, not pos_app.platform.redaction's: a bug there must not hide a leak here."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """A Luhn-valid number with a card network's prefix and length."""
    length = len(digits)
    if digits[0] == "4":
        fits = length in (13, 16, 19)
    elif digits[:2] in ("34", "37"):
        fits = length == 15
    elif _MASTERCARD.match(digits):
        fits = length == 16
    elif digits[:2] in ("36", "38") or "300" <= digits[:3] <= "305":
        fits = 14 <= length <= 19
    elif digits[0] == "6" or digits[:2] == "35":
        fits = 16 <= length <= 19
    else:
        fits = False
    return fits and luhn_valid(digits)


@dataclass(frozen=True)
class Finding:
    what: str
    start: int
    end: int


def find_secrets(text: str, secrets: Mapping[str, str]) -> list[Finding]:
    """Every known secret, card number, CVC value and raw credential in ``text``."""
    found: list[Finding] = []
    for secret, label in secrets.items():
        at = text.find(secret)
        while at != -1:
            found.append(Finding(label, at, at + len(secret)))
            at = text.find(secret, at + 1)
    for match in _DIGIT_RUN.finditer(text):
        digits = match.group(0).replace(" ", "").replace("-", "")
        if is_card_number(digits):
            known = " (a provider test card)" if digits in TEST_CARDS else ""
            found.append(Finding(f"a card number{known}", match.start(), match.end()))
    lower = text.lower()
    for match in _near_words(_CVC, text, lower, _CVC_WORDS, before=len("card_")):
        found.append(Finding("a CVC", match.start(1), match.end(1)))
    for match in _near_words(_CREDENTIAL, text, lower, _CREDENTIAL_WORDS, before=0):
        found.append(Finding("a raw credential", match.start(), match.end()))
    return found


def _near_words(
    pattern: re.Pattern[str], text: str, lower: str, words: tuple[str, ...], before: int
) -> Iterator[re.Match[str]]:
    """``pattern``'s matches, tried only where one of its words starts (up to ``before``
    characters earlier): searching everywhere is slow on megabytes of journal."""
    if len(lower) != len(text):  # lowering changed the length: positions would not line up
        yield from pattern.finditer(text)
        return
    starts: set[int] = set()
    for word in words:
        at = lower.find(word)
        while at != -1:
            starts.update(range(max(0, at - before), at + 1))
            at = lower.find(word, at + 1)
    end = -1
    for start in sorted(starts):
        if start < end:
            continue  # inside the last match
        match = pattern.match(text, start)
        if match is not None:
            end = match.end()
            yield match


def excerpt(text: str, finding: Finding, context: int = 40) -> str:
    """The finding in its context, the secret itself masked to its first and last characters
    (enough to recognise it, too little to reuse it)."""
    value = text[finding.start : finding.end]
    masked = value[:2] + "…" + value[-2:] if len(value) > 6 else "…"
    before = text[max(0, finding.start - context) : finding.start]
    after = text[finding.end : finding.end + context]
    return repr(before + masked + after)


def scan_text(where: str, text: str, secrets: Mapping[str, str]) -> Iterator[str]:
    for finding in find_secrets(text, secrets):
        yield f"{finding.what} in {where}: {excerpt(text, finding)}"
