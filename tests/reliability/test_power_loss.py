"""Killed mid-commit, many times: the journal opens, passes integrity_check, and holds every
sale it acknowledged.

SIGKILL stops the process, not the machine: the operating system still writes what it was
given. What stands in for a power cut here is ``synchronous=FULL`` (checked directly): SQLite
then waits for the disk to confirm each commit before it returns, so an acknowledged commit is
on the platter, not in a cache.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO, cast

from pos_app.domain.payment import PaymentState
from pos_app.journal.db import connect
from pos_app.journal.store import JournalStore

ROOT = Path(__file__).resolve().parents[2]
KILLS = 25


def write_until_killed(journal: Path, prefix: str, acknowledged: int) -> list[str]:
    """Start a writer, read ``acknowledged`` references, SIGKILL it at once: mid-commit."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.power_child", str(journal), prefix],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout = cast("IO[str]", writer.stdout)
    seen = [stdout.readline().strip() for _ in range(acknowledged)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    stdout.close()
    assert all(seen), "the writer stopped before it was killed"
    return seen


def test_every_acknowledged_sale_survives_being_killed_mid_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    acknowledged: list[str] = []
    for kill in range(KILLS):
        acknowledged += write_until_killed(path, f"K{kill}", 1 + kill % 7)
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    journal = JournalStore.open(path)
    for reference in acknowledged:
        payment = journal.get(reference)
        assert payment is not None, f"{reference} was acknowledged but is gone"
        assert (payment.state, payment.captured_minor) == (PaymentState.CAPTURED, 2050)
    journal.close()


def test_the_journal_waits_for_the_disk_on_every_commit(tmp_path: Path) -> None:
    conn = connect(tmp_path / "journal.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()
