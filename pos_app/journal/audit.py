"""The audit trail: append-only, hash-chained entries in the journal database.

Each entry's ``hash`` is a MAC over a canonical encoding of the entry (seq, time, actor,
action, subject, details exactly as stored, and the previous entry's hash), so ``verify``
finds an edited entry (its hash no longer matches), a deleted or reordered one (a gap in
``seq`` or a ``prev_hash`` that does not link) and a cut-off tail (``audit_head`` holds the
entry count and last hash, written in the same transaction as every entry).

The MAC is HMAC-SHA256 under an ``AuditKey`` kept in the OS keyring, not in the file: from
the key's ``since`` entry on, someone who can write the database cannot recompute a single
entry. Entries written before the key existed (older journals) stay plain SHA-256; the key
itself says where keyed entries begin, so they cannot be "downgraded" to plain ones. A tail
cut off together with ``audit_head`` still needs the head copy kept elsewhere to be seen:
``verify(anchor=...)`` checks the chain still contains the anchor printed on the last
end-of-shift report (and kept in the keyring).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from pos_app.journal.db import connect
from pos_app.journal.store import JournalStore, utc_now

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

log = logging.getLogger(__name__)

GENESIS_HASH: Final = "0" * 64
SYSTEM_ACTOR: Final = "system"

# Detail keys that could carry a secret; such details are refused, never written.
_SECRET_WORDS: Final = frozenset(
    {"pin", "pins", "password", "passcode", "secret", "token", "credential", "credentials"}
    | {"authorization", "cvv", "cvc", "pan", "apikey"}
)
_SECRET_KEYS: Final = frozenset({"api_key", "card_number", "secret_key"})


class AuditAction(StrEnum):
    PAYMENT_STATE_CHANGE = "payment_state_change"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"
    APPROVAL_GRANTED = "approval_granted"
    APPROVAL_USED = "approval_used"
    APPROVAL_REFUSED = "approval_refused"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    LOCKED_OUT = "locked_out"
    SETTINGS_CHANGED = "settings_changed"
    LIVE_HOST_APPROVED = "live_host_approved"
    USER_ADDED = "user_added"
    USER_CHANGED = "user_changed"
    REPRINT = "reprint"


_PAYMENT_ACTIONS: Final = (
    AuditAction.PAYMENT_STATE_CHANGE,
    AuditAction.CAPTURE,
    AuditAction.REFUND,
    AuditAction.VOID,
)


class AuditError(Exception):
    """An entry was refused (a secret in its details, a float, an empty actor)."""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str  # a user id, or "system"
    action: str  # an AuditAction value (kept as text: a newer app may add actions)
    subject: str  # a payment reference, "user:<id>", "settings", … or ""
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditKey:
    """The chain's MAC key, and the first entry it signs (earlier entries are plain)."""

    secret: bytes = field(repr=False)
    since: int

    @classmethod
    def new(cls, since: int) -> AuditKey:
        return cls(secrets.token_bytes(32), since)

    def to_text(self) -> str:
        return json.dumps({"key": base64.b64encode(self.secret).decode(), "since": self.since})

    @classmethod
    def from_text(cls, text: str) -> AuditKey:
        data = json.loads(text)
        return cls(base64.b64decode(data["key"]), int(data["since"]))


@dataclass(frozen=True)
class AuditAnchor:
    """The chain's head at one moment: keep a copy outside the journal to detect a rewrite."""

    entries: int
    hash: str

    def to_text(self) -> str:
        return json.dumps({"entries": self.entries, "hash": self.hash})

    @classmethod
    def from_text(cls, text: str) -> AuditAnchor:
        data = json.loads(text)
        return cls(int(data["entries"]), str(data["hash"]))

    @property
    def short(self) -> str:
        """How it is printed on a report: enough to compare by eye, all of it in the CSV."""
        return f"{self.entries} entries, {self.hash[:16]}"


