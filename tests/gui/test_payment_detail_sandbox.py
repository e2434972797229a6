"""Payment detail against the sandbox: real adapters, real HTTP, the real payments service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from PySide6.QtCore import Qt

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.dialogs.capture import CaptureDialog
from pos_app.gui.dialogs.refund import RefundDialog
from pos_app.gui.dialogs.void import VoidDialog
from pos_app.gui.messages import state_label
from pos_app.gui.screens.payments import PaymentsScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_sandbox.server import SandboxServer
from tests.conformance.harness import APPROVED_CARD, HARNESSES, add_fault
from tests.gui.bridging import bridged

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Coroutine, Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.payment_detail import PaymentDetail
    from pos_app.providers.base import PaymentProvider

T = TypeVar("T")
BUILD = {h.name: h for h in HARNESSES}


class SandboxTill:
    def __init__(
        self, qtbot: QtBot, sandbox: SandboxServer, journal: JournalStore, provider_name: str
    ) -> None:
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.harness = BUILD[provider_name]
        self.provider: PaymentProvider = self.harness.build(sandbox.base_url)
        self.service = PaymentService(journal, {"Till": self.provider})
        self.tasks = TaskRunner()
        self.screen = PaymentsScreen(*bridged(journal), locale="en_US")
        self.screen.set_payment_service(self.service, self.tasks)
        qtbot.addWidget(self.screen)
        self.screen.resize(1080, 770)
        self.screen.show()

    def wait(self, coro: Coroutine[Any, Any, T]) -> T:
        task = self.tasks.start(coro)
        self.qtbot.waitUntil(task.done, timeout=20_000)
        return task.result()

    def authorized_sale(self, minor: int) -> str:
        assert self.harness.card_source is not None
        source = self.harness.card_source(self.sandbox, APPROVED_CARD)
        sale = Sale(Money(minor, "USD"), "Wedding cake")
        payment = self.wait(self.service.charge("Till", sale, source, capture=False))
        assert payment.state is PaymentState.AUTHORIZED
        return payment.reference

    def open(self, reference: str) -> PaymentDetail:
        self.screen.refresh()
        self.screen.open_payment(reference)
        return self.screen.detail

    def close(self) -> None:
        self.tasks.cancel_all()
        self.screen.shutdown()
        self.wait(self.provider.aclose())


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox-state") as server:
        yield server


def till_for(
    name: str, qtbot: QtBot, sandbox: SandboxServer, journal: JournalStore
) -> Iterator[SandboxTill]:
    till = SandboxTill(qtbot, sandbox, journal, name)
    yield till
    till.close()


@pytest.fixture
def cko(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    sandbox: SandboxServer,
    journal: JournalStore,
) -> Iterator[SandboxTill]:
    yield from till_for("checkout_com", qtbot, sandbox, journal)


@pytest.fixture
def justifi(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    sandbox: SandboxServer,
    journal: JournalStore,
) -> Iterator[SandboxTill]:
    yield from till_for("justifi", qtbot, sandbox, journal)


def confirm_and_wait(qtbot: QtBot, detail: PaymentDetail) -> str:
    dialog = detail.dialog
    assert dialog is not None
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: not detail.busy.isVisible() and bool(detail.outcome.text()), timeout=20_000
    )
    return detail.outcome.text()


def test_checkout_com_partial_capture_then_refunds_in_two_steps(
    qtbot: QtBot, cko: SandboxTill, journal: JournalStore
) -> None:
    reference = cko.authorized_sale(10_000)
    detail = cko.open(reference)
    detail.start_capture()
    dialog = detail.dialog
    assert isinstance(dialog, CaptureDialog)
    assert dialog.final.isVisibleTo(dialog)  # Checkout.com takes non-final captures
    dialog.amount.setText("60.00")
    # A final partial capture leaves nothing to capture: the payment is paid (60.00).
    assert confirm_and_wait(qtbot, detail) == (
        "Captured $60.00. Checkout.com confirms the payment is now paid. "
        "$60.00 can still be refunded."
    )
    assert detail.capture_button.isHidden()
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    assert dialog.amount.text() == "60.00"
    dialog.amount.setText("25")
    dialog.reason.setCurrentText("Item returned")
    assert "$35.00 can still be refunded." in confirm_and_wait(qtbot, detail)
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.reason.setCurrentText("Item returned")
    assert confirm_and_wait(qtbot, detail) == (
        "Refunded $35.00. Checkout.com confirms the payment is now refunded."
    )
    record = journal.get(reference)
    assert record is not None
    assert (record.captured_minor, record.refunded_minor) == (6000, 6000)


def test_justifi_void_and_its_window(qtbot: QtBot, justifi: SandboxTill) -> None:
    reference = justifi.authorized_sale(4_200)
    detail = justifi.open(reference)
    windows = [w.text() for w in detail.window_labels if w.isVisibleTo(detail)]
    assert windows[0].startswith("Void available until")
    assert not detail.capture_button.isHidden()
    detail.start_void()
    assert isinstance(detail.dialog, VoidDialog)
    assert confirm_and_wait(qtbot, detail) == "Voided. JustiFi confirms the payment is now voided."
    assert detail.state_badge.text() == "Voided"


def test_a_provider_outage_is_explained_and_nothing_changes(
    qtbot: QtBot, cko: SandboxTill, journal: JournalStore
) -> None:
    reference = cko.authorized_sale(5_000)
    detail = cko.open(reference)
    add_fault(
        cko.sandbox,
        method="POST",
        path="/checkout-com/payments/*/captures",
        kind="status",
        status=503,
        times=None,
    )
    detail.start_capture()
    # Every retry got a 503: the service cannot tell, looks the payment up, and says so.
    assert confirm_and_wait(qtbot, detail).endswith("Checked since: the payment is authorized.")
    assert detail.outcome.property("tone") == "bad"
    record = journal.get(reference)
    assert record is not None
    assert (record.state, record.captured_minor) == (PaymentState.AUTHORIZED, 0)
    assert not detail.capture_button.isHidden()


def test_justifi_ledger_after_a_refund(
    qtbot: QtBot, justifi: SandboxTill, journal: JournalStore
) -> None:
    assert justifi.harness.card_source is not None
    source = justifi.harness.card_source(justifi.sandbox, APPROVED_CARD)
    sale = Sale(Money(8_000, "USD"), "Birthday cake")
    reference = justifi.wait(justifi.service.charge("Till", sale, source)).reference
    detail = justifi.open(reference)
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.amount.setText("30.00")
    dialog.reason.setCurrentText("Item returned")
    assert "$50.00 can still be refunded." in confirm_and_wait(qtbot, detail)
    qtbot.mouseClick(detail.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "reports this payment" in detail.outcome.text(), timeout=20_000)
    model = detail.history_model
    ledger = [
        (model.index(r, 2).data(), model.index(r, 3).data())
        for r in range(model.rowCount())
        if str(model.index(r, 2).data()).startswith("Ledger:")
    ]
    assert ledger[0] == ("Ledger: payment credited · balance after 80.00 USD", "$80.00")
    assert ledger[1][0].startswith("Ledger: refund debited · Refund re_")
    assert ledger[1][0].endswith(" · balance after 50.00 USD")
    assert ledger[1][1] == "-$30.00"
    assert "and ledger" in detail.history_hint.text()
    facts = {n: v.text() for n, v in detail.amounts.values.items() if v.isVisibleTo(detail)}
    assert (facts["Fees"], facts["Kept after fees"]) == ("$0.00", "$50.00")


def test_justifi_pay_by_link_counts_down_to_its_expiry(justifi: SandboxTill) -> None:
    sale = Sale(Money(2_500, "USD"), "Cake deposit")
    opened = justifi.wait(
        justifi.service.open_checkout("Till", sale, method=PaymentMethod.PAY_BY_LINK)
    )
    detail = justifi.open(opened.payment.reference)
    justifi.qtbot.waitUntil(
        lambda: any(w.text().startswith("Link expires in") for w in detail.window_labels),
        timeout=20_000,
    )
    shown = [w.text() for w in detail.window_labels if w.isVisibleTo(detail)]
    assert len(shown) == 1
    assert shown[0].startswith("Link expires in 6 d 23 h")
    assert detail.state_badge.text() == state_label(PaymentState.PENDING)
