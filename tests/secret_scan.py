"""pytest plugin: no test may leave a secret in a DEBUG log, an error or any file it wrote.

For every test, pos_app's, httpx's and httpcore's loggers run at DEBUG and each record is kept
rendered with its args and traceback, as the app's log handler receives it (before that
handler's own RedactingFilter, which is a last net, not an excuse). After the call, and again
after teardown, these records, the text of exceptions that failed the test, and every file
the test left under its tmp_path (where tests/conftest.py also puts HOME and the XDG folders)
are scanned with tests/secret_files.py: journals (their bytes and their rows) and their
-wal/-shm, log files, settings and other config files, crash reports, QtWebEngine profile
storage and caches, binary files as text too; the sandbox's own state is the provider's side
and only read for the tokens it issued. What is looked for (tests/secret_detectors.py): the
sandbox's credentials and issued tokens, card numbers (Luhn-valid, with a network's prefix
and length), CVC values, raw bearer/API-key credentials.

A finding fails the test (or, when only its teardown leaked, errors it), saying what leaked
and where, masked. ``--secret-scan-report FILE`` also writes totals (tests, files and bytes
scanned, hits) as JSON, for benchmarks/reliability.py.
Registered in pyproject.toml (``-p tests.secret_scan``); ``-p no:tests.secret_scan`` turns it
off, e.g. to measure its cost.
"""

from __future__ import annotations

import bisect
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter  # bound now: a test may patch time.perf_counter
from typing import TYPE_CHECKING

import pytest

from tests.secret_detectors import (
    _DIGIT_RUN,
    SANDBOX_SECRETS,
    Finding,
    excerpt,
    find_secrets,
    scan_text,
)
from tests.secret_files import ScanCache, scan_left_files, scan_tree

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Mapping

__all__ = [
    "SANDBOX_SECRETS",
    "_DIGIT_RUN",
    "RecordCollector",
    "find_secrets",
    "scan_left_files",
    "scan_records",
]

WATCHED_LOGGERS = ("pos_app", "httpx", "httpcore")


class RecordCollector(logging.Handler):
    """Keeps every record as (logger name, message with args and traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: keep the raw parts
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
_files_key = pytest.StashKey[tuple[int, int]]()


@dataclass
class _Tally:
    """Totals over the session, for ``--secret-scan-report``."""

    tests: int = 0
    files_scanned: int = 0
    bytes_scanned: int = 0
    seconds: float = 0.0  # spent scanning: the plugin's cost
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "tests": self.tests,
            "files_scanned": self.files_scanned,
            "bytes_scanned": self.bytes_scanned,
            "scan_seconds": round(self.seconds, 2),
            "hits": len(self.problems),
            "problems": self.problems[:20],
        }


_tally = _Tally()
# This test's files already scanned: after teardown only what changed since the call is read.
_file_cache: ScanCache = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--secret-scan-report",
        type=Path,
        default=None,
        help="write the secret scan's totals (tests, files scanned, hits) to this JSON file",
    )


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
    report_file = config.getoption("secret_scan_report", None)
    if isinstance(report_file, Path):
        report_file.write_text(json.dumps(_tally.as_json(), indent=2) + "\n")
    for name, level in _saved_levels.items():
        logger = logging.getLogger(name)
        logger.removeHandler(_collector)
        logger.setLevel(level)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _collector.lines = []
    _file_cache.clear()
    item.stash[_errors_key] = []
    item.stash[_reported_key] = set()
    item.stash[_files_key] = (0, 0)
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
    started = perf_counter()
    problems = [p for p in _scan(item) if p not in item.stash[_reported_key]]
    _tally.seconds += perf_counter() - started
    item.stash[_reported_key].update(problems)
    _tally.problems += problems
    if call.when == "teardown":  # the last look saw every file the test left
        _tally.tests += 1
        files, size = item.stash.get(_files_key, (0, 0))
        _tally.files_scanned += files
        _tally.bytes_scanned += size
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
        tree = scan_tree(root, SANDBOX_SECRETS, _file_cache)
        item.stash[_files_key] = (tree.files_scanned, tree.bytes_scanned)
        problems = tree.problems
        known.update(tree.tokens)
    problems += scan_records(lines, known)
    for text in errors:
        problems += scan_text("the exception that failed the test", text, known)
    return list(dict.fromkeys(problems))
