"""At every start the till checks its audit trail under the key in the OS keyring, and up to
the last anchor an end-of-shift summary showed; a break is shown in the status bar."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from pos_app.journal.audit import GENESIS_HASH, AuditAction, entry_hash

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from tests.e2e.conftest import Till


def _forge_without_the_key(path: str) -> None:
    """What someone who can write the file does: edit an entry and recompute every hash."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM audit_log ORDER BY seq").fetchall()
    prev = GENESIS_HASH
    with conn:
        for row in rows:
            details = row["details"].replace("system", "nobody")
            fields = (row["at"], row["actor"], row["action"], row["subject"], details)
            forged = entry_hash(row["seq"], *fields, prev)
            conn.execute(
                "UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (details, prev, forged, row["seq"]),
            )
            prev = forged
        conn.execute("UPDATE audit_head SET last_hash = ? WHERE id = 1", (prev,))
    conn.close()


def test_a_trail_rewritten_without_the_key_is_reported_at_the_next_start(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    assert pos.staff.audit.key is not None  # made at first start, kept in the keyring
    pos.staff.audit.append(AuditAction.SETTINGS_CHANGED, actor="system", subject="settings")
    assert pos.staff.audit.verify().ok
    till.stop(pos)

    _forge_without_the_key(str(till.paths.journal_file))
    again = till.start()
    qtbot.waitUntil(again.window.audit_alert.isVisible, timeout=20_000)
    assert again.window.audit_alert.text() == "Audit trail broken — see Audit (F10)"
    assert "does not match its hash" in again.window.audit_alert.accessibleDescription()


def test_settings_edited_by_hand_are_audited_and_shown_at_the_next_start(
    qtbot: QtBot, till: Till
) -> None:
    pos = till.start()
    till.stop(pos)
    settings_file = till.paths.settings_file
    document = json.loads(settings_file.read_text(encoding="utf-8"))
    document["refund_approval_limit_minor"] = 99_999_999  # a limit nobody would approve
    settings_file.write_text(json.dumps(document), encoding="utf-8")

    again = till.start()
    alert = again.window.audit_alert
    assert alert.isVisible()
    assert alert.text() == "Settings changed outside the app — see Audit (F10)"
    assert "refund_approval_limit_minor" in alert.accessibleDescription()
    [entry] = [e for e in again.staff.audit.entries("settings") if e.details.get("outside_app")]
    assert entry.actor == "system"
    assert entry.details["changed"] == ["refund_approval_limit_minor"]
    till.stop(again)
    # Said once: the next start has nothing new to report.
    third = till.start()
    assert not third.window.audit_alert.isVisible()
