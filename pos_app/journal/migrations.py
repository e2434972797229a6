"""Ordered schema migrations, tracked in SQLite's ``user_version``.

Never edit a migration that has shipped: add the next one. Each runs in its own
transaction, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: payments, write-ahead intents, per-payment history.
    """
    CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        profile TEXT NOT NULL,
        provider TEXT NOT NULL,
        method TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        description TEXT NOT NULL,
        state TEXT NOT NULL,
        provider_ref TEXT,
        provider_payment_ref TEXT,
        decline_code TEXT,
        decline_message TEXT,
        card_brand TEXT,
        card_last4 TEXT,
        attention TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX payments_created_at ON payments(created_at);
    CREATE INDEX payments_provider_ref ON payments(provider_ref);
    CREATE TABLE intents (
        id INTEGER PRIMARY KEY,
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        operation TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        amount_minor INTEGER,
        currency TEXT,
        created_at TEXT NOT NULL,
        outcome TEXT,
        outcome_detail TEXT,
        resolved_at TEXT
    );
    CREATE INDEX intents_unresolved ON intents(payment_id)
        WHERE outcome IS NULL OR outcome = 'unknown';
    CREATE TABLE payment_events (
        id INTEGER PRIMARY KEY,
        payment_id INTEGER NOT NULL REFERENCES payments(id),
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        note TEXT NOT NULL
    );
    CREATE INDEX payment_events_payment ON payment_events(payment_id);
    """,
    # 2: running amounts (what was authorized, captured, refunded) and the customer's
    # pending-action URL (3-D Secure). Rows from v1 were only ever hosted sales, so a
    # captured one had its whole amount authorized and captured.
    """
    ALTER TABLE payments ADD COLUMN authorized_minor INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE payments ADD COLUMN captured_minor INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE payments ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE payments ADD COLUMN action_url TEXT;
    UPDATE payments SET authorized_minor = amount_minor, captured_minor = amount_minor
        WHERE state = 'captured';
    UPDATE payments SET authorized_minor = amount_minor WHERE state = 'authorized';
    """,
    # 3: staff and their PINs (scrypt hashes only), and the hash-chained audit trail with
    # its head (entry count and last hash) kept in a one-row table written in the same
    # transaction as each entry. UNIQUE(prev_hash): two writers can never fork the chain.
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'admin')),
        pin_hash TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        failed_pins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_log_subject ON audit_log(subject, seq);
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        entries INTEGER NOT NULL,
        last_hash TEXT NOT NULL
    );
    INSERT INTO audit_head (id, entries, last_hash) VALUES
        (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
    """,
    # 4: a year of payments must search fast. An index per filter, each ending in created_at
    # (the list's order), so a filter's first page is read in order, not sorted; a trigram
    # full-text index over description and reference (kept in step by triggers) so a word or
    # a fragment of a reference is found without reading every row; and the intents' outcome
    # time for the end-of-shift refunds and voids.
    """
    CREATE INDEX payments_provider_payment_ref ON payments(provider_payment_ref);
    CREATE INDEX payments_provider_created ON payments(provider, created_at);
    CREATE INDEX payments_state_created ON payments(state, created_at);
    CREATE INDEX payments_amount_created ON payments(amount_minor, created_at);
    CREATE INDEX payments_card_last4 ON payments(card_last4);
    CREATE INDEX payments_flagged ON payments(created_at) WHERE attention IS NOT NULL;
    CREATE INDEX intents_resolved_at ON intents(resolved_at);
    CREATE VIRTUAL TABLE payments_text USING fts5(
        description, reference, content='payments', content_rowid='id', tokenize='trigram'
    );
    CREATE TRIGGER payments_text_insert AFTER INSERT ON payments BEGIN
        INSERT INTO payments_text (rowid, description, reference)
            VALUES (new.id, new.description, new.reference);
    END;
    CREATE TRIGGER payments_text_delete AFTER DELETE ON payments BEGIN
        INSERT INTO payments_text (payments_text, rowid, description, reference)
            VALUES ('delete', old.id, old.description, old.reference);
    END;
    CREATE TRIGGER payments_text_update AFTER UPDATE OF description, reference ON payments BEGIN
        INSERT INTO payments_text (payments_text, rowid, description, reference)
            VALUES ('delete', old.id, old.description, old.reference);
        INSERT INTO payments_text (rowid, description, reference)
            VALUES (new.id, new.description, new.reference);
    END;
    INSERT INTO payments_text (payments_text) VALUES ('rebuild')
    """,
    # 5: the first page of a common word's matches without sorting them all. The text index
    # yields matches in id order, which is time order except for payments written out of time
    # order (a clock set back, a till whose clock is behind): triggers list those in
    # payments_backdated, so a search merges them in by time. What stays out of that list
    # must be in time order by id; a payment listed without need only costs a look-up. And
    # sorting by description or card reads an index in order (ties newest first).
    """
    CREATE TABLE payments_backdated (payment_id INTEGER PRIMARY KEY);
    INSERT INTO payments_backdated (payment_id)
        SELECT id FROM (
            SELECT id, created_at < MAX(created_at) OVER (
                ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS late FROM payments
        ) WHERE late;
    CREATE TRIGGER payments_backdated_insert AFTER INSERT ON payments
        WHEN new.created_at < (
            SELECT created_at FROM payments WHERE id <> new.id ORDER BY created_at DESC LIMIT 1
        ) OR new.id < (SELECT MAX(id) FROM payments)
    BEGIN
        INSERT OR IGNORE INTO payments_backdated (payment_id) VALUES (new.id);
    END;
    CREATE TRIGGER payments_backdated_update AFTER UPDATE OF id, created_at ON payments
        WHEN new.created_at IS NOT old.created_at OR new.id <> old.id
    BEGIN
        INSERT OR IGNORE INTO payments_backdated (payment_id) VALUES (new.id);
    END;
    CREATE TRIGGER payments_backdated_delete AFTER DELETE ON payments BEGIN
        DELETE FROM payments_backdated WHERE payment_id = old.id;
    END;
    CREATE INDEX payments_description_created ON payments(description, created_at);
    CREATE INDEX payments_card_created ON payments(card_last4, created_at);
    DROP INDEX payments_card_last4
    """,
    # 6: webhook events already handed on, so that a replay is refused after a restart too
    # (the receiver keeps them for as long as any provider may redeliver).
    """
    CREATE TABLE webhook_events (
        provider TEXT NOT NULL,
        event_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (provider, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX webhook_events_received_at ON webhook_events(received_at)
    """,
    # 7: lock-outs in a row per user, so each one lasts longer than the last.
    """
    ALTER TABLE users ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0
    """,
    # 8: each user row's seal: a MAC, under the audit key, of who the user is and may do
    # (journal/users.py), so a row planted or edited outside the app is refused.
    """
    ALTER TABLE users ADD COLUMN seal TEXT
    """,
    # 9: each payment's environment, beside its profile: 'sandbox' (a training sale: test
    # cards, no real money) or 'live', so training never meets real money in the shift's
    # totals. Payments recorded before this migration stay NULL, "unknown": the journal alone
    # cannot tell which were training (a profile's name proves nothing — it is whatever
    # someone typed — and a profile may have switched environment since), so they are not
    # guessed at but counted as real money, as they always were: a manager may see a
    # training sale among the takings, never miss real money. The index serves "training
    # sales in this range" and their count.
    """
    ALTER TABLE payments ADD COLUMN environment TEXT
        CHECK (environment IS NULL OR environment IN ('sandbox', 'live'));
    CREATE INDEX payments_environment_created ON payments(environment, created_at)
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class JournalTooNewError(RuntimeError):
    """The database was written by a newer pos_app; opening it could lose data."""


def migrate(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise JournalTooNewError(
            f"The journal has schema version {version}; this pos_app knows up to {SCHEMA_VERSION}. "
            "Update pos_app before opening it."
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        # Another till may have migrated while we waited for the write lock.
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= number:
            conn.execute("COMMIT")
            continue
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """Split ``script`` into statements at the semicolons that end one.

    A semicolon inside a trigger's BEGIN…END or a string literal does not: SQLite's own
    ``complete_statement`` decides where each statement is whole.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip().removesuffix(";").strip()
            if statement:
                statements.append(statement)
            pending = ""
    return statements
