"""Finding payments by what staff type and by filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import JournalStore

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
