"""The journal's reads and writes: payments, write-ahead intents and their outcomes.

Every write is its own committed transaction, so what the app acknowledged is on disk.
State changes go through the domain state machine; an illegal move is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Literal

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentLedger, PaymentState, can_transition
from pos_app.domain.vocabulary import Operation, PaymentMethod
from pos_app.journal.db import connect
from pos_app.journal.search import PaymentFilter, count_query, page_query
from pos_app.journal.times import NaiveTimeError, from_db, to_db

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

log = logging.getLogger(__name__)

Listener = Callable[[str], None]
IntentGuard = Callable[["PaymentRecord", list["Intent"]], None]


class IntentOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # the provider acted and told us so
    REJECTED = "rejected"  # the provider refused; nothing happened
    NOT_SENT = "not_sent"  # the request never left this machine
    UNKNOWN = "unknown"  # sent, no answer: a lookup must decide
    RESOLVED = "resolved"  # an UNKNOWN settled later by a lookup
    ABANDONED = "abandoned"  # reconciliation proved it never reached the provider


# Where a payment was taken: the sandbox (training: test cards, no real money) or live.
# The same two words as a provider profile's environment (pos_app/config/settings.py).
Environment = Literal["sandbox", "live"]
SANDBOX: Final = "sandbox"
LIVE: Final = "live"


class _Unset:
    pass


UNSET: Final = _Unset()


@dataclass(frozen=True)
class PaymentRecord:
    id: int
    reference: str
    profile: str
    provider: str
    # Read with ``PaymentMethod.recorded``: a method this version does not list is kept as
    # stored (no member; neither charged by us nor a checkout page), never refused.
    method: PaymentMethod
    amount: Money
    description: str
    state: PaymentState
    provider_ref: str | None
    provider_payment_ref: str | None
    decline_code: str | None
    decline_message: str | None
    card_brand: str | None
    card_last4: str | None
    attention: str | None
    created_at: datetime
    updated_at: datetime
    authorized_minor: int = 0
    captured_minor: int = 0
    refunded_minor: int = 0
    action_url: str | None = None
    # None: recorded before the journal kept environments (migration 9), so unknown; such a
    # payment counts as real money (see ``training``).
    environment: Environment | None = None

    @property
    def training(self) -> bool:
        """A sandbox (training) sale: no real money moved. Only a payment recorded as
        sandbox is one; an unknown environment is treated as live, real money."""
        return self.environment == SANDBOX

    @property
    def ledger(self) -> PaymentLedger:
        """The payment's amounts and state, for the domain's money rules."""
        return PaymentLedger(
            currency=self.amount.currency,
            state=self.state,
            authorized=self.authorized_minor,
            captured=self.captured_minor,
            refunded=self.refunded_minor,
        )

    @property
    def captured(self) -> Money:
        return Money(self.captured_minor, self.amount.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.refunded_minor, self.amount.currency)


@dataclass(frozen=True)
class Intent:
    id: int
    payment_reference: str
    operation: Operation  # read with ``Operation.recorded``, as a payment's method
    idempotency_key: str
    amount: Money | None
    created_at: datetime
    outcome: IntentOutcome | None


@dataclass(frozen=True)
class PaymentEvent:
    at: datetime
    state: PaymentState
    note: str


class JournalError(Exception):
    pass


# Columns the payments list may sort by (keys are what the GUI asks for).
SORTABLE_COLUMNS: Final = {
    "created_at": "created_at",
    "reference": "reference",
    "description": "description",
    "amount": "amount_minor",
    "state": "state",
    "provider": "provider",
    "card": "card_last4",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class JournalStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._listeners: list[Listener] = []
        self._writers: list[Listener] = []

    @classmethod
    def open(cls, path: Path) -> JournalStore:
        return cls(connect(path))

    def close(self) -> None:
        self._conn.close()

    def add_listener(self, listener: Listener) -> None:
        """Called with a payment reference after every committed change to it."""
        self._listeners.append(listener)

    def add_writer(self, writer: Listener) -> None:
        """Called with a payment reference inside the write transaction of every change to
        it, on this connection: what it writes commits with the change, or not at all (the
        audit trail: a crash can never keep one without the other).

        A writer that fails is rolled back alone and logged; the payment change still
        commits, because the provider has already acted on it.
        """
        self._writers.append(writer)

    # -- payments ---------------------------------------------------------------

    def create_payment(
        self,
        *,
        reference: str,
        profile: str,
        provider: str,
        method: PaymentMethod,
        amount: Money,
        description: str,
        now: datetime,
        environment: Environment | None = None,
    ) -> PaymentRecord:
        """Record a new sale. ``environment`` is its profile's (sandbox or live); None
        records it as unknown, which counts as real money."""
        if environment is not None and environment not in (SANDBOX, LIVE):
            raise JournalError(f"Unknown environment {environment!r}")
        stamp = _iso(now)
        columns = {
            "reference": reference,
            "profile": profile,
            "provider": provider,
            "method": str(method),
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "description": description,
            "state": PaymentState.CREATED.value,
            "created_at": stamp,
            "updated_at": stamp,
        }
        if environment is not None:
            # Only when known: an unknown one is the column's NULL (and a journal of an older
            # schema, as the migration tests build, is still written the way it was).
            columns["environment"] = environment
        names = ", ".join(columns)
        marks = ",".join("?" for _ in columns)
        with self._transaction():
            cursor = self._conn.execute(
                f"INSERT INTO payments ({names}) VALUES ({marks})",  # noqa: S608 - fixed column names
                tuple(columns.values()),
            )
            self._add_event(int(cursor.lastrowid or 0), now, PaymentState.CREATED, "Sale started")
            self._write_alongside(reference)
        self._notify(reference)
        return self._require(reference)

    def update_payment(
        self,
        reference: str,
        *,
        now: datetime,
        note: str,
        state: PaymentState | None = None,
        provider_ref: str | _Unset | None = UNSET,
        provider_payment_ref: str | _Unset | None = UNSET,
        decline_code: str | _Unset | None = UNSET,
        decline_message: str | _Unset | None = UNSET,
        card_brand: str | _Unset | None = UNSET,
        card_last4: str | _Unset | None = UNSET,
        attention: str | _Unset | None = UNSET,
        action_url: str | _Unset | None = UNSET,
        authorized_minor: int | None = None,
        captured_minor: int | None = None,
        refunded_minor: int | None = None,
    ) -> PaymentRecord:
        """Change a payment; a state change must be legal for the state machine."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("provider_ref", provider_ref),
                ("provider_payment_ref", provider_payment_ref),
                ("decline_code", decline_code),
                ("decline_message", decline_message),
                ("card_brand", card_brand),
                ("card_last4", card_last4),
                ("attention", attention),
                ("action_url", action_url),
            )
            if not isinstance(value, _Unset)
        }
        for column, minor in (
            ("authorized_minor", authorized_minor),
            ("captured_minor", captured_minor),
            ("refunded_minor", refunded_minor),
        ):
            if minor is not None:
                changes[column] = minor
        with self._transaction():
            current = self._require(reference)
            if state is not None and state is not current.state:
                if not can_transition(current.state, state):
                    raise JournalError(
                        f"Payment {reference} cannot move from {current.state} to {state}"
                    )
                changes["state"] = state.value
            if not changes or all(
                getattr(current, column, None) == value for column, value in changes.items()
            ):
                return current
            changes["updated_at"] = _iso(now)
            assignments = ", ".join(f"{column} = ?" for column in changes)
            self._conn.execute(
                f"UPDATE payments SET {assignments} WHERE reference = ?",  # noqa: S608 - fixed column names
                (*changes.values(), reference),
            )
            self._add_event(current.id, now, state or current.state, note)
            self._write_alongside(reference)
        self._notify(reference)
        return self._require(reference)

    def add_note(self, reference: str, *, now: datetime, note: str) -> PaymentRecord:
        """Record something that happened to a payment without changing it."""
        with self._transaction():
            current = self._require(reference)
            self._add_event(current.id, now, current.state, note)
        self._notify(reference)
        return current

    def get(self, reference: str) -> PaymentRecord | None:
        row = self._conn.execute(
            "SELECT * FROM payments WHERE reference = ?", (reference,)
        ).fetchone()
        return _payment(row) if row else None

    def find_by_provider_ref(self, provider: str, provider_ref: str) -> PaymentRecord | None:
        """The payment a provider's checkout or payment id belongs to."""
        row = self._conn.execute(
            "SELECT * FROM payments WHERE provider = ? AND (provider_ref = ?"
            " OR provider_payment_ref = ?) ORDER BY id DESC LIMIT 1",
            (provider, provider_ref, provider_ref),
        ).fetchone()
        return _payment(row) if row else None

    def events(self, reference: str) -> list[PaymentEvent]:
        rows = self._conn.execute(
            "SELECT e.at, e.state, e.note FROM payment_events e"
            " JOIN payments p ON p.id = e.payment_id"
            " WHERE p.reference = ? ORDER BY e.id",
            (reference,),
        ).fetchall()
        return [PaymentEvent(_time(r["at"]), PaymentState(r["state"]), r["note"]) for r in rows]

    @property
    def connection(self) -> sqlite3.Connection:
        """For reports on the same database (journal/reports.py) and the writers that
        record alongside each change (``add_writer``: the audit trail)."""
        return self._conn

    def count_payments(self, search: PaymentFilter | None = None, *, cap: int | None = None) -> int:
        """How many payments match; with ``cap``, counting stops at ``cap + 1`` (a big
        match is then "more than cap", which is all a screen needs, and stays fast)."""
        query, params = count_query(search or PaymentFilter(), now=utc_now(), cap=cap)
        return int(self._conn.execute(query, params).fetchone()[0])

    def page_payments(
        self,
        *,
        offset: int,
        limit: int,
        order_by: str = "created_at",
        descending: bool = True,
        search: PaymentFilter | None = None,
        many_matches: bool = False,
    ) -> list[PaymentRecord]:
        column = SORTABLE_COLUMNS.get(order_by)
        if column is None:
            raise JournalError(f"Cannot sort payments by {order_by!r}")
        query, params = page_query(
            search or PaymentFilter(),
            now=utc_now(),
            column=column,
            descending=descending,
            offset=offset,
            limit=limit,
            many_matches=many_matches,
        )
        rows = self._conn.execute(query, params).fetchall()
        return [_payment(row) for row in rows]

    def payments_in_states(
        self, states: frozenset[PaymentState], *, created_since: datetime | None = None
    ) -> list[PaymentRecord]:
        marks = ",".join("?" for _ in states)
        since = "" if created_since is None else " AND created_at >= ?"
        arguments: tuple[str, ...] = tuple(s.value for s in states)
        if created_since is not None:
            arguments += (_iso(created_since),)
        rows = self._conn.execute(
            f"SELECT * FROM payments WHERE state IN ({marks}){since} ORDER BY id",  # noqa: S608
            arguments,
        ).fetchall()
        return [_payment(row) for row in rows]

    # -- intents ----------------------------------------------------------------

    def begin_intent(
        self,
        reference: str,
        *,
        operation: Operation,
        idempotency_key: str,
        amount: Money | None,
        now: datetime,
        guard: IntentGuard | None = None,
    ) -> Intent:
        """Record what we are about to ask the provider, before asking it.

        ``guard`` sees the payment and its open intents inside the write transaction and may
        raise to refuse: two tills on one journal cannot both pass it for the same payment.
        """
        with self._transaction():
            payment = self._require(reference)
            if guard is not None:
                guard(payment, self._open_intents(payment.id))
            cursor = self._conn.execute(
                "INSERT INTO intents (payment_id, operation, idempotency_key, amount_minor,"
                " currency,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (
                    payment.id,
                    str(operation),
                    idempotency_key,
                    amount.minor if amount else None,
                    amount.currency if amount else None,
                    _iso(now),
                ),
            )
        return self._intent(int(cursor.lastrowid or 0))

    def finish_intent(
        self, intent_id: int, outcome: IntentOutcome, *, detail: str, now: datetime
    ) -> None:
        with self._transaction():
            self._conn.execute(
                "UPDATE intents SET outcome = ?, outcome_detail = ?, resolved_at = ? WHERE id = ?",
                (outcome.value, detail, _iso(now), intent_id),
            )

    def unresolved_intents(self) -> list[Intent]:
        rows = self._conn.execute(
            "SELECT id FROM intents WHERE outcome IS NULL OR outcome = 'unknown' ORDER BY id"
        ).fetchall()
        return [self._intent(int(row["id"])) for row in rows]

    def _open_intents(self, payment_id: int) -> list[Intent]:
        rows = self._conn.execute(
            "SELECT id FROM intents WHERE payment_id = ? AND (outcome IS NULL"
            " OR outcome = 'unknown') ORDER BY id",
            (payment_id,),
        ).fetchall()
        return [self._intent(int(row["id"])) for row in rows]

    def intents_for(self, reference: str) -> list[Intent]:
        rows = self._conn.execute(
            "SELECT i.id FROM intents i JOIN payments p ON p.id = i.payment_id"
            " WHERE p.reference = ? ORDER BY i.id",
            (reference,),
        ).fetchall()
        return [self._intent(int(row["id"])) for row in rows]

    # -- internals --------------------------------------------------------------

    def _intent(self, intent_id: int) -> Intent:
        row = self._conn.execute(
            "SELECT i.*, p.reference FROM intents i JOIN payments p ON p.id = i.payment_id"
            " WHERE i.id = ?",
            (intent_id,),
        ).fetchone()
        amount = (
            Money(int(row["amount_minor"]), str(row["currency"]))
            if row["amount_minor"] is not None
            else None
        )
        return Intent(
            id=int(row["id"]),
            payment_reference=str(row["reference"]),
            operation=Operation.recorded(str(row["operation"])),
            idempotency_key=str(row["idempotency_key"]),
            amount=amount,
            created_at=_time(row["created_at"]),
            outcome=IntentOutcome(row["outcome"]) if row["outcome"] else None,
        )

    def _require(self, reference: str) -> PaymentRecord:
        record = self.get(reference)
        if record is None:
            raise JournalError(f"No payment {reference} in the journal")
        return record

    def _add_event(self, payment_id: int, now: datetime, state: PaymentState, note: str) -> None:
        self._conn.execute(
            "INSERT INTO payment_events (payment_id, at, state, note) VALUES (?,?,?,?)",
            (payment_id, _iso(now), state.value, note),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def _write_alongside(self, reference: str) -> None:
        for writer in self._writers:
            self._conn.execute("SAVEPOINT alongside")
            try:
                writer(reference)
            except Exception:
                self._conn.execute("ROLLBACK TO alongside")
                log.exception("A record written with %s failed; the change is kept", reference)
            finally:
                self._conn.execute("RELEASE alongside")

    def _notify(self, reference: str) -> None:
        for listener in list(self._listeners):
            listener(reference)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _payment(row: sqlite3.Row) -> PaymentRecord:
    return PaymentRecord(
        id=int(row["id"]),
        reference=row["reference"],
        profile=row["profile"],
        provider=row["provider"],
        method=PaymentMethod.recorded(str(row["method"])),
        amount=Money(int(row["amount_minor"]), row["currency"]),
        description=row["description"],
        state=PaymentState(row["state"]),
        provider_ref=row["provider_ref"],
        provider_payment_ref=row["provider_payment_ref"],
        decline_code=row["decline_code"],
        decline_message=row["decline_message"],
        card_brand=row["card_brand"],
        card_last4=row["card_last4"],
        attention=row["attention"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        authorized_minor=int(row["authorized_minor"]),
        captured_minor=int(row["captured_minor"]),
        refunded_minor=int(row["refunded_minor"]),
        action_url=row["action_url"],
        environment=_environment(row),
    )


def _environment(row: sqlite3.Row) -> Environment | None:
    # A journal not yet at migration 9 has no such column (the migration tests write those).
    value = row["environment"] if "environment" in row.keys() else None  # noqa: SIM118
    if value == SANDBOX:
        return SANDBOX
    if value == LIVE:
        return LIVE
    return None


def _iso(moment: datetime) -> str:
    try:
        return to_db(moment)
    except NaiveTimeError as error:
        raise JournalError(str(error)) from error


def _time(text: str) -> datetime:
    return from_db(text)
