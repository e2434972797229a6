"""Webhook events already handed on, kept in the journal: a replay is refused after a restart.

The receiver calls ``admit`` from its request threads; one connection of its own, behind a
lock, serves them all (SQLite connections are not shared across threads unguarded).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from pos_app.journal.db import connect
from pos_app.journal.times import to_db

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

# Longer than any provider redelivers (JustiFi and Checkout.com retry for days): an id older
# than this is forgotten, and a delivery that old is refused by its age where it carries one.
KEEP_FOR: Final = timedelta(days=90)


class SeenWebhookEvents:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> SeenWebhookEvents:
        return cls(connect(path, check_same_thread=False))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def admit(self, provider: str, event_id: str, *, now: datetime) -> bool:
        """True the first time (provider, event_id) is seen; False for a repeat."""
        with self._lock:
            inserted = self._conn.execute(
                "INSERT OR IGNORE INTO webhook_events (provider, event_id, received_at) "
                "VALUES (?, ?, ?)",
                (provider, event_id, to_db(now)),
            ).rowcount
            self._conn.execute(
                "DELETE FROM webhook_events WHERE received_at < ?",
                (to_db(now - KEEP_FOR),),
            )
        return inserted == 1
