"""Migration 3 (users and the audit trail) upgrades a real version-2 journal and loses nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal import migrations
from pos_app.journal.audit import AuditAction, AuditLog
from pos_app.journal.store import IntentOutcome, JournalStore
from pos_app.journal.users import UserStore

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
TABLES = ("payments", "intents", "payment_events")


def make_version_2_journal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal written by the app as it was before migration 3, with a day of trading."""
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        patch.setattr(migrations, "SCHEMA_VERSION", 2)
        store = JournalStore.open(path)
        for n, (state, minor) in enumerate(
            [
                (PaymentState.CAPTURED, 1799),
                (PaymentState.AUTHORIZED, 250_000),
                (PaymentState.PARTIALLY_REFUNDED, 4200),
                (PaymentState.DECLINED, 99),
            ]
        ):
            reference = f"S-20261120-00000{n}"
            at = T0 + timedelta(minutes=n)
            store.create_payment(
                reference=reference,
                profile="shop",
                provider=("justifi", "checkout_com", "recharge", "payfect")[n],
                method="direct_charge",
                amount=Money(minor, "USD"),
                description=f"Sale № {n} — café",
                now=at,
            )
            intent = store.begin_intent(
                reference,
                operation="charge",
                idempotency_key=f"key-{n}",
                amount=Money(minor, "USD"),
                now=at,
            )
            store.finish_intent(intent.id, IntentOutcome.SUCCEEDED, detail=f"pay_{n}", now=at)
            if state is PaymentState.PARTIALLY_REFUNDED:
                store.update_payment(
                    reference,
                    now=at,
                    state=PaymentState.CAPTURED,
                    authorized_minor=minor,
                    captured_minor=minor,
                    provider_ref=f"pay_{n}",
                    card_brand="visa",
                    card_last4="4242",
                    note="Captured",
                )
                store.begin_intent(
                    reference,
                    operation="refund",
                    idempotency_key=f"refund-{n}",
                    amount=Money(1000, "USD"),
                    now=at,
                )  # left without an outcome: must still be unresolved after the upgrade
            store.update_payment(
                reference,
                now=at + timedelta(seconds=5),
                state=state,
                authorized_minor=minor if state is not PaymentState.DECLINED else 0,
                captured_minor=minor if state is not PaymentState.AUTHORIZED else 0,
                refunded_minor=1000 if state is PaymentState.PARTIALLY_REFUNDED else 0,
                note=f"Now {state}",
            )
        store.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'users'").fetchone() is None
    raw.close()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    raw = sqlite3.connect(path)
    rows = {t: raw.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    raw.close()
    return rows


def with_unknown_environment(
    before: dict[str, list[tuple[object, ...]]],
) -> dict[str, list[tuple[object, ...]]]:
    """The same rows after migration 9: each payment's environment is NULL, "unknown"."""
    return {**before, "payments": [(*row, None) for row in before["payments"]]}


def test_a_version_2_journal_gains_users_and_an_empty_trail_and_keeps_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite3"
    make_version_2_journal(path, monkeypatch)
    before = dump(path)
    assert len(before["payments"]) == 4
    assert len(before["intents"]) == 5

    store = JournalStore.open(path)
    # Migration 3 and everything after it ran.
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert dump(path) == with_unknown_environment(before)
    assert [i.idempotency_key for i in store.unresolved_intents()] == ["refund-2"]
    partly = store.get("S-20261120-000002")
    assert partly is not None
    assert partly.refunded == Money(1000, "USD")
    assert partly.card_last4 == "4242"
    assert partly.description == "Sale № 2 — café"

    audit = AuditLog.open(path)
    assert audit.entries() == []
    assert audit.head().entries == 0
    assert audit.verify().ok
    assert UserStore(audit.connection).count() == 0  # first start of users: create an admin
    audit.append(AuditAction.SETTINGS_CHANGED, actor="system", subject="settings")
    assert audit.verify().ok
    audit.connection.close()

    # The upgraded journal keeps working for payments too.
    store.update_payment(
        "S-20261120-000001",
        now=T0 + timedelta(hours=1),
        state=PaymentState.CAPTURED,
        captured_minor=250_000,
        note="Captured after upgrade",
    )
    store.close()
    again = JournalStore.open(path)
    assert again.count_payments() == 4
    assert again.events("S-20261120-000001")[-1].note == "Captured after upgrade"
    again.close()


def test_a_version_3_journal_opens_without_migrating_again(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    audit = AuditLog.open(path)
    audit.append(AuditAction.REPRINT, actor="1", subject="S-1")
    audit.connection.close()
    reopened = AuditLog.open(path)
    assert reopened.verify().entries == 1
    reopened.connection.close()


def test_two_tills_opening_an_old_journal_at_once_both_get_the_new_schema(
    tmp_path: Path,
) -> None:
    import threading

    from pos_app.journal.db import connect
    from pos_app.journal.migrations import SCHEMA_VERSION

    path = tmp_path / "shared.sqlite3"
    first = sqlite3.connect(path)
    first.execute("PRAGMA journal_mode=WAL")
    first.close()
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            conn = connect(path)
            conn.close()
        except BaseException as error:  # noqa: BLE001 - reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()


# -- migration 4: search indexes and the full-text table, from a real version-3 file ----------


def make_version_3_journal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        patch.setattr(migrations, "SCHEMA_VERSION", 3)
        make_version_2_journal(path, monkeypatch)
        JournalStore.open(path).close()  # the app as it was: up to 3
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
    assert (
        raw.execute("SELECT name FROM sqlite_master WHERE name = 'payments_text'").fetchone()
        is None
    )
    raw.close()


def test_a_version_3_journal_gains_search_indexes_and_finds_its_old_payments_by_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pos_app.journal.search import PaymentFilter

    path = tmp_path / "journal.sqlite3"
    make_version_3_journal(path, monkeypatch)
    before = dump(path)

    store = JournalStore.open(path)
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert dump(path) == with_unknown_environment(before)
    names = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master")}
    assert {
        "payments_provider_payment_ref",
        "payments_state_created",
        "payments_amount_created",
        "intents_resolved_at",
        "payments_text",
        "payments_text_insert",
    } <= names
    # Rows written before the upgrade are in the full-text index…
    found = store.page_payments(offset=0, limit=10, search=PaymentFilter(text="№ 2 — CAFÉ"))
    assert [p.reference for p in found] == ["S-20261120-000002"]
    # …and so is a sale made after it.
    store.create_payment(
        reference="S-20261121-000009",
        profile="shop",
        provider="payfect",
        method="pay_by_link",
        amount=Money(500, "EUR"),
        description="Croissants for the office",
        now=T0 + timedelta(days=1),
    )
    assert store.count_payments(PaymentFilter(text="croissant")) == 1
    assert store.count_payments(PaymentFilter(text="café")) == 4
    store.close()


def test_trigger_bodies_are_split_whole_and_older_scripts_exactly_as_before() -> None:
    script = """
    CREATE TABLE t (a TEXT);
    CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
        INSERT INTO t (a) VALUES ('x;y');
        SELECT 1;
    END;
    INSERT INTO t (a) VALUES ('semi;colon')
    """
    statements = migrations._statements(script)
    assert len(statements) == 3
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END")
    assert statements[2] == "INSERT INTO t (a) VALUES ('semi;colon')"

    def naive(text: str) -> list[str]:  # the splitter migrations 1-3 shipped with
        return [part.strip() for part in text.split(";") if part.strip()]

    for shipped in migrations.MIGRATIONS[:3]:
        assert migrations._statements(shipped) == naive(shipped)


# -- migration 9: each payment's environment, from a real version-8 file ----------------------


def test_a_version_8_journal_keeps_its_payments_as_real_money_and_records_new_training_sales(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Old rows cannot be told apart (a profile called "Sandbox …" may have been live), so
    none is guessed at: each stays unknown and counts as real money, as it always did."""
    from pos_app.services.shift import summarize

    path = tmp_path / "journal.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])
        patch.setattr(migrations, "SCHEMA_VERSION", 8)
        make_version_2_journal(path, monkeypatch)
        JournalStore.open(path).close()  # the app as it was: up to 8
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 8
    raw.execute("UPDATE payments SET profile = 'Sandbox — JustiFi' WHERE id = 1")
    raw.commit()
    raw.close()
    before = dump(path)

    store = JournalStore.open(path)
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    assert dump(path) == with_unknown_environment(before)
    old = store.get("S-20261120-000000")
    assert old is not None
    assert old.environment is None
    assert not old.training
    day = (T0.replace(hour=0, minute=0), T0.replace(hour=0, minute=0) + timedelta(days=1))
    summary = summarize(store, *day)
    assert sum(t.count for t in summary.currencies) == 4
    assert summary.training_count == 0

    store.create_payment(
        reference="S-20261120-TRAIN1",
        profile="Sandbox — JustiFi",
        provider="justifi",
        method="hosted_checkout",
        amount=Money(5000, "USD"),
        description="Practice sale after the upgrade",
        now=T0 + timedelta(hours=1),
        environment="sandbox",
    )
    assert summarize(store, *day).training_count == 1
    assert sum(t.count for t in summarize(store, *day).currencies) == 4
    with pytest.raises(sqlite3.IntegrityError):  # only the two words, or unknown
        store._conn.execute("UPDATE payments SET environment = 'test' WHERE id = 1")
    store.close()
