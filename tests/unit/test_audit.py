"""The audit trail: hash-chained, append-only, and any tampering is found and located."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.audit import (
    GENESIS_HASH,
    AuditAction,
    AuditError,
    AuditKey,
    AuditLog,
    AuditRecorder,
    entry_hash,
)
from pos_app.journal.db import connect
from pos_app.journal.store import JournalError, JournalStore

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def audit(path: Path) -> Iterator[AuditLog]:
    log = AuditLog.open(path, clock=Clock())
    yield log
    log.connection.close()


def fill(audit: AuditLog, count: int = 5) -> None:
    for n in range(count):
        audit.append(
            AuditAction.REFUND,
            actor="7",
            subject=f"S-20261122-00000{n}",
            details={"amount_minor": 100 * (n + 1), "currency": "USD"},
        )


def tamper(path: Path, *statements: str) -> None:
    """What someone with the sqlite3 command-line tool could do to the file."""
    raw = sqlite3.connect(path)
    for statement in statements:
        raw.execute(statement)
    raw.commit()
    raw.close()


def test_entries_link_each_to_the_one_before(audit: AuditLog) -> None:
    fill(audit, 3)
    entries = audit.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    assert entries[1].details == {"amount_minor": 200, "currency": "USD"}
    assert entries[1].actor == "7"
    assert entries[1].action == AuditAction.REFUND
    assert entries[0].at.tzinfo is not None
    assert entries[0].at < entries[1].at
    assert audit.head().entries == 3
    assert audit.head().hash == entries[2].hash


def test_entries_filter_by_subject_and_page(audit: AuditLog) -> None:
    fill(audit, 5)
    audit.append(AuditAction.REPRINT, actor="7", subject="S-20261122-000001")
    assert [e.seq for e in audit.entries("S-20261122-000001")] == [2, 6]
    assert [e.seq for e in audit.entries(after=2, limit=2)] == [3, 4]


def test_the_hash_covers_every_field_including_the_previous_hash(audit: AuditLog) -> None:
    entry = audit.append(AuditAction.SIGN_IN, actor="1", subject="user:1", details={"b": 1})
    fields = (entry.seq, entry.at.isoformat(timespec="microseconds"), "1", "sign_in", "user:1")
    assert entry_hash(*fields, '{"b":1}', GENESIS_HASH) == entry.hash
    assert entry_hash(*fields, '{"b":2}', GENESIS_HASH) != entry.hash
    assert entry_hash(*fields, '{"b":1}', "1" * 64) != entry.hash


def test_an_intact_trail_verifies(audit: AuditLog) -> None:
    assert audit.verify().ok
    assert audit.verify().entries == 0
    fill(audit, 5)
    result = audit.verify()
    assert result.ok
    assert result.entries == 5
    assert "intact: 5 entries" in result.message


def test_an_edited_entry_is_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 5)
    tamper(path, "UPDATE audit_log SET details = '{\"amount_minor\":1}' WHERE seq = 3")
    result = audit.verify()
    assert not result.ok
    assert result.broken_at == 3
    assert "broken at entry 3" in result.message
    assert "edited" in result.message


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(
    audit: AuditLog, path: Path
) -> None:
    fill(audit, 5)
    third = audit.entries()[2]
    forged = entry_hash(
        3,
        third.at.isoformat(timespec="microseconds"),
        "7",
        "refund",
        third.subject,
        '{"amount_minor":1,"currency":"USD"}',
        third.prev_hash,
    )
    tamper(
        path,
        'UPDATE audit_log SET details = \'{"amount_minor":1,"currency":"USD"}\','
        f" hash = '{forged}' WHERE seq = 3",
    )
    result = audit.verify()
    assert result.broken_at == 4
    assert "does not follow entry 3" in result.problem


def test_a_deleted_entry_is_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 5)
    tamper(path, "DELETE FROM audit_log WHERE seq = 2")
    result = audit.verify()
    assert result.broken_at == 2
    assert "entry 2 is missing" in result.problem


def test_a_deleted_entry_with_the_rest_renumbered_is_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 5)
    tamper(
        path,
        "DELETE FROM audit_log WHERE seq = 2",
        "UPDATE audit_log SET seq = seq - 1 WHERE seq > 2",
        "UPDATE audit_head SET entries = 4",
    )
    assert audit.verify().broken_at == 2


def test_reordered_entries_are_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 5)
    tamper(
        path,
        "UPDATE audit_log SET seq = 100 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 100",
    )
    result = audit.verify()
    assert result.broken_at == 2
    assert "moved here" in result.problem


def test_a_cut_off_tail_is_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 5)
    tamper(path, "DELETE FROM audit_log WHERE seq > 3")
    result = audit.verify()
    assert result.broken_at == 4
    assert "ends after entry 3 but 5 were written" in result.problem


def test_an_emptied_trail_is_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 2)
    tamper(path, "DELETE FROM audit_log")
    assert audit.verify().broken_at == 1


def test_a_rewritten_head_is_caught_only_by_a_copy_kept_elsewhere(
    audit: AuditLog, path: Path
) -> None:
    fill(audit, 5)
    anchor = audit.head()
    fourth = audit.entries()[3]
    assert audit.verify(anchor).ok
    # Cut the tail and rewrite the head to match: consistent inside the file...
    tamper(
        path,
        "DELETE FROM audit_log WHERE seq > 4",
        f"UPDATE audit_head SET entries = 4, last_hash = '{fourth.hash}'",
    )
    assert audit.verify().ok
    # ...but not with the head saved at the end of the shift.
    result = audit.verify(anchor)
    assert result.broken_at == 5
    assert "saved copy of the head says 5" in result.problem


def test_entries_added_outside_the_app_are_found(audit: AuditLog, path: Path) -> None:
    fill(audit, 2)
    last = audit.entries()[-1]
    digest = entry_hash(3, T0.isoformat(), "9", "refund", "x", "{}", last.hash)
    tamper(
        path,
        "INSERT INTO audit_log VALUES"
        f" (3, '{T0.isoformat()}', '9', 'refund', 'x', '{{}}', '{last.hash}', '{digest}')",
    )
    result = audit.verify()
    assert not result.ok
    assert "outside the app" in result.problem


@pytest.mark.parametrize(
    "details",
    [
        {"pin": "1234"},
        {"manager_PIN": "1234"},
        {"nested": {"password": "x"}},
        {"list": [{"api_key": "sk_live"}]},
        {"token": "abc"},
    ],
)
def test_secrets_are_refused_and_nothing_is_written(
    audit: AuditLog, details: dict[str, object]
) -> None:
    with pytest.raises(AuditError, match="never hold secrets"):
        audit.append(AuditAction.SETTINGS_CHANGED, actor="1", details=details)
    assert audit.entries() == []
    assert audit.head().entries == 0


def test_floats_and_an_empty_actor_are_refused(audit: AuditLog) -> None:
    with pytest.raises(AuditError, match="integer minor units"):
        audit.append(AuditAction.REFUND, actor="1", details={"amount": 1.5})
    with pytest.raises(AuditError, match="needs an actor"):
        audit.append(AuditAction.REFUND, actor="")
    # Words that merely contain "pin" are fine.
    audit.append(AuditAction.SETTINGS_CHANGED, actor="1", details={"shipping": True})


def test_two_connections_appending_at_once_never_fork_the_chain(path: Path) -> None:
    AuditLog.open(path).connection.close()  # migrate once, before the race
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        log = AuditLog.open(path)
        try:
            start.wait()
            for n in range(40):
                log.append(AuditAction.REPRINT, actor=name, subject=f"{name}-{n}")
        except BaseException as error:  # noqa: BLE001 - reported below, not lost in the thread
            failures.append(error)
        finally:
            log.connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    check = AuditLog.open(path)
    assert check.verify().ok
    assert check.verify().entries == 80
    assert {e.actor for e in check.entries()} == {"a", "b"}
    check.connection.close()


def test_two_instances_take_turns_on_one_chain(path: Path) -> None:
    first, second = AuditLog.open(path), AuditLog.open(path)
    first.append(AuditAction.SIGN_IN, actor="1")
    second.append(AuditAction.SIGN_IN, actor="2")
    first.append(AuditAction.SIGN_OUT, actor="1")
    assert [e.actor for e in second.entries()] == ["1", "2", "1"]
    assert second.verify().ok
    first.connection.close()
    second.connection.close()


def test_the_trail_is_in_the_journal_file_and_survives_reopening(path: Path) -> None:
    store = JournalStore.open(path)
    log = AuditLog(connect(path))
    fill(log, 2)
    log.connection.close()
    store.close()
    again = AuditLog.open(path)
    assert again.verify().entries == 2
    again.connection.close()


# -- the recorder -------------------------------------------------------------------------


class Actor:
    def __init__(self) -> None:
        self.current = "system"

    def __call__(self) -> str:
        return self.current


def test_the_recorder_writes_who_changed_each_payment_and_how(path: Path) -> None:
    store = JournalStore.open(path)
    audit = AuditLog(store.connection, clock=Clock())
    actor = Actor()
    AuditRecorder(audit, store, actor).attach()

    actor.current = "3"
    store.create_payment(
        reference="S-1",
        profile="p",
        provider="justifi",
        method="direct_charge",
        amount=Money(5000, "USD"),
        description="Cake",
        now=T0,
    )
    store.update_payment(
        "S-1", now=T0, state=PaymentState.AUTHORIZED, authorized_minor=5000, note="Authorized"
    )
    store.add_note("S-1", now=T0, note="Looked up; nothing changed")
    store.update_payment(
        "S-1", now=T0, state=PaymentState.CAPTURED, captured_minor=5000, note="Captured $50.00"
    )
    actor.current = "4"
    store.update_payment(
        "S-1",
        now=T0,
        state=PaymentState.PARTIALLY_REFUNDED,
        refunded_minor=1000,
        note="Refund of $10.00 accepted",
    )

    entries = audit.entries("S-1")
    assert [e.action for e in entries] == [
        "payment_state_change",
        "payment_state_change",
        "capture",
        "refund",
    ]
    assert [e.actor for e in entries] == ["3", "3", "3", "4"]
    refund = entries[-1].details
    assert refund["state"] == "partially_refunded"
    assert refund["previous_state"] == "captured"
    assert refund["refunded_minor"] == 1000
    assert refund["currency"] == "USD"
    assert refund["note"] == "Refund of $10.00 accepted"
    assert audit.verify().ok
    store.close()


def test_a_void_is_recorded_as_a_void(path: Path) -> None:
    store = JournalStore.open(path)
    audit = AuditLog(store.connection)
    AuditRecorder(audit, store, lambda: "5").attach()
    store.create_payment(
        reference="S-2",
        profile="p",
        provider="checkout_com",
        method="direct_charge",
        amount=Money(700, "EUR"),
        description="Tea",
        now=T0,
    )
    store.update_payment(
        "S-2", now=T0, state=PaymentState.AUTHORIZED, authorized_minor=700, note="ok"
    )
    store.update_payment("S-2", now=T0, state=PaymentState.VOIDED, note="Voided")
    assert [e.action for e in audit.entries("S-2")][-1] == "void"
    store.close()


def test_a_training_payments_entries_say_training_in_the_sealed_details(path: Path) -> None:
    store = JournalStore.open(path)
    audit = AuditLog(store.connection)
    AuditRecorder(audit, store, lambda: "5").attach()
    for reference, environment in (("S-3", "sandbox"), ("S-4", "live")):
        store.create_payment(
            reference=reference,
            profile="p",
            provider="justifi",
            method="direct_charge",
            amount=Money(700, "USD"),
            description="Tea",
            now=T0,
            environment=environment,  # type: ignore[arg-type]
        )
        store.update_payment(
            reference, now=T0, state=PaymentState.AUTHORIZED, authorized_minor=700, note="ok"
        )
        store.update_payment(reference, now=T0, state=PaymentState.VOIDED, note="Voided")
    assert {e.details.get("environment") for e in audit.entries("S-3")} == {"sandbox"}
    assert {e.details.get("environment") for e in audit.entries("S-4")} == {None}
    assert audit.verify().ok
    store.close()


def test_a_recorder_failure_never_undoes_or_hides_the_payment_change(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = JournalStore.open(path)
    audit = AuditLog(store.connection)
    AuditRecorder(audit, store, lambda: "").attach()  # an empty actor is refused
    store.create_payment(
        reference="S-3",
        profile="p",
        provider="justifi",
        method="hosted_checkout",
        amount=Money(100, "USD"),
        description="Gum",
        now=T0,
    )
    assert store.get("S-3") is not None
    assert "A record written with S-3 failed; the change is kept" in caplog.text
    store.close()


def test_a_payment_change_and_its_audit_entry_commit_together(path: Path) -> None:
    """Written in the change's own transaction: the process dying right after the commit
    (here: the first thing told of it raises) still leaves the entry, and a change that
    is rolled back leaves none."""
    store = JournalStore.open(path)

    def dies(_reference: str) -> None:
        raise SystemExit("killed right after the commit")

    store.add_listener(dies)
    AuditRecorder(AuditLog(store.connection), store, lambda: "3").attach()
    with pytest.raises(SystemExit):
        store.create_payment(
            reference="S-4",
            profile="p",
            provider="justifi",
            method="hosted_checkout",
            amount=Money(100, "USD"),
            description="Gum",
            now=T0,
        )
    other = AuditLog.open(path)  # what the next start sees
    assert [e.subject for e in other.entries("S-4")] == ["S-4"]
    with pytest.raises(JournalError):
        store.update_payment("S-4", now=T0, state=PaymentState.REFUNDED, note="illegal")
    assert len(other.entries("S-4")) == 1
    other.connection.close()
    store.close()


def test_a_keyed_chain_cannot_be_recomputed_without_the_key(path: Path) -> None:
    """Someone who can write the file edits an entry and recomputes every hash after it, as
    the unkeyed chain allowed: with the key in the keyring, verify finds it."""
    key = AuditKey.new(since=1)
    audit = AuditLog.open(path, clock=Clock(), key=key)
    for n in range(3):
        audit.append(AuditAction.REFUND, actor="3", subject=f"S-{n}", details={"n": n})
    assert audit.verify().ok
    rows = audit.connection.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    with audit.connection:
        audit.connection.execute("DELETE FROM audit_log WHERE seq = 2")
        for row in rows:
            if row["seq"] == 2:
                continue
            seq = row["seq"] if row["seq"] < 2 else row["seq"] - 1
            fields = (row["at"], row["actor"], row["action"], row["subject"], row["details"])
            forged = entry_hash(seq, *fields, prev)  # what an attacker can compute
            audit.connection.execute(
                "UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (seq, prev, forged, row["seq"]),
            )
            prev = forged
        audit.connection.execute(
            "UPDATE audit_head SET entries = 2, last_hash = ? WHERE id = 1", (prev,)
        )
    assert AuditLog.open(path).verify().ok  # the unkeyed check is fooled
    result = AuditLog.open(path, key=key).verify()
    assert not result.ok
    assert result.broken_at == 1
    audit.connection.close()


def test_a_journal_cut_back_before_the_key_began_is_reported(path: Path) -> None:
    audit = AuditLog.open(path, clock=Clock(), key=AuditKey.new(since=5))
    result = audit.verify()
    assert not result.ok
    assert "signed entries were written from entry 5" in result.problem
    audit.connection.close()
