"""Training and live money never meet: a sandbox sale is recorded as one, left out of the
shift's real totals, lists and CSV, and shown apart only when asked for."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.search import PaymentFilter
from pos_app.journal.store import Environment, JournalError, JournalStore
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_app.services.shift import CurrencyTotal, summarize, write_csv
from tests.unit.test_payment_service import CARD, FakeGateway

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterator
    from pathlib import Path

T = TypeVar("T")
DAY = datetime(2026, 3, 14, tzinfo=UTC)
START, END = DAY, DAY + timedelta(days=1)
PROFILES: dict[str, Environment] = {"Practice": "sandbox", "High street": "live"}


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Till:
    """Two profiles on one journal, as Settings has them: a sandbox one and a live one."""

    def __init__(self, journal: JournalStore) -> None:
        self.now = DAY + timedelta(hours=9)
        self.gateway = FakeGateway(journal)
        self.service = PaymentService(
            journal,
            {name: self.gateway for name in PROFILES},  # type: ignore[misc]
            clock=lambda: self.now,
            environments=PROFILES.get,
        )

    def sell(self, profile: str, minor: int, what: str) -> str:
        self.now += timedelta(minutes=5)
        payment = run(self.service.charge(profile, Sale(usd(minor), what), CARD))
        assert payment.state is PaymentState.CAPTURED
        return payment.reference

    def refund(self, reference: str, minor: int) -> None:
        self.now += timedelta(minutes=5)
        run(self.service.refund(reference, usd(minor), "Item returned"))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def till(journal: JournalStore) -> Till:
    return Till(journal)


def test_each_payment_records_its_profiles_environment(till: Till, journal: JournalStore) -> None:
    practice = journal.get(till.sell("Practice", 5000, "Practice cake"))
    real = journal.get(till.sell("High street", 5000, "Real cake"))
    assert practice is not None
    assert real is not None
    assert (practice.environment, practice.training) == ("sandbox", True)
    assert (real.environment, real.training) == ("live", False)
    # A profile the service was not told about: unknown, which counts as real money.
    unknown = PaymentService(journal, {"Till": till.gateway})  # type: ignore[dict-item]
    payment = run(unknown.charge("Till", Sale(usd(100), "Tea"), CARD))
    assert (payment.environment, payment.training) == (None, False)


def test_a_sandbox_and_a_live_sale_of_50_make_50_real_and_50_training_apart(
    till: Till, journal: JournalStore
) -> None:
    till.sell("Practice", 5000, "Practice cake")
    till.sell("High street", 5000, "Real cake")

    summary = summarize(journal, START, END)
    assert summary.currencies == [CurrencyTotal("USD", 1, usd(5000), usd(5000), usd(0))]
    assert summary.currencies[0].net == usd(5000)  # not 100.00
    assert summary.training is None
    assert summary.training_count == 1

    shown = summarize(journal, START, END, include_training=True)
    assert shown.currencies == summary.currencies  # asking for training adds nothing to these
    assert shown.training is not None
    assert shown.training.currencies == [CurrencyTotal("USD", 1, usd(5000), usd(5000), usd(0))]
    assert [(r.provider, r.count, r.captured_minor) for r in shown.training.rows] == [
        ("fake", 1, 5000)
    ]


def test_training_refunds_and_payments_to_check_stay_out_of_the_real_lists(
    till: Till, journal: JournalStore
) -> None:
    practice = till.sell("Practice", 5000, "Practice cake")
    real = till.sell("High street", 2000, "Real bread")
    till.refund(practice, 1500)
    till.refund(real, 500)
    journal.update_payment(practice, now=till.now, attention="Practice: check it", note="!")

    summary = summarize(journal, START, END)
    assert [r.reference for r in summary.reversals] == [real]
    assert summary.attention == []
    assert summary.attention_total == 0
    assert summary.currencies[0].net == usd(1500)

    shown = summarize(journal, START, END, include_training=True)
    assert shown.training is not None
    assert [(r.reference, r.amount_minor) for r in shown.training.reversals] == [(practice, 1500)]
    assert shown.training.currencies[0].net == usd(3500)
    assert [r.reference for r in shown.reversals] == [real]
    # The practice payment to check is listed with training, not with the real ones.
    assert [p.reference for p in shown.training.attention] == [practice]
    assert shown.training.attention_total == 1
    assert shown.attention == []

    out = io.StringIO(newline="")
    write_csv(shown, out, UTC)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    checks = [
        (r["section"], r["reference"], r["environment"])
        for r in rows
        if "attention" in r["section"]
    ]
    assert checks == [("training_attention", practice, "sandbox")]


def test_the_csv_leaves_training_out_unless_asked_then_marks_every_row(
    till: Till, journal: JournalStore
) -> None:
    practice = till.sell("Practice", 5000, "Practice cake")
    till.sell("High street", 5000, "Real cake")
    till.refund(practice, 1000)

    out = io.StringIO(newline="")
    write_csv(summarize(journal, START, END), out, UTC)
    plain = list(csv.reader(io.StringIO(out.getvalue())))
    assert "environment" not in plain[0]
    assert [(r[0], r[7], r[8]) for r in plain if r[0] == "total"] == [("total", "50.00", "50.00")]
    assert not [r for r in plain if r[0].startswith("training") or r[0] == "refund"]

    out = io.StringIO(newline="")
    write_csv(summarize(journal, START, END, include_training=True), out, UTC)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert all(len(row) == len(plain[0]) + 1 for row in rows)  # every row has the column
    by_section = [(r["section"], r["amount"], r["refunded"], r["environment"]) for r in rows]
    assert by_section == [
        ("period", "", "", ""),
        ("total", "50.00", "0.00", "live"),
        ("training_total", "50.00", "10.00", "sandbox"),
        ("training_refund", "10.00", "", "sandbox"),
        ("audit_anchor", "", "", ""),
    ]
    # A spreadsheet summing the "total" rows gets the real takings, training or not.
    assert sum(int(r["captured"].replace(".", "")) for r in rows if r["section"] == "total") == (
        5000
    )


def test_payments_recorded_before_environments_were_kept_count_as_real_money(
    journal: JournalStore,
) -> None:
    for suffix, environment in (("OLD", None), ("LIVE", "live"), ("SAND", "sandbox")):
        reference = f"S-20260314-{suffix}000"
        journal.create_payment(
            reference=reference,
            profile="Sandbox — JustiFi",  # a name proves nothing: only the column counts
            provider="justifi",
            method="hosted_checkout",
            amount=usd(1000),
            description=suffix,
            now=DAY + timedelta(hours=10),
            environment=environment,  # type: ignore[arg-type]
        )
        journal.update_payment(
            reference,
            now=DAY + timedelta(hours=10),
            state=PaymentState.CAPTURED,
            authorized_minor=1000,
            captured_minor=1000,
            note="Paid",
        )
    summary = summarize(journal, START, END)
    assert summary.currencies[0].count == 2
    assert summary.currencies[0].net == usd(2000)
    assert summary.training_count == 1


def test_the_search_finds_real_money_or_training_or_both(till: Till, journal: JournalStore) -> None:
    practice = till.sell("Practice", 5000, "Cake to practise")
    real = till.sell("High street", 5000, "Cake to sell")

    def found(search: PaymentFilter) -> set[str]:
        page = journal.page_payments(offset=0, limit=10, search=search)
        assert journal.count_payments(search) == len(page)
        assert journal.count_payments(search, cap=5) == len(page)
        return {p.reference for p in page}

    for words in ("", "cake"):
        assert found(PaymentFilter(text=words, training=False)) == {real}
        assert found(PaymentFilter(text=words, training=True)) == {practice}
        assert found(PaymentFilter(text=words)) == {practice, real}
    assert PaymentFilter(training=False).is_empty_but_environment
    assert not PaymentFilter(training=False, text="cake").is_empty_but_environment


def test_an_environment_that_is_neither_is_refused(journal: JournalStore) -> None:
    with pytest.raises(JournalError, match="Unknown environment"):
        journal.create_payment(
            reference="S-20260314-BAD000",
            profile="p",
            provider="justifi",
            method="hosted_checkout",
            amount=usd(100),
            description="x",
            now=DAY,
            environment="staging",  # type: ignore[arg-type]
        )
