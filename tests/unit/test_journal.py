"""The journal keeps every sale and every intent, in order, on disk."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.migrations import SCHEMA_VERSION, JournalTooNewError
from pos_app.journal.store import IntentOutcome, JournalError, JournalStore

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def new_sale(store: JournalStore, reference: str = "S-1", minor: int = 1799) -> None:
    store.create_payment(
        reference=reference,
        profile="p",
        provider="justifi",
        method="hosted_checkout",
        amount=Money(minor, "USD"),
        description="One chocolate donut",
        now=T0,
    )


def test_fresh_journal_is_wal_full_sync_and_current(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (tmp_path / "j.sqlite3").stat().st_mode & 0o077 == 0
    store.close()


def test_an_older_database_file_is_migrated_in_place(tmp_path: Path) -> None:
    # A file made before any schema existed (user_version 0) holding unrelated data.
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (text TEXT)")
    raw.execute("INSERT INTO notes VALUES ('kept')")
    raw.commit()
    raw.close()
    store = JournalStore.open(path)
    new_sale(store)
    assert store.count_payments() == 1
    assert store._conn.execute("SELECT text FROM notes").fetchone()[0] == "kept"
    store.close()


def test_a_newer_database_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(JournalTooNewError, match="Update pos_app"):
        JournalStore.open(path)


def test_sale_intent_and_outcome_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    store = JournalStore.open(path)
    new_sale(store)
    intent = store.begin_intent(
        "S-1",
        operation="create_checkout",
        idempotency_key="key-1",
        amount=Money(1799, "USD"),
        now=T0,
    )
    assert [i.id for i in store.unresolved_intents()] == [intent.id]
    store.finish_intent(intent.id, IntentOutcome.SUCCEEDED, detail="cho_1", now=T0)
    store.update_payment(
        "S-1",
        now=T0 + timedelta(seconds=1),
        state=PaymentState.PENDING,
        provider_ref="cho_1",
        note="opened",
    )
    store.close()

    again = JournalStore.open(path)
    payment = again.get("S-1")
    assert payment is not None
    assert payment.state is PaymentState.PENDING
    assert payment.amount == Money(1799, "USD")
    assert payment.provider_ref == "cho_1"
    assert again.unresolved_intents() == []
    assert [e.note for e in again.events("S-1")] == ["Sale started", "opened"]
    assert again.intents_for("S-1")[0].outcome is IntentOutcome.SUCCEEDED
    again.close()


def test_idempotency_keys_are_unique(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    new_sale(store)
    store.begin_intent("S-1", operation="x", idempotency_key="dup", amount=None, now=T0)
    with pytest.raises(sqlite3.IntegrityError):
        store.begin_intent("S-1", operation="x", idempotency_key="dup", amount=None, now=T0)


def test_illegal_state_moves_are_refused(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    new_sale(store)
    store.update_payment("S-1", now=T0, state=PaymentState.DECLINED, note="declined")
    with pytest.raises(JournalError, match="cannot move from declined to captured"):
        store.update_payment("S-1", now=T0, state=PaymentState.CAPTURED, note="nope")
    payment = store.get("S-1")
    assert payment is not None
    assert payment.state is PaymentState.DECLINED


def test_listeners_hear_each_committed_change(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    heard: list[str] = []
    store.add_listener(heard.append)
    new_sale(store, "S-9")
    store.update_payment("S-9", now=T0, state=PaymentState.PENDING, note="x")
    assert heard == ["S-9", "S-9"]


def test_pages_sort_by_any_column(tmp_path: Path) -> None:
    store = JournalStore.open(tmp_path / "j.sqlite3")
    for n, minor in enumerate([500, 1500, 1000]):
        new_sale(store, f"S-{n}", minor)
    by_amount = store.page_payments(offset=0, limit=10, order_by="amount", descending=False)
    assert [p.amount.minor for p in by_amount] == [500, 1000, 1500]
    assert [p.reference for p in store.page_payments(offset=1, limit=1, order_by="amount")] == [
        "S-2"
    ]
    with pytest.raises(JournalError):
        store.page_payments(offset=0, limit=1, order_by="amount; DROP TABLE payments")
