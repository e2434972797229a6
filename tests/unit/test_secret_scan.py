"""The secret scan (tests/secret_scan.py) catches leaks and leaves ordinary data alone.

Secrets are planted outside this test's own tmp_path and in handlers of our own, so the scan
that watches every test does not flag these tests themselves.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from pos_sandbox.server import SANDBOX_CLIENT_SECRET
from pos_sandbox.state import DB_FILENAME, Store
from tests.secret_scan import (
    SANDBOX_SECRETS,
    RecordCollector,
    find_secrets,
    scan_left_files,
    scan_records,
)

if TYPE_CHECKING:
    import pytest

REPO = Path(__file__).resolve().parents[2]


def record(message: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord(
        "pos_app.providers.http",
        logging.DEBUG,
        __file__,
        1,
        message,
        args,
        exc_info,  # type: ignore[arg-type]
    )


def leaks_in(*records: logging.LogRecord) -> list[str]:
    collector = RecordCollector()
    for item in records:
        collector.handle(item)
    return list(scan_records(collector.lines, SANDBOX_SECRETS))


def test_a_card_number_in_a_log_records_args_is_caught() -> None:
    leaks = leaks_in(
        record("ok"), record("POST /v1/payment_methods body=%s", {"number": "4242 4242 4242 4242"})
    )
    assert len(leaks) == 1
    assert "a card number (a provider test card)" in leaks[0]
    assert "pos_app.providers.http" in leaks[0]
    assert "4242 4242 4242 4242" not in leaks[0]  # the report itself does not repeat it


def test_a_sandbox_secret_in_a_logged_traceback_is_caught() -> None:
    try:
        raise RuntimeError(f"token request failed: client_secret={SANDBOX_CLIENT_SECRET}")
    except RuntimeError:
        leaks = leaks_in(record("sign-in failed", exc_info=sys.exc_info()))
    assert leaks == [leaks[0]]
    assert "the JustiFi sandbox client secret" in leaks[0]


def test_cvcs_and_raw_credentials_are_caught_but_redacted_ones_are_not() -> None:
    assert [f.what for f in find_secrets('{"cvc": "123"}', {})] == ["a CVC"]
    assert [f.what for f in find_secrets("card[verification]=4321", {})] == ["a CVC"]
    assert find_secrets('{"verification_status": 200, "cvc_check": "pass"}', {}) == []
    assert [f.what for f in find_secrets("verification: 4321", {})] == ["a CVC"]
    assert [f.what for f in find_secrets("Authorization: Bearer eyJhbGciOi.x-y_z", {})] == [
        "a raw credential"
    ]
    assert find_secrets('{"cvc": "[REDACTED]"} Authorization: Bearer [REDACTED]', {}) == []
    assert [f.what for f in find_secrets('"secret_key": "sk_sbox_abcdefgh123"', {})] == [
        "a raw credential"
    ]
    # A PIN's scrypt hash is random base64 and may contain "sk_" followed by letters.
    assert find_secrets("scrypt$256$8$1$YGsCAgzXNYcXBK8obyazQQ==$sk_jMirVtz1H3Y3v3v", {}) == []


def test_ordinary_ids_amounts_and_masked_cards_are_not_flagged() -> None:
    text = (
        "sale S-20261122-7K3M9Q for 17.99 USD (1799 minor), checkout cho_SUs5e6WJ0Wq0bMY9NcFjep, "
        "pay_vflT8hlt6dWCxyz, key 811b3947-b4c8-4fac-b919-b3adbc16690f, expires 1795405490830, "
        "order 1234567890123, card [CARD ****4242], 424242******4242, last4 4242, "
        'phone 0044 2079 460 000, "token_type": "Bearer", amount=100000000'
    )
    assert find_secrets(text, SANDBOX_SECRETS) == []


def test_a_card_number_in_a_journal_is_caught_even_before_a_checkpoint(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("leaky-journal")
    (folder / "data").mkdir()
    journal = sqlite3.connect(folder / "data" / "journal.sqlite3", isolation_level=None)
    try:
        journal.execute("PRAGMA journal_mode=WAL")
        journal.execute("CREATE TABLE payments (reference TEXT, amount_minor INTEGER, note TEXT)")
        journal.execute(
            "INSERT INTO payments VALUES (?, ?, ?)",
            ("S-20261122-7K3M9Q", 1799, "paid by 5555 5555 5555 4444"),
        )
        # Still open: the row is only in journal.sqlite3-wal.
        _, problems = scan_left_files(folder, SANDBOX_SECRETS)
    finally:
        journal.close()
    assert len(problems) == 1
    assert "a card number (a provider test card) in data/journal.sqlite3-wal" in problems[0]


def test_tokens_the_sandbox_issued_are_searched_for_in_stored_files(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("issued")
    state = Store(folder / "sandbox" / DB_FILENAME)
    state.put("access_token", "issued-token-kP3xQ9vZ2", {"client_id": "test"})
    state.close()
    (folder / "pos_app.log").write_text("signed in with issued-token-kP3xQ9vZ2\n")
    tokens, problems = scan_left_files(folder, SANDBOX_SECRETS)
    assert tokens == {"issued-token-kP3xQ9vZ2": "a sandbox-issued access_token"}
    assert problems == [problems[0]]
    assert "a sandbox-issued access_token in pos_app.log" in problems[0]


INNER_TESTS = """
import logging
import sqlite3

def test_clean():
    logging.getLogger("pos_app.demo").debug("charged %s", "[CARD ****4242]")

def test_leaky():
    logging.getLogger("pos_app.demo").debug("charged %s", "4000056655665556")

def test_failing():
    logging.getLogger("pos_app.demo").debug("a detail only the scan reads")
    logging.getLogger("pos_app.demo").warning("a warning the report shows")
    assert False
"""


def test_the_plugin_fails_a_test_that_leaks(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("inner")
    (folder / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    (folder / "pytest.ini").write_text("[pytest]\n")  # not the repo's settings
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.secret_scan", "-p", "no:cacheprovider", "-q"],
        cwd=folder,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 1 passed" in done.stdout
    assert "FAILED test_inner.py::test_leaky - secret scan: this test leaked secrets" in done.stdout
    # DEBUG records are read by the scan but not added to pytest's failure report.
    assert "WARNING  pos_app.demo" in done.stdout
    assert "DEBUG    pos_app.demo" not in done.stdout
    assert "a card number (a provider test card) in a log record of 'pos_app.demo'" in done.stdout


def test_digit_stretches_inside_uuids_are_not_card_numbers() -> None:
    from tests.secret_scan import _DIGIT_RUN

    # A request id whose digits across hyphens pass Luhn with a Visa prefix.
    assert _DIGIT_RUN.search("cko-request-id: 9f0720e1-4111-1111-1111-11111111111a") is None
    assert _DIGIT_RUN.search("card 4111 1111 1111 1111 used") is not None
    assert _DIGIT_RUN.search("pan=4111-1111-1111-1111;") is not None
