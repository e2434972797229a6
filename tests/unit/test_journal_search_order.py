"""Search results in the list's order, read without sorting every match (migration 5).

A common word's first page comes from the full-text index newest id first; payments written
out of time order (a clock set back) must still land where their time puts them.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal import migrations
from pos_app.journal.search import PaymentFilter, count_query, page_query
from pos_app.journal.store import SORTABLE_COLUMNS, JournalStore, PaymentRecord

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
NOW = datetime.now(UTC)
# Minutes after T0 of each sale, in the order the till wrote them: the clock went back twice.
MINUTES = [0, 5, 10, 3, 15, 20, 20, 1, 25, 30, 12, 35]


def sale(journal: JournalStore, n: int, minutes: float, description: str) -> None:
    journal.create_payment(
        reference=f"S-20261122-{n:06d}",
        profile="p",
        provider=("justifi", "payfect")[n % 2],
        method="hosted_checkout",
        amount=Money(100 + n, "USD"),
        description=description,
        now=T0 + timedelta(minutes=minutes),
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    for n, minutes in enumerate(MINUTES):
        sale(store, n, minutes, "Croissant" if n % 3 else "Birthday cake")
    yield store
    store.close()


def in_list_order(rows: list[PaymentRecord], descending: bool = True) -> list[str]:
    ordered = sorted(rows, key=lambda p: (p.created_at, p.id), reverse=descending)
    return [p.reference for p in ordered]


def every_page(
    journal: JournalStore, search: PaymentFilter, size: int, **sort: object
) -> list[str]:
    found: list[str] = []
    while page := journal.page_payments(offset=len(found), limit=size, search=search, **sort):  # type: ignore[arg-type]
        found += [p.reference for p in page]
    return found


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("size", [1, 2, 5, 50])
def test_a_word_search_pages_in_time_order_even_for_backdated_payments(
    journal: JournalStore, descending: bool, size: int
) -> None:
    everyone = journal.page_payments(offset=0, limit=100)
    croissants = [p for p in everyone if p.description == "Croissant"]
    search = PaymentFilter(text="croissant")
    assert every_page(journal, search, size, descending=descending) == in_list_order(
        croissants, descending
    )
    # The backdated (ids 4, 8, 11; a tie with the latest time is not) are listed for the merge.
    listed = {r[0] for r in journal._conn.execute("SELECT payment_id FROM payments_backdated")}
    assert listed == {4, 8, 11}


def test_other_filters_narrow_a_word_search_in_both_branches(journal: JournalStore) -> None:
    search = PaymentFilter(text="croissant", providers=frozenset({"payfect"}))
    everyone = journal.page_payments(offset=0, limit=100)
    expected = [p for p in everyone if p.description == "Croissant" and p.provider == "payfect"]
    assert every_page(journal, search, 2) == in_list_order(expected)
    assert journal.count_payments(search, cap=1000) == len(expected) == 4


def test_a_backdated_sale_written_now_is_merged_in_by_its_time(journal: JournalStore) -> None:
    sale(journal, 99, 2, "Croissant, late entry")
    page = journal.page_payments(offset=0, limit=100, search=PaymentFilter(text="croissant"))
    times = [(p.created_at, p.id) for p in page]
    assert times == sorted(times, reverse=True)
    assert "S-20261122-000099" in [p.reference for p in page]
    # A payment whose time is changed afterwards is listed too (nothing does so today).
    journal._conn.execute("UPDATE payments SET created_at = ? WHERE id = 1", (NOW.isoformat(),))
    assert journal._conn.execute("SELECT 1 FROM payments_backdated WHERE payment_id = 1").fetchone()


def test_a_deleted_payment_leaves_the_backdated_list(journal: JournalStore) -> None:
    journal._conn.execute("DELETE FROM payment_events WHERE payment_id = 4")
    journal._conn.execute("DELETE FROM payments WHERE id = 4")
    listed = {r[0] for r in journal._conn.execute("SELECT payment_id FROM payments_backdated")}
    assert listed == {8, 11}


def test_whole_words_substrings_and_phrases_find_the_right_payments(tmp_path: Path) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    texts = ["Order 4821 pickup", "4821 cakes to order", "Croissants for the office", "Rye"]
    for n, text in enumerate(texts):
        sale(journal, n, n, text)

    def found(text: str) -> list[str]:
        page = journal.page_payments(offset=0, limit=10, search=PaymentFilter(text=text))
        assert journal.count_payments(PaymentFilter(text=text), cap=1000) == len(page)
        return [p.description for p in page]

    assert found("order 4821") == ["Order 4821 pickup"]  # both words, but only as typed
    assert found("4821") == ["4821 cakes to order", "Order 4821 pickup"]
    assert found("croissant") == ["Croissants for the office"]  # a word inside a longer one
    assert found("ssants for") == ["Croissants for the office"]  # any fragment
    assert found("cakes order") == []
    assert found("rye") == ["Rye"]
    journal.close()


def test_needs_attention_lists_each_payment_once_newest_first(tmp_path: Path) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    old = NOW - timedelta(days=6, hours=1)
    for n, (state, minutes, flagged) in enumerate(
        [
            (PaymentState.IN_DOUBT, 10, True),  # both in doubt and flagged
            (PaymentState.AUTHORIZED, 0, False),  # authorization about to lapse
            (PaymentState.CAPTURED, 30, True),
            (PaymentState.CAPTURED, 20, False),  # fine
            (PaymentState.IN_DOUBT, 5, False),
        ]
    ):
        reference = f"S-20261122-{n:06d}"
        when = old + timedelta(minutes=minutes)
        journal.create_payment(
            reference=reference,
            profile="p",
            provider="justifi",
            method="direct_charge",
            amount=Money(500, "USD"),
            description="Cake",
            now=when,
        )
        if state is PaymentState.CAPTURED:
            journal.update_payment(reference, now=when, note="x", state=PaymentState.PENDING)
        journal.update_payment(
            reference, now=when, note="x", state=state, attention="Check" if flagged else None
        )
    search = PaymentFilter(needs_attention=True)
    assert every_page(journal, search, 1) == [
        "S-20261122-000002",
        "S-20261122-000000",
        "S-20261122-000004",
        "S-20261122-000001",
    ]
    assert every_page(journal, search, 3, descending=False)[0] == "S-20261122-000001"
    assert journal.count_payments(search, cap=1000) == 4
    with_word = PaymentFilter(
        needs_attention=True, text="cake", states=frozenset({PaymentState.IN_DOUBT})
    )
    assert every_page(journal, with_word, 1) == ["S-20261122-000000", "S-20261122-000004"]
    assert journal.count_payments(with_word, cap=1) == 2
    journal.close()


def vm_steps(journal: JournalStore, sql: str, params: list[object], every: int = 1000) -> int:
    """SQLite virtual-machine steps to run ``sql``, in ``every``s: the work done."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    journal._conn.set_progress_handler(tick, every)
    try:
        journal._conn.execute(sql, params).fetchall()
    finally:
        journal._conn.set_progress_handler(None, 0)
    return steps


