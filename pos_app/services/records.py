"""The value types the GUI reads, in one place: it imports them from here, never from the
journal (the import-linter contract "gui must not import the journal")."""

from __future__ import annotations

from pos_app.journal.audit import (
    SYSTEM_ACTOR,
    AuditAnchor,
    AuditEntry,
    AuditLog,
    AuditVerification,
)
from pos_app.journal.reports import ReversalRow, TotalRow
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import Intent, IntentOutcome, PaymentEvent, PaymentRecord, utc_now
from pos_app.journal.users import User

__all__ = [
    "SYSTEM_ACTOR",
    "AuditAnchor",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "Intent",
    "IntentOutcome",
    "PaymentEvent",
    "PaymentFilter",
    "PaymentRecord",
    "ReversalRow",
    "TotalRow",
    "User",
    "utc_now",
]
