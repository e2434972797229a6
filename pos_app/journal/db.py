"""Opening the journal database: WAL, full fsync on commit, foreign keys, migrations."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING

from pos_app.journal.migrations import migrate

if TYPE_CHECKING:
    from pathlib import Path


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the journal at ``path``.

    ``check_same_thread=False`` is for a connection a caller guards with its own lock.

    ``synchronous=FULL`` makes every acknowledged commit survive power loss, not
    just a crash: these rows are the app's memory of money.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Reads of a year of payments (search, reports) go faster memory-mapped.
    conn.execute("PRAGMA mmap_size=268435456")
    # Two tills may share one journal: wait for the other's write rather than fail.
    conn.execute("PRAGMA busy_timeout=15000")
    if new:
        os.chmod(path, 0o600)
    migrate(conn)
    return conn
