"""Finding payments by what staff type and by filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.search import PaymentFilter, where_clause
from pos_app.journal.store import JournalStore

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime.now(UTC)


@pytest.fixture
def journal(tmp_path: Path) -> JournalStore:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    rows = [
        # reference suffix, provider, minor, description, days ago, state, last4, refs, attention
        (
            "AAAAAA",
            "justifi",
            1799,
            "Chocolate donut",
            0,
            "captured",
            "4242",
            "cho_Abc123xyz",
            None,
        ),
        (
            "BBBBBB",
            "checkout_com",
            500,
            "Espresso 50%_off",
            1,
            "declined",
            "0002",
            "hpp_Zz9y8x7w",
            None,
        ),
        ("CCCCCC", "recharge", 25_000, "Wedding cake deposit", 3, "authorized", "1111", None, None),
        ("DDDDDD", "payfect", 12_000, "Gift card batch", 8, "authorized", None, None, None),
        ("EEEEEE", "justifi", 4242, "Order 4242 pickup", 2, "in_doubt", None, None, "Check it"),
    ]
    for suffix, provider, minor, text, days, state, last4, ref, attention in rows:
        when = NOW - timedelta(days=days)
        reference = f"S-20261122-{suffix}"
        store.create_payment(
            reference=reference,
            profile="p",
            provider=provider,
            method="hosted_checkout",
            amount=Money(minor, "USD"),
            description=text,
            now=when,
        )
        if state == "captured":
            store.update_payment(reference, now=when, note="open", state=PaymentState.PENDING)
        store.update_payment(
            reference,
            now=when,
            note="test data",
            state=PaymentState(state),
            card_last4=last4,
            provider_ref=ref,
            provider_payment_ref=f"py_{suffix}1234" if ref else None,
            attention=attention,
        )
    return store


def found(journal: JournalStore, search: PaymentFilter) -> list[str]:
    count = journal.count_payments(search)
    page = journal.page_payments(offset=0, limit=50, search=search, order_by="reference")
    assert count == len(page)
    return sorted(p.reference[-6:] for p in page)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (PaymentFilter(), ["AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD", "EEEEEE"]),
        (PaymentFilter(text="s-20261122-cccccc"), ["CCCCCC"]),  # our reference, any case
        (PaymentFilter(text="4242"), ["AAAAAA", "EEEEEE"]),  # last four, or in the text
        (PaymentFilter(text="cho_Abc123xyz"), ["AAAAAA"]),  # the provider's checkout id
        (PaymentFilter(text="py_BBBBBB1234"), ["BBBBBB"]),  # the provider's payment id
        (PaymentFilter(text="cake"), ["CCCCCC"]),
        (PaymentFilter(text="50%_"), ["BBBBBB"]),  # LIKE wildcards are plain text
        (PaymentFilter(text="100%"), []),
        (PaymentFilter(amount_min=1799, amount_max=12_000), ["AAAAAA", "DDDDDD", "EEEEEE"]),
        (
            PaymentFilter(created_from=NOW - timedelta(days=2, hours=1)),
            ["AAAAAA", "BBBBBB", "EEEEEE"],
        ),
        (PaymentFilter(created_to=NOW - timedelta(days=5)), ["DDDDDD"]),
        (
            PaymentFilter(providers=frozenset({"justifi", "payfect"})),
            ["AAAAAA", "DDDDDD", "EEEEEE"],
        ),
        (PaymentFilter(states=frozenset({PaymentState.AUTHORIZED})), ["CCCCCC", "DDDDDD"]),
        # In doubt, flagged, or an authorization about to lapse.
        (PaymentFilter(needs_attention=True), ["DDDDDD", "EEEEEE"]),
        (PaymentFilter(text="cake", providers=frozenset({"justifi"})), []),
    ],
)
def test_search(journal: JournalStore, search: PaymentFilter, expected: list[str]) -> None:
    assert found(journal, search) == expected


def test_a_naive_date_is_refused_not_misread(journal: JournalStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.count_payments(PaymentFilter(created_from=datetime(2026, 11, 1)))


# -- migration 4: the full-text index and the query plans behind each kind of search ----------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cccccc", ["CCCCCC"]),  # a fragment of our reference
        ("WEDDING CAKE", ["CCCCCC"]),  # words, any case, across a space
        ("ca", ["CCCCCC", "DDDDDD"]),  # too short for the index: still found
        ('"quoted"', []),  # quotes are text, not query syntax
        ("cake OR donut", []),  # nor are FTS operators
    ],
)
def test_text_search_finds_fragments_in_any_case(
    journal: JournalStore, text: str, expected: list[str]
) -> None:
    assert found(journal, PaymentFilter(text=text)) == expected


def test_text_search_follows_a_changed_description(journal: JournalStore) -> None:
    journal._conn.execute(
        "UPDATE payments SET description = 'Café crème' WHERE reference = 'S-20261122-CCCCCC'"
    )
    assert found(journal, PaymentFilter(text="wedding")) == []
    assert found(journal, PaymentFilter(text="CAFÉ")) == ["CCCCCC"]  # case folds beyond ASCII
    journal._conn.execute("DELETE FROM payment_events WHERE payment_id = 3")
    journal._conn.execute("DELETE FROM payments WHERE reference = 'S-20261122-CCCCCC'")
    assert found(journal, PaymentFilter(text="café")) == []


def test_one_amount_is_an_exact_match(journal: JournalStore) -> None:
    assert found(journal, PaymentFilter(amount_min=4242, amount_max=4242)) == ["EEEEEE"]
    assert found(journal, PaymentFilter(amount_min=4243, amount_max=4243)) == []


KINDS = {
    "reference": PaymentFilter(text="S-20261122-CCCCCC"),
    "provider id": PaymentFilter(text="cho_Abc123xyz"),
    "last 4": PaymentFilter(text="4242"),
    "description": PaymentFilter(text="wedding cake"),
    "amount": PaymentFilter(amount_min=1799, amount_max=1799),
    "amount range": PaymentFilter(amount_min=1000, amount_max=2000),
    "date range": PaymentFilter(created_from=NOW - timedelta(days=3), created_to=NOW),
    "provider": PaymentFilter(providers=frozenset({"recharge"})),
    "status": PaymentFilter(states=frozenset({PaymentState.DECLINED})),
    "needs attention": PaymentFilter(needs_attention=True),
}


def plan(journal: JournalStore, sql: str, params: list[object]) -> list[str]:
    return [str(row[3]) for row in journal._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


@pytest.mark.parametrize("kind", KINDS)
def test_no_kind_of_search_reads_every_payment(journal: JournalStore, kind: str) -> None:
    where, params = where_clause(KINDS[kind], now=NOW)
    count = plan(journal, f"SELECT COUNT(*) FROM payments {where}", params)
    page = plan(
        journal,
        f"SELECT * FROM payments {where} ORDER BY created_at DESC, id DESC LIMIT 200 OFFSET 0",
        params,
    )
    # A bare "SCAN payments" reads the whole table. The page may walk the time index (it stops
    # after a page); a count may only scan the partial index of flagged payments.
    assert "SCAN payments" not in count + page
    assert not [s for s in count if s.startswith("SCAN payments ") and "flagged" not in s]
    if kind in ("reference", "amount", "date range", "provider", "status", "amount range"):
        assert not any("TEMP B-TREE" in step for step in page)  # the first page is not sorted


@pytest.mark.parametrize("text", ["cake", "4242", "cccccc"])
def test_many_matches_walks_time_order_and_finds_the_same_rows(
    journal: JournalStore, text: str
) -> None:
    def rows(many: bool) -> list[str]:
        where, params = where_clause(PaymentFilter(text=text), now=NOW, many_matches=many)
        sql = f"SELECT reference FROM payments {where} ORDER BY created_at DESC, id DESC"
        return [r[0] for r in journal._conn.execute(sql, params)]

    assert rows(True) == rows(False) != []
    where, params = where_clause(PaymentFilter(text=text), now=NOW, many_matches=True)
    page = plan(
        journal,
        f"SELECT * FROM payments {where} ORDER BY created_at DESC, id DESC LIMIT 200",
        params,
    )
    assert not any("TEMP B-TREE" in step for step in page)  # read in order, stops at a page
