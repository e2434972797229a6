"""Staff rows in the journal database: names, roles, PIN hashes and wrong-PIN counters.

The PIN hash never leaves this module and ``services.users`` (``User`` does not carry it),
so nothing that displays or logs a user can leak it. Wrong PINs are counted in the
database, so a restart does not reset a lock-out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pos_app.domain.users import Role
from pos_app.journal.audit import AuditKey, immediate

if TYPE_CHECKING:
    import sqlite3
    from contextlib import AbstractContextManager


class UserStoreError(Exception):
    """A change to the users table was refused; the message is for the administrator."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    active: bool
    failed_pins: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime
    lockouts: int = 0  # lock-outs since the last right PIN

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return str(self.id)

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


class UserStore:
    """``key`` (the audit trail's, from the OS keyring) seals each row's identity and
    authority — id, name, role, PIN hash, active — so ``sealed`` spots a row planted or
    edited by someone who could write the file. Without a key (no keyring) nothing is
    sealed and every row counts as sealed, as before."""

    def __init__(self, conn: sqlite3.Connection, key: AuditKey | None = None) -> None:
        self.connection = conn
        self._key = key

    def sealed(self, user_id: int) -> bool:
        if self._key is None:
            return True
        row = self.connection.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return row is not None and hmac.compare_digest(str(row["seal"] or ""), self._seal(row))

    def seal_all(self) -> int:
        """Seal every row as it is now: only when the key is first made (trust on first
        use); from then on a row without its seal is not trusted."""
        with self.transaction():
            rows = self.connection.execute("SELECT * FROM users").fetchall()
            for row in rows:
                self._write_seal(row)
        return len(rows)

    def _seal(self, row: sqlite3.Row) -> str:
        assert self._key is not None
        fields = ["pos_app.user/1", row["id"], row["name"], row["role"], row["pin_hash"]]
        encoded = json.dumps([*fields, bool(row["active"])], separators=(",", ":"))
        return hmac.new(self._key.secret, encoded.encode("utf-8"), hashlib.sha256).hexdigest()

    def _write_seal(self, row: sqlite3.Row) -> None:
        if self._key is not None:
            self.connection.execute(
                "UPDATE users SET seal = ? WHERE id = ?", (self._seal(row), row["id"])
            )

    def _reseal(self, user_id: int) -> None:
        row = self.connection.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is not None:
            self._write_seal(row)

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction for a user change and its audit entry (same connection)."""
        return immediate(self.connection)

    def count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def active_admins(self) -> int:
        row = self.connection.execute(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1"
        ).fetchone()
        return int(row[0])

    def all(self) -> list[User]:
        rows = self.connection.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [_user(row) for row in rows]

    def get(self, user_id: int) -> User | None:
        row = self.connection.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def by_name(self, name: str) -> User | None:
        """The user called ``name``, ignoring letter case."""
        row = self.connection.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def add(self, name: str, role: Role, pin_hash: str, *, now: datetime) -> User:
        stamp = _iso(now)
        with self.transaction():
            if self.by_name(name) is not None:
                raise UserStoreError(f"There is already a user called {name}.")
            cursor = self.connection.execute(
                "INSERT INTO users (name, role, pin_hash, created_at, updated_at)"
                " VALUES (?,?,?,?,?)",
                (name, role.value, pin_hash, stamp, stamp),
            )
            self._reseal(int(cursor.lastrowid or 0))
        return self._require(int(cursor.lastrowid or 0))

    def pin_hash(self, user_id: int) -> str:
        row = self.connection.execute(
            "SELECT pin_hash FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        if row is None:
            raise UserStoreError(f"No user with id {user_id}.")
        return str(row["pin_hash"])

    def set_pin_hash(self, user_id: int, pin_hash: str, *, now: datetime) -> User:
        """A new PIN also ends any lock-out: it is how an administrator unlocks someone."""
        return self._update(
            user_id, now, pin_hash=pin_hash, failed_pins=0, lockouts=0, locked_until=None
        )

    def set_role(self, user_id: int, role: Role, *, now: datetime) -> User:
        return self._update(user_id, now, role=role.value)

    def set_active(self, user_id: int, active: bool, *, now: datetime) -> User:
        return self._update(user_id, now, active=int(active))

    def record_wrong_pin(
        self,
        user_id: int,
        *,
        now: datetime,
        limit: int,
        lock_for: timedelta,
        longest: timedelta | None = None,
    ) -> User:
        """Count one wrong PIN; the ``limit``-th locks the user, for ``lock_for`` the first
        time and twice as long each time after (up to ``longest``) until a right PIN.

        The increment is one SQL statement, so two app instances never lose a count.
        """
        with self.transaction():
            row = self.connection.execute(
                "UPDATE users SET failed_pins = failed_pins + 1, updated_at = ?"
                " WHERE id = ? RETURNING failed_pins, lockouts",
                (_iso(now), user_id),
            ).fetchone()
            if row is None:
                raise UserStoreError(f"No user with id {user_id}.")
            if int(row[0]) >= limit:
                span = lock_for * 2 ** min(int(row[1]), 16)
                if longest is not None:
                    span = min(span, longest)
                self.connection.execute(
                    "UPDATE users SET failed_pins = 0, lockouts = lockouts + 1, locked_until = ?"
                    " WHERE id = ?",
                    (_iso(now + span), user_id),
                )
        return self._require(user_id)

    def clear_wrong_pins(self, user_id: int, *, now: datetime) -> User:
        return self._update(user_id, now, failed_pins=0, lockouts=0, locked_until=None)

    def _update(self, user_id: int, now: datetime, **changes: object) -> User:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self.transaction():
            cursor = self.connection.execute(
                f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",  # noqa: S608 - fixed names
                (*changes.values(), _iso(now), user_id),
            )
            if cursor.rowcount != 1:
                raise UserStoreError(f"No user with id {user_id}.")
            if changes.keys() & {"name", "role", "pin_hash", "active"}:
                self._reseal(user_id)
        return self._require(user_id)

    def _require(self, user_id: int) -> User:
        user = self.get(user_id)
        if user is None:
            raise UserStoreError(f"No user with id {user_id}.")
        return user


def _user(row: sqlite3.Row) -> User:
    locked = row["locked_until"]
    return User(
        id=int(row["id"]),
        name=str(row["name"]),
        role=Role(row["role"]),
        active=bool(row["active"]),
        failed_pins=int(row["failed_pins"]),
        locked_until=datetime.fromisoformat(locked) if locked else None,
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        lockouts=int(row["lockouts"]),
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise UserStoreError("User times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
