"""The secret scan reads every file a test or a benchmark run leaves: settings and config
files, crash reports, web profile storage (binary, UTF-16 too), not only journals and logs.

Secrets are planted outside this test's own tmp_path (tmp_path_factory), so the scan that
watches every test does not flag these tests themselves.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pos_sandbox.server import SANDBOX_CLIENT_SECRET
from pos_sandbox.state import DB_FILENAME, Store
from tests.secret_detectors import SANDBOX_SECRETS
from tests.secret_files import ScanCache, scan_tree

REPO = Path(__file__).resolve().parents[2]
CARD = "4000056655665556"  # a provider test card (Visa debit)
# Off-the-record checkout profiles must leave none of these; if one did, it is read.
WEB_STORAGE = "home/data/pos_app/QtWebEngine/Default/Local Storage/leveldb/000003.log"
WEB_CACHE = "home/cache/pos_app/QtWebEngine/Default/Cache/Cache_Data/data_1"


def padded(text: bytes) -> bytes:
    """Text inside a binary file, as storage engines keep it: among NUL padding."""
    return b"\x00" * 4096 + b"\x01\x7f" + text + b"\x00" * 4096


PLANTED = [
    (
        "home/config/pos_app/settings.json",
        json.dumps({"profiles": [{"client_secret": SANDBOX_CLIENT_SECRET}]}).encode(),
        "the JustiFi sandbox client secret",
    ),
    ("etc/pos.toml", f'card = "{CARD}"\n'.encode(), "a card number (a provider test card)"),
    ("etc/pos.ini", b"[card]\ncvc = 737\n", "a CVC"),
    ("etc/pos.conf", b"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc\n", "a raw credential"),
    (
        "home/state/pos_app/log/faulthandler.log",
        f"Fatal Python error: Segmentation fault\n  File charge.py, pan={CARD}\n".encode(),
        "a card number (a provider test card)",
    ),
    (WEB_STORAGE, padded(CARD.encode("utf-16-le")), "a card number (a provider test card)"),
    (WEB_CACHE, padded(b"number=" + CARD.encode()), "a card number (a provider test card)"),
]


@pytest.mark.parametrize(("name", "content", "what"), PLANTED, ids=[p[0] for p in PLANTED])
def test_a_secret_in_any_file_left_behind_is_found_and_named(
    tmp_path_factory: pytest.TempPathFactory, name: str, content: bytes, what: str
) -> None:
    root = tmp_path_factory.mktemp("left")
    path = root / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    (root / "notes.txt").write_text("sale S-20261122-7K3M9Q for 17.99 USD\n")  # 37 bytes

    found = scan_tree(root, SANDBOX_SECRETS)

    assert found.files_scanned == 2
    assert found.bytes_scanned == len(content) + 37
    assert len(found.problems) == 1, found.problems
    assert found.problems[0].startswith(f"{what} in {name}")
    assert CARD not in found.problems[0]
    assert SANDBOX_CLIENT_SECRET not in found.problems[0]


def test_a_card_number_in_a_journal_row_is_found_though_its_bytes_touch_the_next_value(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SQLite keeps a row's values back to back: "...4444captured" looks like part of an id
    to a byte scan. The rows are read too, once each, and a leak the bytes already showed
    is not counted twice."""
    root = tmp_path_factory.mktemp("journal")
    journal = sqlite3.connect(root / "journal.sqlite3")
    journal.execute("CREATE TABLE payments (description TEXT, state TEXT, note TEXT)")
    journal.execute(
        "INSERT INTO payments VALUES (?, ?, ?)",
        (f"paid by {CARD}", "captured", " cvc: 737"),  # a CVC the bytes show as well
    )
    journal.commit()
    journal.close()
    assert CARD.encode() + b"captured" in (root / "journal.sqlite3").read_bytes()

    found = scan_tree(root, SANDBOX_SECRETS)

    assert sorted(p.split(":")[0] for p in found.problems) == [
        "a CVC in journal.sqlite3",
        "a card number (a provider test card) in journal.sqlite3 (its rows)",
    ]
    assert sorted(p.name for p in root.iterdir()) == ["journal.sqlite3"]  # no -shm of ours


def test_the_sandboxs_own_state_is_not_counted_but_its_tokens_are_looked_for(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("provider-side")
    state = Store(root / "data" / "pos_app" / "sandbox" / DB_FILENAME)
    # A provider keeps the card it was given, and the tokens it issued.
    state.put("payment_method", "pm_1", {"number": CARD, "cvc": "737"})
    state.put("access_token", "issued-token-kP3xQ9vZ2", {"client_id": "test"})
    state.close()
    (root / "config.json").write_text('{"token": "issued-token-kP3xQ9vZ2"}')

    found = scan_tree(root, SANDBOX_SECRETS)

    assert found.sandbox_files_skipped >= 1
    assert found.files_scanned == 1
    assert [p.split(":")[0] for p in found.problems] == [
        "a sandbox-issued access_token in config.json"
    ]


def test_a_file_that_changes_after_a_look_is_read_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The plugin looks after the call and again after teardown, reusing the first look
    for files that did not change; one a fixture wrote to on the way out is read again."""
    root = tmp_path_factory.mktemp("teardown")
    log = root / "pos_app.log"
    log.write_text("INFO sale started\n")
    cache: ScanCache = {}
    assert scan_tree(root, SANDBOX_SECRETS, cache).problems == []

    with log.open("a") as out:
        out.write(f"DEBUG body {{'number': '{CARD}'}} and more\n")

    problems = scan_tree(root, SANDBOX_SECRETS, cache).problems
    assert len(problems) == 1
    assert problems[0].startswith("a card number (a provider test card) in pos_app.log")


INNER_TESTS = f"""
import json
import pytest

@pytest.fixture
def crash_report_on_the_way_out(tmp_path):
    yield
    (tmp_path / "crash").mkdir()
    (tmp_path / "crash" / "report.txt").write_text("last request: number={CARD}")

def test_clean(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({{"store_name": "Corner Shop"}}))

def test_settings_leak(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({{"secret": "{SANDBOX_CLIENT_SECRET}"}}))

def test_teardown_leak(crash_report_on_the_way_out):
    pass
"""


def test_the_plugin_fails_leaky_tests_and_reports_its_totals(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("inner")
    (folder / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    (folder / "pytest.ini").write_text("[pytest]\n")  # not the repo's settings
    report = folder / "scan.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.secret_scan",
            "-p",
            "no:cacheprovider",
            "-q",
            "--secret-scan-report",
            str(report),
        ],
        cwd=folder,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed, 1 error" in done.stdout
    assert "FAILED test_inner.py::test_settings_leak - secret scan" in done.stdout
    assert "ERROR test_inner.py::test_teardown_leak - secret scan" in done.stdout
    assert "the JustiFi sandbox client secret in settings.json" in done.stdout
    assert "a card number (a provider test card) in crash/report.txt" in done.stdout
    totals = json.loads(report.read_text())
    assert totals["tests"] == 3
    assert totals["hits"] == 2
    assert totals["files_scanned"] == 3  # two settings files and the crash report
    assert SANDBOX_CLIENT_SECRET not in report.read_text()
    assert CARD not in report.read_text()
