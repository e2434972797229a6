"""A day of trading in a journal, shared by the shift report, CSV and screen tests (no tests).

The day is 2026-01-10 (UTC), long enough ago that an authorization from it is about to lapse
whatever today is. Sales outside the day, and refunds that were refused or are still
unknown, must never reach the report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import IntentOutcome, JournalStore

if TYPE_CHECKING:
    from pathlib import Path

DAY = datetime(2026, 1, 10, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)

S = PaymentState
# suffix, provider, method, minor, currency, hour, (state, authorized, captured, refunded)
SALES = [
    ("AAAAA1", "justifi", "hosted_checkout", 1799, "USD", 9, (S.CAPTURED, 1799, 1799, 0)),
    ("AAAAA2", "justifi", "hosted_checkout", 1000, "USD", 10, (S.CAPTURED, 1000, 1000, 0)),
    ("AAAAA3", "checkout_com", "direct_charge", 5000, "EUR", 12, (S.AUTHORIZED, 5000, 0, 0)),
    ("AAAAA4", "recharge", "pay_by_link", 300, "USD", 14, (S.DECLINED, 0, 0, 0)),
    ("AAAAA5", "payfect", "hosted_checkout", 12000, "USD", 15, (S.IN_DOUBT, 0, 0, 0)),
    ("AAAAA6", "checkout_com", "direct_charge", 2500, "USD", 16, (S.AUTHORIZED, 2500, 0, 0)),
    ("AAAAA7", "justifi", "hosted_checkout", 550, "USD", 17, (S.CAPTURED, 550, 550, 0)),
]


def reference(suffix: str, day: datetime = DAY) -> str:
    return f"S-{day:%Y%m%d}-{suffix}"


def sell(
    store: JournalStore,
    suffix: str,
    provider: str,
    method: str,
    minor: int,
    currency: str,
    at: datetime,
    outcome: tuple[PaymentState, int, int, int],
) -> str:
    ref = reference(suffix, at)
    store.create_payment(
        reference=ref,
        profile="Till",
        provider=provider,
        method=method,
        amount=Money(minor, currency),
        description=f"Sale {suffix}",
        now=at,
    )
    state, authorized, captured, refunded = outcome
    store.update_payment(
        ref,
        now=at,
        state=state,
        authorized_minor=authorized,
        captured_minor=captured,
        refunded_minor=refunded,
        note="Settled",
    )
    return ref


def act(
    store: JournalStore,
    ref: str,
    operation: str,
    amount: Money | None,
    at: datetime,
    outcome: IntentOutcome,
    key: str,
) -> None:
    intent = store.begin_intent(
        ref, operation=operation, idempotency_key=key, amount=amount, now=at
    )
    store.finish_intent(intent.id, outcome, detail="test", now=at)


def at(hour: int) -> datetime:
    return DAY.replace(hour=hour)


def trading_day(path: Path) -> JournalStore:
    store = JournalStore.open(path)
    for suffix, provider, method, minor, currency, hour, outcome in SALES:
        sell(store, suffix, provider, method, minor, currency, at(hour), outcome)
    # Yesterday's sale refunded this morning: listed, but not in today's totals.
    late = DAY - timedelta(seconds=1)
    old = sell(
        store, "OLD001", "justifi", "hosted_checkout", 999, "USD", late, (S.CAPTURED, 999, 999, 0)
    )
    act(store, old, "refund", Money(999, "USD"), at(8), IntentOutcome.SUCCEEDED, "r-old")
    store.update_payment(old, now=at(8), state=S.REFUNDED, refunded_minor=999, note="Refund")
    # A partial refund, confirmed by a later lookup.
    a2 = reference("AAAAA2")
    act(store, a2, "refund", Money(250, "USD"), at(11), IntentOutcome.RESOLVED, "r-a2")
    store.update_payment(
        a2, now=at(11), state=S.PARTIALLY_REFUNDED, refunded_minor=250, note="Refund"
    )
    # A void carries no amount: the report shows what it released.
    a3 = reference("AAAAA3")
    act(store, a3, "void", None, at(13), IntentOutcome.SUCCEEDED, "v-a3")
    store.update_payment(a3, now=at(13), state=S.VOIDED, note="Voided")
    # Refused, never sent and unknown refunds moved no money.
    a1 = reference("AAAAA1")
    act(store, a1, "refund", Money(100, "USD"), at(18), IntentOutcome.REJECTED, "r-no")
    act(store, a1, "refund", Money(100, "USD"), at(19), IntentOutcome.NOT_SENT, "r-ns")
    store.begin_intent(
        a1, operation="refund", idempotency_key="r-unk", amount=Money(1, "USD"), now=at(20)
    )
    store.update_payment(
        reference("AAAAA4"), now=at(14), attention='Could not check: "timed out", retry.', note="!"
    )
    # The next day starts at midnight exactly: not this shift.
    sell(store, "NEXT01", "payfect", "hosted_checkout", 700, "USD", END, (S.CAPTURED, 700, 700, 0))
    return store