def fill(journal: JournalStore, count: int) -> None:
    """``count`` more sales in time order, half of them croissants, written straight in."""
    start = int(journal._conn.execute("SELECT COUNT(*) FROM payments").fetchone()[0])
    journal._conn.execute("BEGIN")  # one commit, not one fsync per row
    journal._conn.executemany(
        "INSERT INTO payments (reference, profile, provider, method, amount_minor, currency,"
        " description, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                f"S-20261122-{letters(n)}",
                "p",
                "justifi",
                "hosted_checkout",
                100 + n % 50,
                "USD",
                "Croissant" if n % 2 else "Rye bread",
                "captured",
                (T0 + timedelta(seconds=n)).isoformat(),
                (T0 + timedelta(seconds=n)).isoformat(),
            )
            for n in range(start, start + count)
        ],
    )
    journal._conn.execute("COMMIT")


def letters(n: int) -> str:
    """``n`` without digits: a journal full of digit runs can look like card numbers to the
    secret scan."""
    return "".join("ABCDEFGHJKMNPQRSTVWXYZ"[n // 22**k % 22] for k in range(6))


def test_a_common_words_first_page_and_capped_count_cost_the_same_however_many_match(
    tmp_path: Path,
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    search = PaymentFilter(text="croissant")

    def cost() -> tuple[int, int]:
        page = page_query(search, now=NOW, column="created_at", descending=True, offset=0, limit=50)
        count = count_query(search, now=NOW, cap=100)
        return vm_steps(journal, *page), vm_steps(journal, *count)

    fill(journal, 1_000)
    small = cost()
    fill(journal, 10_000)
    large = cost()
    assert journal.count_payments(search, cap=100) == 101
    # Ten times the matches; before migration 5 the page read and sorted every one of them.
    assert large[0] <= small[0] * 1.5 + 5
    assert large[1] <= small[1] * 1.5 + 5
    exact = count_query(search, now=NOW, cap=None)
    assert vm_steps(journal, *exact) > 5 * large[1]  # the exact count does read them all
    journal.close()


@pytest.mark.parametrize("key", SORTABLE_COLUMNS)
@pytest.mark.parametrize("descending", [True, False])
def test_sorting_by_any_column_reads_an_index_in_order_ties_by_time(
    journal: JournalStore, key: str, descending: bool
) -> None:
    column = SORTABLE_COLUMNS[key]
    sql, params = page_query(
        PaymentFilter(), now=NOW, column=column, descending=descending, offset=0, limit=200
    )
    plan = [str(r[3]) for r in journal._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert not any("TEMP B-TREE" in step for step in plan), plan
    rows = journal.page_payments(offset=0, limit=100, order_by=key, descending=descending)
    attribute = {"amount": "amount_minor", "state": "state_value", "card": "card_last4"}
    keys = [(shown(p, attribute.get(key, key)), p.created_at, p.id) for p in rows]
    assert keys == sorted(keys, reverse=descending)


def shown(payment: PaymentRecord, name: str) -> object:
    """What the list sorts ``payment`` by for column ``name``."""
    if name == "amount_minor":
        return payment.amount.minor
    if name == "state_value":
        return payment.state.value
    return getattr(payment, name) or ""


def test_a_version_4_journal_lists_its_backdated_payments_when_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        patch.setattr(migrations, "SCHEMA_VERSION", 4)
        old = JournalStore.open(path)
        for n, minutes in enumerate(MINUTES):
            sale(old, n, minutes, "Croissant")
        old.close()
    store = JournalStore.open(path)
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    listed = {r[0] for r in store._conn.execute("SELECT payment_id FROM payments_backdated")}
    assert listed == {4, 8, 11}
    everyone = store.page_payments(offset=0, limit=100)
    assert every_page(store, PaymentFilter(text="croissant"), 3) == in_list_order(everyone)
    store.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()


def test_backdated_matches_far_from_the_page_are_not_looked_up(tmp_path: Path) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    fill(journal, 4_000)
    search = PaymentFilter(text="croissant")

    def newest_page() -> tuple[int, list[PaymentRecord]]:
        sql, params = page_query(
            search, now=NOW, column="created_at", descending=True, offset=0, limit=50
        )
        return vm_steps(journal, sql, params, every=100), journal.page_payments(
            offset=0, limit=50, search=search
        )

    before, page = newest_page()
    # A till whose clock was a month behind wrote 400 croissants after everything else.
    journal._conn.execute("BEGIN")
    for n in range(400):
        journal._conn.execute(
            "INSERT INTO payments (reference, profile, provider, method, amount_minor, currency,"
            " description, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                f"S-20261022-{letters(n)}",
                "p",
                "justifi",
                "hosted_checkout",
                100,
                "USD",
                "Croissant",
                "captured",
                (T0 - timedelta(days=30, seconds=n)).isoformat(),
                T0.isoformat(),
            ),
        )
    journal._conn.execute("COMMIT")
    after, same = newest_page()
    assert [p.reference for p in same] == [p.reference for p in page]
    # Each of those is only compared with the page's last time, not looked up (which would
    # cost over a hundred steps each).
    assert after - before < 400
    oldest = journal.page_payments(offset=0, limit=3, search=search, descending=False)
    assert [p.reference for p in oldest] == [f"S-20261022-{letters(n)}" for n in (399, 398, 397)]
    journal.close()


def test_migration_5_failing_half_way_leaves_version_4_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        patch.setattr(migrations, "SCHEMA_VERSION", 4)
        old = JournalStore.open(path)
        sale(old, 1, 0, "Croissant")
        old.close()
    with monkeypatch.context() as patch:
        broken = migrations.MIGRATIONS[4] + ";\nINSERT INTO no_such_table VALUES (1)"
        patch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS[:4], broken))
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            JournalStore.open(path)
    raw = sqlite3.connect(path)
    names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 4
    assert "payments_card_last4" in names
    assert "payments_backdated" not in names
    raw.close()
    store = JournalStore.open(path)  # the real migration 5 then runs whole
    assert store.page_payments(offset=0, limit=5, search=PaymentFilter(text="croiss"))
    store.close()
