"""The simulator's state: objects and idempotency records in SQLite, its clock, its request gate.

Everything here is used from the sandbox's own thread only (the one running its event loop);
the SQLite connection enforces that with ``check_same_thread``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import string
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

DB_FILENAME = "sandbox.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, for newest-first lists
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    json TEXT NOT NULL,
    UNIQUE (kind, id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status      INTEGER,
    body        TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 22) -> str:
    """A provider-style id: prefix plus random base62, e.g. ``cho_qkHk4NXnSV0PVulNY4M8J``."""
    # One draw of random bits, written in base 62 (per-character secrets.choice was a
    # seventh of the server's CPU under load). 6 bits of entropy per character, at least.
    number = int.from_bytes(secrets.token_bytes(length * 6 // 8 + 1), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ID_ALPHABET[digit])
    return prefix + "".join(digits)


def iso(moment: datetime) -> str:
    """UTC timestamp with milliseconds and a Z, as JustiFi writes them."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IdempotencyRecord:
    fingerprint: str
    state: str  # "in_progress" or "done"
    status: int | None
    body: Any


class Store:
    """JSON objects keyed by (kind, id), plus idempotency records, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        # Owner-only before SQLite opens it: its -wal and -shm files copy these permissions.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a mutation and the
        # idempotency record of its response commit together.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; power-loss durability is not needed.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._depth = 0
        # A request that was in flight when the process died never committed its effects
        # (they commit with the record), so its key is free again.
        self._db.execute("DELETE FROM idempotency WHERE state = 'in_progress'")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nesting joins the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- objects -------------------------------------------------------------------------

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT json FROM objects WHERE kind = ? AND id = ?", (kind, object_id)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, kind: str, object_id: str, obj: dict[str, Any]) -> None:
        """Insert or replace; an update keeps the object's place in the creation order."""
        self._db.execute(
            "INSERT INTO objects (kind, id, json) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json",
            (kind, object_id, json.dumps(obj, separators=(",", ":"))),
        )

    def seq_of(self, kind: str, object_id: str) -> int | None:
        row = self._db.execute(
            "SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, object_id)
        ).fetchone()
        return None if row is None else int(row[0])

    def newest_first(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        rows = self._db.execute(
            "SELECT seq, json FROM objects WHERE kind = ? ORDER BY seq DESC", (kind,)
        ).fetchall()
        return [(int(seq), dict(json.loads(text))) for seq, text in rows]

    def delete_kind(self, kind: str) -> None:
        self._db.execute("DELETE FROM objects WHERE kind = ?", (kind,))

    # -- idempotency ---------------------------------------------------------------------

    def claim_key(
        self, scope: str, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None:
        """Claim a key for a new request; None if claimed, else the earlier request's record."""
        row = self._db.execute(
            "SELECT fingerprint, state, status, body FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is not None:
            fingerprint_then, state, status, body = row
            return IdempotencyRecord(
                fingerprint_then, state, status, None if body is None else json.loads(body)
            )
        self._db.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, state, created_at) "
            "VALUES (?, ?, ?, 'in_progress', ?)",
            (scope, key, fingerprint, iso(now)),
        )
        return None

    def finish_key(self, scope: str, key: str, status: int, body: Any) -> None:
        self._db.execute(
            "UPDATE idempotency SET state = 'done', status = ?, body = ? "
            "WHERE scope = ? AND key = ?",
            (status, json.dumps(body, separators=(",", ":")), scope, key),
        )

    def release_key(self, scope: str, key: str) -> None:
        self._db.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))

    # -- meta ----------------------------------------------------------------------------

    def get_meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


class RequestGate:
    """Lets a test park mutating requests after their Idempotency-Key is claimed.

    While held, requests wait before they are applied, so a test can observe what a client
    sees for a request that is still in flight (409 on the same key) without sleeping.
    """

    def __init__(self) -> None:
        self._holding = False
        self._release = asyncio.Event()
        self._changed = asyncio.Condition()
        self._parked = 0

    @property
    def parked(self) -> int:
        return self._parked

    def hold(self) -> None:
        if not self._holding:
            self._holding = True
            self._release = asyncio.Event()

    def release(self) -> None:
        self._holding = False
        self._release.set()

    async def pass_through(self) -> None:
        if not self._holding:
            return
        release = self._release
        await self._set_parked(self._parked + 1)
        try:
            await release.wait()
        finally:
            await self._set_parked(self._parked - 1)

    async def wait_parked(self, count: int) -> None:
        """Returns once at least ``count`` requests are parked (bound it with a timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._parked >= count)

    async def _set_parked(self, value: int) -> None:
        async with self._changed:
            self._parked = value
            self._changed.notify_all()


class Sandbox:
    """What every route shares: the store, the sandbox clock and the request gate.

    The store opens in the app's lifespan, i.e. on the thread that serves requests.
    """

    def __init__(self, state_dir: Path, clock: Callable[[], datetime] | None = None) -> None:
        self.state_dir = state_dir
        self._base_clock = clock or utc_now
        self._offset = timedelta()
        self._store: Store | None = None
        self.gate = RequestGate()
        # Where the JustiFi card form's verified npm files are ("webcomponents_dir",
        # "iframe_resizer_file"): set in-process by SandboxServer.serve_component_assets,
        # never by a request.
        self.component_assets: dict[str, str] = {}

    def open(self) -> None:
        self._store = Store(self.state_dir / DB_FILENAME)
        # The clock offset persists so stored timestamps never lie in the clock's future.
        self._offset = timedelta(seconds=float(self._store.get_meta("clock_offset") or 0))

    def close(self) -> None:
        self.gate.release()
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the sandbox store is not open (is the app's lifespan running?)")
        return self._store

    def now(self) -> datetime:
        base = self._base_clock()
        if base.tzinfo is None:
            base = base.replace(tzinfo=UTC)
        return base + self._offset

    def advance_clock(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        self.store.set_meta("clock_offset", repr(self._offset.total_seconds()))
        return self.now()
