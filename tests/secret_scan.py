"""pytest plugin: no test may leave a secret in a DEBUG log, a journal, a log file or an error.

For every test, pos_app's, httpx's and httpcore's loggers run at DEBUG and each record is kept
rendered with its args and traceback, as the app's log handler receives it (before that
handler's own RedactingFilter, which is a last net, not an excuse). After the call, and again
after teardown, these records, the text of exceptions that failed the test, and every journal
database (``*.sqlite*`` but the sandbox's own state) and log file the test left under its
tmp_path are scanned for

* the sandbox's credentials (JustiFi client secret, Checkout.com secret key, ReCharge token,
  Payfect API key, webhook signing secrets) and the access tokens the sandbox issued during
  the test (read from its state database, so no HTTP traffic needs watching);
* card numbers: 13-19 digits, spaces or dashes allowed between them, passing Luhn and with a
  card network's prefix and length (so ids and millisecond timestamps do not count);
* a 3-4 digit value under a CVC field name; an unredacted ``Bearer``/``Api-Key`` credential or
  ``sk_`` secret key.

A finding fails the test (or, when only its teardown leaked, errors it), saying what leaked
and where, masked.
Registered in pyproject.toml (``-p tests.secret_scan``); ``-p no:tests.secret_scan`` turns it
off, e.g. to measure its cost.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import sqlite3
import traceback
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from pos_app.sandbox.cards import TEST_CARDS
from pos_app.sandbox.checkout_com import SANDBOX_SECRET_KEY
from pos_app.sandbox.justifi import SANDBOX_CLIENT_SECRET
from pos_app.sandbox.payfect import SANDBOX_PAYFECT_API_KEY
from pos_app.sandbox.recharge import SANDBOX_RECHARGE_TOKEN
from pos_app.sandbox.state import DB_FILENAME as SANDBOX_DB_FILENAME
from pos_app.sandbox.webhooks import DEFAULT_SECRETS

WATCHED_LOGGERS = ("pos_app", "httpx", "httpcore")

SANDBOX_SECRETS: dict[str, str] = {
    SANDBOX_CLIENT_SECRET: "the JustiFi sandbox client secret",
    SANDBOX_SECRET_KEY: "the Checkout.com sandbox secret key",
    SANDBOX_RECHARGE_TOKEN: "the ReCharge sandbox access token",
    SANDBOX_PAYFECT_API_KEY: "the Payfect sandbox API key",
    **{secret: f"the {name} webhook signing secret" for name, secret in DEFAULT_SECRETS.items()},
}
# Kinds of sandbox state objects whose id is a bearer credential it handed out.
ISSUED_TOKEN_KINDS = ("access_token", "web_component_token")

# A card number stands alone: never glued to letters, digits or hyphens on either side, so
# the all-digit stretches of UUIDs and hex ids (request ids, idempotency keys) are not one.
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z-])")
_CVC = re.compile(
    r"""(?i)\b(?:card_)?(?:cvc2?|cvv2?|cvn|csc|security_code|verification(?:_value)?)["'\]]?"""
    r"""\s*[:=]\s*["']?([0-9]{3,4})(?![0-9])"""
)
_CREDENTIAL = re.compile(
    r"(?i)\b(?:bearer|api-key)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{12,}"
    r"|(?-i:\bsk_(?:sbox_|test_|live_)?[A-Za-z0-9]{8,})"
)
_MASTERCARD = re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)")


def luhn_valid(digits: str) -> bool:
    """Our own, not pos_app.redaction's: a bug there must not hide a leak here."""
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
    for match in _CVC.finditer(text):
        found.append(Finding("a CVC", match.start(1), match.end(1)))
    for match in _CREDENTIAL.finditer(text):
        found.append(Finding("a raw credential", match.start(), match.end()))
    return found


def excerpt(text: str, finding: Finding, context: int = 40) -> str:
    """The finding in its context, the secret itself masked to its first and last characters
    (enough to recognise it, too little to reuse it)."""
    value = text[finding.start : finding.end]
    masked = value[:2] + "…" + value[-2:] if len(value) > 6 else "…"
    before = text[max(0, finding.start - context) : finding.start]
    after = text[finding.end : finding.end + context]
    return repr(before + masked + after)


