"""Where a leaked secret may sit on disk, and reading it all with tests/secret_detectors.py.

Every regular file under a folder (journals and their -wal/-shm, logs, settings and other
config files, crash reports, QtWebEngine profile storage and caches...) is read as latin-1,
so binary files are searched too; binary ones also for ASCII kept as UTF-16 (as Chromium
keeps some strings). An SQLite database is also read row by row: in its pages a row's
values sit back to back, so a card number may touch the next value's letters, which the
byte scan would take for an id. The sandbox's own state database is the provider's side:
it must hold its credentials and, like a provider's vault, the card numbers it was given,
so it is only read for the tokens it issued, never counted.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pos_sandbox.state import DB_FILENAME as SANDBOX_DB_FILENAME
from tests.secret_detectors import excerpt, find_secrets

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

# Kinds of sandbox state objects whose id is a bearer credential it handed out.
ISSUED_TOKEN_KINDS = ("access_token", "web_component_token")
SQLITE_MAGIC = b"SQLite format 3\x00"

_NULS = b"\x00" * 64
# Each byte as "p" (printable ASCII), "z" (NUL) or "x", to find UTF-16 text by plain search.
_WIDE = bytes(
    ord("z") if b == 0 else ord("p") if b in b"\t\n\r" or 0x20 <= b <= 0x7E else ord("x")
    for b in range(256)
)
_WIDE_CHAR = b"pz"
_WIDE_TEXT = _WIDE_CHAR * 6


def utf16_text(data: bytes) -> list[str]:
    """The stretches of ASCII kept as UTF-16 (six characters or more)."""
    marks = data.translate(_WIDE)
    found: list[str] = []
    at = marks.find(_WIDE_TEXT)
    while at != -1:
        end = at + len(_WIDE_TEXT)
        while marks.startswith(_WIDE_CHAR, end):
            end += 2
        found.append(data[at:end].decode("utf-16-le"))
        at = marks.find(_WIDE_TEXT, end)
    return found


def file_views(data: bytes) -> Iterator[tuple[str, str]]:
    """The ways a file may hold text: latin-1 (any byte, so UTF-8 and binary files alike)
    and, for binary files, the stretches of ASCII kept as UTF-16. Long runs of NUL bytes
    (page padding, sparse caches) are only slow to search: they shrink to one."""
    if b"\x00" not in data:
        yield "", data.decode("latin-1")
        return
    while _NULS in data:
        data = data.replace(_NULS, b"\x00")
    yield "", data.decode("latin-1")
    wide = utf16_text(data)
    if wide:
        yield " (as UTF-16)", "\n".join(wide)


def database_values(path: Path) -> str | None:
    """Every text and blob value in an SQLite database, one a line, read from a copy (so
    the test's folder gets no -shm of ours) that includes its -wal."""
    with tempfile.TemporaryDirectory(prefix="secret-scan-") as tmp:
        copy = Path(tmp, "copy.sqlite3")
        try:
            shutil.copyfile(path, copy)
            if Path(f"{path}-wal").exists():
                shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        except OSError:
            return None  # removed while we looked
        lines: list[str] = []
        try:
            db = sqlite3.connect(copy)
            try:
                tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                for (table,) in tables.fetchall():
                    quoted = '"' + str(table).replace('"', '""') + '"'
                    try:
                        rows = db.execute(f"SELECT * FROM {quoted}").fetchall()
                    except sqlite3.Error:
                        continue  # a virtual table whose module is not here
                    for row in rows:
                        for value in row:
                            if isinstance(value, str):
                                lines.append(value)
                            elif isinstance(value, bytes):
                                lines.append(value.decode("latin-1"))
            finally:
                db.close()
        except sqlite3.Error:
            return None  # damaged or not really a database: its bytes were read anyway
    return "\n".join(lines)


@dataclass(frozen=True)
class Leak:
    value: str  # what leaked, digits only for a card number: to recognise it elsewhere
    message: str


def leaks_in(where: str, text: str, known: Mapping[str, str]) -> list[Leak]:
    leaks = []
    for finding in find_secrets(text, known):
        value = text[finding.start : finding.end]
        if finding.what.startswith("a card number"):
            value = value.replace(" ", "").replace("-", "")
        leaks.append(Leak(value, f"{finding.what} in {where}: {excerpt(text, finding)}"))
    return leaks


@dataclass(frozen=True)
class FileScan:
    leaks: list[Leak]
    database: bool


def scan_file(path: Path, root: Path, known: Mapping[str, str]) -> FileScan:
    """What one file's bytes leak (nothing if it went away while we looked)."""
    try:
        data = path.read_bytes()
    except OSError:
        return FileScan([], False)
    where = str(path.relative_to(root))
    leaks: list[Leak] = []
    for how, text in file_views(data):
        leaks += leaks_in(where + how, text, known)
    return FileScan(leaks, data.startswith(SQLITE_MAGIC))


@dataclass(frozen=True)
class LeftFiles:
    """The regular files under a folder, by what the scan does with them."""

    stored: list[Path]  # everything the app or a test wrote: to scan
    sandbox_states: list[Path]  # sandbox state databases, to read issued tokens from
    sandbox_files: int = 0  # those and their -wal/-shm, not scanned


def left_files(root: Path) -> LeftFiles:
    stored: list[Path] = []
    states: list[Path] = []
    sandbox = 0
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            try:
                regular = stat.S_ISREG(path.lstat().st_mode)  # no sockets, links or pipes
            except OSError:
                continue  # removed while we looked
            if not regular:
                continue
            if name.startswith(SANDBOX_DB_FILENAME):
                sandbox += 1
                if name == SANDBOX_DB_FILENAME:
                    states.append(path)
            else:
                stored.append(path)
    return LeftFiles(stored, states, sandbox)


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


@dataclass
class TreeScan:
    """What scanning a folder found."""

    files_scanned: int = 0
    bytes_scanned: int = 0
    sandbox_files_skipped: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# A file's bytes' findings, by (path, size, mtime, secrets looked for): what an unchanged
# file held. A database's rows are read again every time (its -wal may have changed).
ScanCache = dict[tuple[Path, int, int, frozenset[str]], FileScan]


def scan_tree(root: Path, secrets: Mapping[str, str], cache: ScanCache | None = None) -> TreeScan:
    """Every regular file under ``root`` (but the sandbox's state), searched for ``secrets``
    and for the tokens the sandbox issued. With a ``cache``, a file unchanged since the last
    look is not read again."""
    files = left_files(root)
    result = TreeScan(sandbox_files_skipped=files.sandbox_files)
    for state in files.sandbox_states:
        result.tokens.update(issued_tokens(state))
    known = {**secrets, **result.tokens}
    looked_for = frozenset(known)
    scanned: dict[Path, FileScan] = {}
    for path in files.stored:
        try:
            info = path.stat()
        except OSError:
            continue  # removed while we looked
        key = (path, info.st_size, info.st_mtime_ns, looked_for)
        found = cache.get(key) if cache is not None else None
        if found is None:
            found = scan_file(path, root, known)
            if cache is not None:
                cache[key] = found
        scanned[path] = found
        result.files_scanned += 1
        result.bytes_scanned += info.st_size
        result.problems += [leak.message for leak in found.leaks]
    for path, found in scanned.items():
        if found.database:
            result.problems += _more_in_rows(path, root, known, scanned)
    return result


def _more_in_rows(
    path: Path, root: Path, known: Mapping[str, str], scanned: Mapping[Path, FileScan]
) -> list[str]:
    """What a database's rows leak that its bytes (file and -wal) did not already show,
    each value once."""
    values = database_values(path)
    if values is None:
        return []
    shown = {
        leak.value
        for sibling in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
        for leak in scanned.get(sibling, FileScan([], False)).leaks
    }
    where = f"{path.relative_to(root)} (its rows)"
    more = []
    for leak in leaks_in(where, values, known):
        if leak.value not in shown:  # once per value: a search index repeats its row
            shown.add(leak.value)
            more.append(leak.message)
    return more


def scan_left_files(root: Path, secrets: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Tokens issued under ``root``, and what the files there leak."""
    result = scan_tree(root, secrets)
    return result.tokens, result.problems
