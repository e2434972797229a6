"""Secrets and card numbers never reach a log line."""

import logging

from pos_app.log import RedactingFilter
from pos_app.redaction import luhn_valid, redact, redact_mapping


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