class RecordCollector(logging.Handler):
    """Keeps every record as (logger name, message with args and traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string: keep the raw parts
            text = f"{record.msg!r} % {record.args!r}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append((record.name, text))


def scan_records(lines: list[tuple[str, str]], secrets: Mapping[str, str]) -> Iterator[str]:
    """One scan over all records joined (much cheaper than one per record)."""
    if not lines:
        return
    starts: list[int] = []
    offset = 0
    for _, text in lines:
        starts.append(offset)
        offset += len(text) + 1
    blob = "\n".join(text for _, text in lines)
    for finding in find_secrets(blob, secrets):
        index = bisect.bisect_right(starts, finding.start) - 1
        name, text = lines[index]
        local = Finding(finding.what, finding.start - starts[index], finding.end - starts[index])
        yield f"{finding.what} in a log record of {name!r}: {excerpt(text, local)}"


def scan_text(where: str, text: str, secrets: Mapping[str, str]) -> Iterator[str]:
    for finding in find_secrets(text, secrets):
        yield f"{finding.what} in {where}: {excerpt(text, finding)}"


@dataclass(frozen=True)
class LeftFiles:
    """What a test left under its tmp_path that matters here."""

    stored: list[Path]  # journals and log files, to scan
    sandbox_states: list[Path]  # sandbox state databases, to read issued tokens from


def left_files(root: Path) -> LeftFiles:
    stored: list[Path] = []
    states: list[Path] = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name == SANDBOX_DB_FILENAME:
                states.append(Path(folder, name))
            elif name.startswith(SANDBOX_DB_FILENAME):
                continue  # its -wal/-shm: the provider's own records, not ours
            elif ".sqlite" in name or name.endswith(".log") or ".log." in name:
                stored.append(Path(folder, name))
    return LeftFiles(stored, states)


def issued_tokens(state_db: Path) -> dict[str, str]:
    """Bearer tokens the sandbox handed out, from its state database."""
    marks = ", ".join("?" for _ in ISSUED_TOKEN_KINDS)
    try:
        db = sqlite3.connect(f"{state_db.as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                f"SELECT kind, id FROM objects WHERE kind IN ({marks})", ISSUED_TOKEN_KINDS
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}  # not one of its databases after all, or still locked: nothing to add
    return {token: f"a sandbox-issued {kind}" for kind, token in rows}


def scan_left_files(root: Path, secrets: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Tokens issued in the test, and what its stored files leak."""
    files = left_files(root)
    tokens: dict[str, str] = {}
    for state in files.sandbox_states:
        tokens.update(issued_tokens(state))
    known = {**secrets, **tokens}
    problems: list[str] = []
    for path in files.stored:
        try:
            text = path.read_bytes().decode("latin-1")  # SQLite keeps text as UTF-8 bytes
        except OSError:
            continue  # removed while we looked
        problems += scan_text(str(path.relative_to(root)), text, known)
    return tokens, problems


def exception_texts(excinfo: pytest.ExceptionInfo[BaseException]) -> Iterable[str]:
    """What an exception (and its causes) say; a test's own assertion is not pos_app's."""
    seen: set[int] = set()
    error: BaseException | None = excinfo.value
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if not isinstance(error, AssertionError | pytest.fail.Exception | pytest.skip.Exception):
            yield "".join(traceback.format_exception_only(type(error), error))
        error = error.__cause__ or error.__context__


# -- the plugin ---------------------------------------------------------------------------

_collector = RecordCollector()
_saved_levels: dict[str, int] = {}
_tmp_path_key = pytest.StashKey[Path | None]()
_errors_key = pytest.StashKey[list[str]]()
_reported_key = pytest.StashKey[set[str]]()


class _AsBefore(logging.Filter):
    """Keeps pytest's "Captured log" sections as they were without this plugin: records of the
    watched loggers below the level those loggers had before are ours alone."""

    def __init__(self, levels: Mapping[str, int]) -> None:
        super().__init__()
        self._levels = dict(levels)

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for watched, level in self._levels.items():
            if name == watched or name.startswith(watched + "."):
                return record.levelno >= level
        return True


@pytest.hookimpl(trylast=True)  # after pytest's logging plugin has made its handlers
def pytest_configure(config: pytest.Config) -> None:
    before = {name: logging.getLogger(name).getEffectiveLevel() for name in WATCHED_LOGGERS}
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        _saved_levels[name] = logger.level
        logger.addHandler(_collector)
    reporting = getattr(config.pluginmanager.get_plugin("logging-plugin"), "report_handler", None)
    if isinstance(reporting, logging.Handler):
        reporting.addFilter(_AsBefore(before))


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, level in _saved_levels.items():
        logger = logging.getLogger(name)
        logger.removeHandler(_collector)
        logger.setLevel(level)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _collector.lines = []
    item.stash[_errors_key] = []
    item.stash[_reported_key] = set()
    for name in WATCHED_LOGGERS:  # again for every test: a test may have changed them
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """After the call (so the test itself fails) and again after teardown (for what fixtures
    did on the way out), report what leaked since the last look."""
    report = yield
    if call.when == "setup":
        item.stash[_tmp_path_key] = getattr(item, "funcargs", {}).get("tmp_path")
    if call.excinfo is not None:
        item.stash[_errors_key].extend(exception_texts(call.excinfo))
    if call.when == "setup" and report.passed:
        return report  # the call comes next; look then
    problems = [p for p in _scan(item) if p not in item.stash[_reported_key]]
    item.stash[_reported_key].update(problems)
    if problems:
        text = "secret scan: this test leaked secrets\n" + "\n".join(
            f"  - {problem}" for problem in problems
        )
        if report.failed:  # keep the test's own failure, add ours
            report.sections.append(("secret scan", text))
        else:
            report.outcome = "failed"
            report.longrepr = text
    return report


def _scan(item: pytest.Item) -> list[str]:
    lines, _collector.lines = _collector.lines, []
    errors, item.stash[_errors_key] = item.stash[_errors_key], []
    known: dict[str, str] = dict(SANDBOX_SECRETS)
    problems: list[str] = []
    root = item.stash.get(_tmp_path_key, None)
    if root is not None and root.is_dir():
        tokens, problems = scan_left_files(root, SANDBOX_SECRETS)
        known.update(tokens)
    problems += scan_records(lines, known)
    for text in errors:
        problems += scan_text("the exception that failed the test", text, known)
    return list(dict.fromkeys(problems))