@dataclass(frozen=True)
class AuditVerification:
    entries: int  # how many entries were checked
    broken_at: int | None = None  # seq where the chain breaks; None when intact
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None

    @property
    def message(self) -> str:
        if self.ok:
            return f"The audit trail is intact: {self.entries} entries, every link checked."
        return f"The audit trail is broken at entry {self.broken_at}: {self.problem}"


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken up front (BEGIN IMMEDIATE); joins one already open.

    Taking the write lock before reading the head is what keeps two app instances on one
    journal from both appending after the same entry.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class AuditLog:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        clock: Callable[[], datetime] = utc_now,
        key: AuditKey | None = None,
    ) -> None:
        self.connection = conn
        self._clock = clock
        self.key = key

    @classmethod
    def open(
        cls, path: Path, *, clock: Callable[[], datetime] = utc_now, key: AuditKey | None = None
    ) -> AuditLog:
        return cls(connect(path), clock=clock, key=key)

    def _mac(self, seq: int, fields: tuple[str, str, str, str, str], prev: str) -> str:
        key = self.key if self.key is not None and seq >= self.key.since else None
        return entry_hash(seq, *fields, prev, key=key)

    def append(
        self,
        action: AuditAction,
        *,
        actor: str,
        subject: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one entry at the chain's head and commit it (or join the open transaction)."""
        if not actor:
            raise AuditError("Every audit entry needs an actor (a user id or 'system').")
        details_text = _canonical(_checked_details(details or {}))
        at = _iso(self._clock())
        with immediate(self.connection):
            head = self._head()
            seq = head.entries + 1
            digest = self._mac(seq, (at, actor, action.value, subject, details_text), head.hash)
            self.connection.execute(
                "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash,"
                " hash) VALUES (?,?,?,?,?,?,?,?)",
                (seq, at, actor, action.value, subject, details_text, head.hash, digest),
            )
            self.connection.execute(
                "UPDATE audit_head SET entries = ?, last_hash = ? WHERE id = 1", (seq, digest)
            )
        return AuditEntry(
            seq,
            _time(at),
            actor,
            action.value,
            subject,
            json.loads(details_text),
            head.hash,
            digest,
        )

    def entries(
        self, subject: str | None = None, *, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries in order, all or one subject's, from ``seq > after``."""
        where = "seq > ?" + ("" if subject is None else " AND subject = ?")
        params: tuple[Any, ...] = (after,) if subject is None else (after, subject)
        rows = self.connection.execute(
            f"SELECT * FROM audit_log WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608 - fixed text
            (*params, -1 if limit is None else limit),
        ).fetchall()
        return [_entry(row) for row in rows]

    def latest(self, subject: str, actions: tuple[AuditAction, ...]) -> AuditEntry | None:
        marks = ",".join("?" for _ in actions)
        row = self.connection.execute(
            f"SELECT * FROM audit_log WHERE subject = ? AND action IN ({marks})"  # noqa: S608
            " ORDER BY seq DESC LIMIT 1",
            (subject, *(a.value for a in actions)),
        ).fetchone()
        return _entry(row) if row else None

    def has(self, action: AuditAction) -> bool:
        """Whether the trail holds any entry of ``action``."""
        row = self.connection.execute(
            "SELECT 1 FROM audit_log WHERE action = ? LIMIT 1", (action.value,)
        ).fetchone()
        return row is not None

    def head(self) -> AuditAnchor:
        return self._head()

    def verify(self, anchor: AuditAnchor | None = None) -> AuditVerification:
        """Check every link from the first entry to the head (and to ``anchor`` if given).

        Reads one consistent snapshot; on a year of entries this takes seconds, so the
        GUI should run it off the main thread (on its own connection).
        """
        conn = self.connection
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")  # a read snapshot: appends by others do not tear it
        try:
            return self._verify(anchor)
        finally:
            if own:
                conn.execute("COMMIT")

    def _verify(self, anchor: AuditAnchor | None) -> AuditVerification:
        head = self._head()
        if self.key is not None and head.entries < self.key.since - 1:
            return AuditVerification(
                head.entries,
                head.entries + 1,
                f"the trail has {head.entries} entries, but signed entries were written from "
                f"entry {self.key.since} on: the journal was cut or replaced.",
            )
        expected_seq, prev = 1, GENESIS_HASH
        anchor_seen = anchor is None or (anchor.entries == 0 and anchor.hash == GENESIS_HASH)
        cursor = self.connection.execute(
            "SELECT seq, at, actor, action, subject, details, prev_hash, hash"
            " FROM audit_log ORDER BY seq"
        )
        for row in cursor:
            seq = int(row["seq"])
            if seq != expected_seq:
                return AuditVerification(
                    expected_seq - 1,
                    expected_seq,
                    f"entry {expected_seq} is missing (the next one is {seq}).",
                )
            stored = (row["at"], row["actor"], row["action"], row["subject"], row["details"])
            if not hmac.compare_digest(self._mac(seq, stored, row["prev_hash"]), row["hash"]):
                return AuditVerification(
                    seq - 1,
                    seq,
                    f"entry {seq} does not match its hash: it was edited, or moved here "
                    "from another position.",
                )
            if row["prev_hash"] != prev:
                return AuditVerification(
                    seq - 1,
                    seq,
                    f"entry {seq} does not follow entry {seq - 1}: "
                    "entries were removed, reordered or replaced.",
                )
            if anchor is not None and seq == anchor.entries:
                if row["hash"] != anchor.hash:
                    return AuditVerification(
                        seq - 1, seq, f"entry {seq} differs from the saved copy of the head."
                    )
                anchor_seen = True
            prev = row["hash"]
            expected_seq += 1
        count = expected_seq - 1
        if count < head.entries:
            return AuditVerification(
                count,
                count + 1,
                f"the trail ends after entry {count} but {head.entries} were written: "
                "the newest entries were removed.",
            )
        if count > head.entries or prev != head.hash:
            return AuditVerification(
                count,
                min(count, head.entries + 1),
                "the recorded head does not match the last entry: "
                "entries were added or replaced outside the app.",
            )
        if not anchor_seen:
            assert anchor is not None
            return AuditVerification(
                count,
                count + 1,
                f"the saved copy of the head says {anchor.entries} entries, "
                f"but only {count} remain: the trail was cut and rewritten.",
            )
        return AuditVerification(count)

    def _head(self) -> AuditAnchor:
        row = self.connection.execute(
            "SELECT entries, last_hash FROM audit_head WHERE id = 1"
        ).fetchone()
        if row is None:
            # Migration 3 writes this row; without it truncation could not be detected.
            raise AuditError("The audit trail's head record is missing.")
        return AuditAnchor(int(row["entries"]), str(row["last_hash"]))


class AuditRecorder:
    """Appends an entry for each payment change that moved its state or amounts, inside the
    transaction that made the change (``JournalStore.add_writer``), so a crash keeps both or
    neither.

    ``audit`` must be on the journal's own connection (``journal.connection``); ``actor``
    says who is signed in (``Session.actor``). A lookup that changed nothing is not an event.
    """

    def __init__(self, audit: AuditLog, journal: JournalStore, actor: Callable[[], str]) -> None:
        if audit.connection is not journal.connection:
            raise ValueError("The recorder's AuditLog must use the journal's connection")
        self._audit = audit
        self._journal = journal
        self._actor = actor

    def attach(self) -> None:
        self._journal.add_writer(self._write)

    def _write(self, reference: str) -> None:
        self.record(reference)

    def record(self, reference: str) -> AuditEntry | None:
        payment = self._journal.get(reference)
        if payment is None:
            return None
        facts = {
            "state": payment.state.value,
            "currency": payment.amount.currency,
            "amount_minor": payment.amount.minor,
            "authorized_minor": payment.authorized_minor,
            "captured_minor": payment.captured_minor,
            "refunded_minor": payment.refunded_minor,
        }
        last = self._audit.latest(reference, _PAYMENT_ACTIONS)
        before = dict(last.details) if last else {}
        if all(before.get(key) == value for key, value in facts.items()):
            return None
        events = self._journal.events(reference)
        details: dict[str, Any] = {
            **facts,
            "previous_state": before.get("state"),
            "provider": payment.provider,
            "note": events[-1].note if events else "",
        }
        if payment.training:  # said in the sealed entry itself, so no later edit can hide it
            details["environment"] = payment.environment
        return self._audit.append(
            _payment_action(before, facts), actor=self._actor(), subject=reference, details=details
        )


def _payment_action(before: Mapping[str, Any], after: Mapping[str, Any]) -> AuditAction:
    if after["refunded_minor"] > before.get("refunded_minor", 0):
        return AuditAction.REFUND
    if after["captured_minor"] > before.get("captured_minor", 0) and before:
        return AuditAction.CAPTURE
    if after["state"] == "voided":
        return AuditAction.VOID
    return AuditAction.PAYMENT_STATE_CHANGE


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: str,
    prev_hash: str,
    *,
    key: AuditKey | None = None,
) -> str:
    """Hex MAC over the entry's canonical encoding (a compact JSON array of its fields):
    HMAC-SHA256 under ``key``, or plain SHA-256 for entries from before the key."""
    version = "pos_app.audit/1" if key is None else "pos_app.audit/2"
    encoded = json.dumps(
        [version, seq, at, actor, action, subject, details, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    if key is None:
        return hashlib.sha256(encoded).hexdigest()
    return hmac.new(key.secret, encoded, hashlib.sha256).hexdigest()


def _canonical(details: Mapping[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _checked_details(details: Mapping[str, Any]) -> Mapping[str, Any]:
    _check_value(details, "details")
    return details


def _check_value(value: object, where: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(f"Audit detail keys must be text ({where}).")
            if _looks_secret(key):
                raise AuditError(f"Audit details never hold secrets or PINs ({key!r}).")
            _check_value(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_value(item, where)
    elif isinstance(value, float):
        raise AuditError(
            f"Audit details hold amounts as integer minor units, not floats ({where})."
        )
    elif value is not None and not isinstance(value, str | int | bool):
        raise AuditError(f"Audit details must be JSON text, numbers or lists ({where}).")


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(words & _SECRET_WORDS) or lowered in _SECRET_KEYS


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]),
        at=_time(row["at"]),
        actor=str(row["actor"]),
        action=str(row["action"]),
        subject=str(row["subject"]),
        details=json.loads(row["details"]),
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("Audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
