"""Secrets and card numbers never reach a log line."""

import logging
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pos_app.platform.log import RedactingFilter
from pos_app.platform.redaction import REDACTED, SECRET_KEYS, luhn_valid, redact, redact_mapping


def test_card_numbers_are_masked_to_last_four() -> None:
    text = "paid with 4242 4242 4242 4242 and 4000-0000-0000-0002, also 378282246310005"
    out = redact(text)
    assert "4242 4242 4242 4242" not in out
    assert "[CARD ****4242]" in out
    assert "[CARD ****0002]" in out
    assert "[CARD ****0005]" in out


def test_digit_runs_that_are_not_cards_stay() -> None:
    assert redact("order 1234567890123 total 1799") == "order 1234567890123 total 1799"
    assert not luhn_valid("1234567890123")


def test_secret_fields_and_tokens_are_masked() -> None:
    body = (
        '{"client_id": "test_abc", "client_secret": "s3cr3t-value", '
        '"card": {"number": "4242424242424242", "verification": "123"}}'
    )
    out = redact(body)
    assert "s3cr3t-value" not in out
    assert "4242424242424242" not in out
    assert '"verification": "[REDACTED]"' in out
    assert "test_abc" in out  # client ids are not secret
    assert "abc.def.ghi" not in redact("Authorization: Bearer abc.def.ghi")
    assert "sk_sbox_abcdefgh1234" not in redact("key sk_sbox_abcdefgh1234")


def test_the_gaps_found_by_trying_are_closed() -> None:
    """Each of these reached a DEBUG log before (issue: money truth, staff and secrets)."""
    cases = {
        "Authorization: Basic dXNlcjpzM2NyM3Q=": "dXNlcjpzM2NyM3Q=",
        "cvv2=737&amount=100": "737",
        "card[cvc]=737&card[number]=x": "737",
        "card%5Bcvc%5D=737": "737",
        '{"security_code": "7373"}': "7373",
        "X-Api-Key: pf_live_0123456789": "pf_live_0123456789",
        "card 4242.4242.4242.4242 ok": "4242.4242.4242.4242",
        "card 4242\u00a04242\u00a04242\u00a04242 ok": "4242\u00a04242",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), text
    assert "[CARD ****4242]" in redact("card 4242.4242.4242.4242 ok")


def test_mapping_redaction_is_deep() -> None:
    data = {"a": [{"cvc": "999"}], "Authorization": "Bearer xyz", "amount": 1799}
    assert redact_mapping(data) == {
        "a": [{"cvc": "[REDACTED]"}],
        "Authorization": "[REDACTED]",
        "amount": 1799,
    }


def test_log_filter_redacts_arguments_and_exceptions() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "card %s secret=%s", ("4242424242424242", "hunter2"), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == "card [CARD ****4242] secret=[REDACTED]"


def test_a_secret_named_inside_another_value_is_still_masked() -> None:
    assert redact('{"note": "secret=hunter2", "phone_number": "555"}') == (
        '{"note": "secret=[REDACTED]", "phone_number": "[REDACTED]"}'
    )
    assert "tok-123" not in redact("X-Recharge-Access-Token: tok-123")


# The straightforward patterns redact() was first written with: slow (about 1 ms on a 2 kB
# response body, paid on every provider response), but obviously right. The fast version
# must mask exactly what they mask.
_KEYS = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
_PLAIN_PAIR = re.compile(
    rf"""(?P<k>["']?(?:{_KEYS})(?:\]|%5D)?["']?\s*[:=]\s*)(?P<q>["']?)(?P<v>[^"'&,\s}}]+)""",
    re.IGNORECASE,
)
_PLAIN_BEARER = re.compile(r"(?i)\b(bearer|basic|api-key)\s+[A-Za-z0-9._~+/=-]{6,}")
_PLAIN_KEY = re.compile(r"\b(sk|pk)_(sbox_|test_|live_)?[A-Za-z0-9]{8,}\b")
_PLAIN_DIGITS = re.compile(r"(?<!\d)(?:\d[ .\u00a0\u202f-]?){12,18}\d(?!\d)")


def plain_redact(text: str) -> str:
    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return f"[CARD ****{digits[-4:]}]" if luhn_valid(digits) else match.group(0)

    text = _PLAIN_BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PLAIN_PAIR.sub(lambda m: f"{m.group('k')}{m.group('q')}{REDACTED}", text)
    text = _PLAIN_KEY.sub(REDACTED, text)
    return _PLAIN_DIGITS.sub(card, text)


_PIECES = st.sampled_from(
    [
        *SECRET_KEYS,
        "Card_Number", "CLIENT_SECRET", "shipping", "phone_", "x.", "-", "_", "id",
        '"', "'", ":", "=", " ", ",", "&", "{", "}", "\n",
        "4242", "4242424242424242", "4000 0000 0000 0002", "2026-11-22", "7", "0",
        "Bearer ", "api-key ", "sk_sbox_", "pk_", "abcdefgh12",
        "é", "ſ", "\u212a", "\u0664\u0662", "ß",  # case folding and non-ASCII digits
    ]
)  # fmt: skip


@settings(database=None, deadline=None, max_examples=400)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_fast_redaction_masks_exactly_what_the_plain_patterns_mask(text: str) -> None:
    assert redact(text) == plain_redact(text)
