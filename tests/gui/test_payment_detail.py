"""Payment detail: what staff see of one payment, and capture / refund / void end to end.

The payments service is the real one; the provider is the in-memory FakeGateway.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.gui.dialogs.approval import GateAnswer
from pos_app.gui.dialogs.capture import CaptureDialog
from pos_app.gui.dialogs.refund import RefundDialog
from pos_app.gui.dialogs.void import VoidDialog
from pos_app.gui.screens.payment_detail import PaymentDetail
from pos_app.gui.screens.payments import PaymentsScreen
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.errors import InvalidRequestError
from pos_app.providers.types import Capability, CheckoutSession, PaymentAction, ProviderPayment
from pos_app.services.payments import PaymentService
from pos_app.services.queries import PaymentQueries
from tests.gui.bridging import bridged
from tests.unit.test_payment_service import FakeGateway

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ALL = frozenset(Capability)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


class HistoryService(PaymentService):
    """PaymentService plus the provider-history lookup the page asks for when it exists."""

    def __init__(self, journal: JournalStore, gateway: FakeGateway) -> None:
        super().__init__(journal, {"Till": gateway})  # type: ignore[dict-item]
        self.gateway = gateway
        self.history_calls = 0

    async def provider_history(self, reference: str) -> tuple[PaymentAction, ...]:
        self.history_calls += 1
        await asyncio.sleep(0)
        record = self.journal.get(reference)
        assert record is not None
        assert record.provider_payment_ref
        payment = self.gateway.payments[record.provider_payment_ref]
        steps = [PaymentAction("authorization", payment.provider_ref, payment.amount, True, T0)]
        if payment.captured.minor:
            steps.append(PaymentAction("capture", "act_cap", payment.captured, True, None))
        return tuple(steps)


def seed(
    journal: JournalStore,
    gateway: FakeGateway,
    reference: str,
    amount: int,
    *,
    captured: bool,
    provider: str = "fake",
    method: str = "direct_charge",
    created: datetime = T0,
) -> PaymentRecord:
    """A payment the journal and the fake provider both know, authorized or captured."""
    journal.create_payment(
        reference=reference,
        profile="Till",
        provider=provider,
        method=method,
        amount=usd(amount),
        description=f"Sale {reference}",
        now=created,
    )
    ref = f"pay_{reference}"
    state = PaymentState.CAPTURED if captured else PaymentState.AUTHORIZED
    gateway.payments[ref] = ProviderPayment(
        ref, state, state.value, usd(amount), usd(amount if captured else 0), usd(0), reference
    )
    return journal.update_payment(
        reference,
        now=created,
        state=state,
        provider_payment_ref=ref,
        card_brand="visa",
        card_last4="4242",
        provider_ref=None if method == "direct_charge" else f"cho_{reference}",
        authorized_minor=amount,
        captured_minor=amount if captured else 0,
        note="Paid at the provider",
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def gateway(journal: JournalStore) -> FakeGateway:
    return FakeGateway(journal)


@pytest.fixture
def service(journal: JournalStore, gateway: FakeGateway) -> HistoryService:
    return HistoryService(journal, gateway)


@pytest.fixture
def screen(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: HistoryService,
) -> Iterator[PaymentsScreen]:
    widget = PaymentsScreen(*bridged(journal), locale="en_US")
    tasks = TaskRunner()
    widget.set_payment_service(service, tasks)
    qtbot.addWidget(widget)
    widget.resize(1080, 770)
    widget.show()
    yield widget
    tasks.cancel_all()
    widget.shutdown()


def open_detail(screen: PaymentsScreen, reference: str) -> PaymentDetail:
    screen.refresh()
    screen.open_payment(reference)
    return screen.detail


def amounts(detail: PaymentDetail) -> dict[str, str]:
    return {
        name: value.text()
        for name, value in detail.amounts.values.items()
        if value.isVisibleTo(detail)
    }


def confirm(qtbot: QtBot, detail: PaymentDetail) -> None:
    dialog = detail.dialog
    assert dialog is not None
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]


def wait_outcome(qtbot: QtBot, detail: PaymentDetail) -> str:
    qtbot.waitUntil(lambda: not detail.busy.isVisible() and bool(detail.outcome.text()))
    return detail.outcome.text()


def test_detail_shows_amounts_card_ids_and_local_history(
    screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    journal.update_payment(
        "S-1", now=T0, refunded_minor=1200, state=PaymentState.PARTIALLY_REFUNDED, note="Refund"
    )
    detail = open_detail(screen, "S-1")
    assert screen.showing_detail
    assert amounts(detail) == {
        "Sale": "$50.00",
        "Authorized": "$50.00",
        "Captured": "$50.00",
        "Refunded": "$12.00",
        "Refundable": "$38.00",
    }
    assert detail.state_badge.text() == "Partly refunded"
    assert detail.facts.values["Card"].text() == "Visa •••• 4242"
    assert detail.facts.values["Payment id"].text() == "pay_S-1"
    assert detail.facts.values["Provider"].text() == "FakePay (profile “Till”)"
    notes = [
        detail.history_model.index(r, 2).data() for r in range(detail.history_model.rowCount())
    ]
    assert notes == [
        "Started — Sale started",
        "Paid — Paid at the provider",
        "Partly refunded — Refund",
    ]
    assert detail.refund_button.isVisible()
    assert not detail.capture_button.isVisible()
    assert not detail.void_button.isVisible()


def test_attention_note_is_shown(
    screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    journal.update_payment("S-1", now=T0, attention="Totals differ at the provider.", note="x")
    detail = open_detail(screen, "S-1")
    assert detail.attention.isVisible()
    assert "Totals differ at the provider." in detail.attention.text()


def test_partial_capture_then_final_capture(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    detail = open_detail(screen, "S-1")
    assert detail.capture_button.isVisible()
    assert detail.void_button.isVisible()
    assert not detail.refund_button.isVisible()
    qtbot.mouseClick(detail.capture_button, Qt.MouseButton.LeftButton)
    dialog = detail.dialog
    assert isinstance(dialog, CaptureDialog)
    assert dialog.amount.text() == "50.00"
    dialog.amount.setText("20.00")
    dialog.final.setChecked(False)
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == (
        "Captured $20.00. FakePay confirms the payment is now partly captured. "
        "$20.00 can still be refunded."
    )
    assert gateway.calls == ["capture"]
    assert amounts(detail)["Captured"] == "$20.00"
    assert detail.state_badge.text() == "Partly captured"
    # The list shows the journal's new state as soon as the burst of writes settles.
    qtbot.waitUntil(lambda: screen.model.index(0, 4).data() == "Partly captured")

    qtbot.mouseClick(detail.capture_button, Qt.MouseButton.LeftButton)
    dialog = detail.dialog
    assert isinstance(dialog, CaptureDialog)
    assert dialog.amount.text() == "30.00"
    assert not dialog.final.isVisibleTo(dialog)  # after a partial capture the next is final
    dialog.amount.setText("10.00")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail).startswith("Captured $10.00.")
    record = journal.get("S-1")
    assert record is not None
    assert (record.state, record.captured_minor) == (PaymentState.CAPTURED, 3000)
    assert not detail.capture_button.isVisible()


def test_capture_above_the_authorization_is_refused_in_the_dialog(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    detail = open_detail(screen, "S-1")
    detail.start_capture()
    dialog = detail.dialog
    assert isinstance(dialog, CaptureDialog)
    dialog.amount.setText("50.01")
    confirm(qtbot, detail)
    assert dialog.isVisible()
    assert dialog.error.text() == "At most $50.00 can be captured on this payment."
    assert "capture" not in gateway.calls
    assert [i.operation for i in journal.intents_for("S-1")] == []


def test_refund_part_then_the_rest(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    detail = open_detail(screen, "S-1")
    qtbot.mouseClick(detail.refund_button, Qt.MouseButton.LeftButton)
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    assert dialog.amount.text() == "50.00"  # prefilled with everything refundable
    dialog.amount.setText("15.50")
    dialog.reason.setCurrentText("Item returned")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == (
        "Refunded $15.50. FakePay confirms the payment is now partly refunded. "
        "$34.50 can still be refunded."
    )
    assert amounts(detail)["Refundable"] == "$34.50"

    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    assert dialog.amount.text() == "34.50"
    dialog.reason.setCurrentText("Item returned")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == (
        "Refunded $34.50. FakePay confirms the payment is now refunded."
    )
    record = journal.get("S-1")
    assert record is not None
    assert (record.state, record.refunded_minor) == (PaymentState.REFUNDED, 5000)
    assert not detail.refund_button.isVisible()
    assert detail.actions_hint.text() == "This payment is refunded: nothing more to do."
    assert [(i.operation, i.amount) for i in journal.intents_for("S-1")] == [
        ("refund", usd(1550)),
        ("refund", usd(3450)),
    ]


def test_over_refund_is_refused_in_the_dialog_and_nothing_is_written(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    journal.update_payment(
        "S-1", now=T0, refunded_minor=4000, state=PaymentState.PARTIALLY_REFUNDED, note="Refund"
    )
    detail = open_detail(screen, "S-1")
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.amount.setText("10.01")
    dialog.reason.setCurrentText("Customer request")
    confirm(qtbot, detail)
    assert dialog.isVisible()
    assert dialog.error.text() == "At most $10.00 can be refunded on this payment."
    assert dialog.amount.property("invalid") is True
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: detail.dialog is None)
    assert journal.intents_for("S-1") == []
    assert "refund" not in gateway.calls
    assert detail.outcome.text() == ""


def test_void_after_confirming(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    detail = open_detail(screen, "S-1")
    qtbot.mouseClick(detail.void_button, Qt.MouseButton.LeftButton)
    dialog = detail.dialog
    assert isinstance(dialog, VoidDialog)
    assert "$50.00" in dialog.question.text()
    dialog.reason.setText("Customer changed their mind")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == "Voided. FakePay confirms the payment is now voided."
    assert detail.state_badge.text() == "Voided"
    assert not any(
        b.isVisible() for b in (detail.capture_button, detail.refund_button, detail.void_button)
    )


def test_cancelling_a_dialog_sends_nothing(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    detail = open_detail(screen, "S-1")
    detail.start_void()
    dialog = detail.dialog
    assert dialog is not None
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: detail.dialog is None)
    assert journal.intents_for("S-1") == []
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("capabilities", "captured", "shown"),
    [
        (ALL - {Capability.REFUND}, True, set()),
        (ALL, True, {"refund"}),
        (ALL - {Capability.AUTHORIZE_CAPTURE}, False, {"void"}),
        (ALL - {Capability.VOID}, False, {"capture"}),
        (frozenset({Capability.HOSTED_CHECKOUT, Capability.LOOKUP}), True, set()),
    ],
)
def test_actions_follow_the_providers_capabilities(
    screen: PaymentsScreen,
    journal: JournalStore,
    gateway: FakeGateway,
    capabilities: frozenset[Capability],
    captured: bool,
    shown: set[str],
) -> None:
    gateway.capabilities = capabilities
    seed(journal, gateway, "S-1", 5000, captured=captured)
    detail = open_detail(screen, "S-1")
    visible = {
        name
        for name, button in (
            ("capture", detail.capture_button),
            ("refund", detail.refund_button),
            ("void", detail.void_button),
        )
        if button.isVisible()
    }
    assert visible == shown
    if not shown:
        assert "FakePay cannot" in detail.actions_hint.text()


def test_without_partial_refund_the_amount_is_the_whole_refundable(
    screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    gateway.capabilities = ALL - {Capability.PARTIAL_REFUND, Capability.PARTIAL_CAPTURE}
    seed(journal, gateway, "S-1", 5000, captured=True)
    detail = open_detail(screen, "S-1")
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    assert dialog.amount.isReadOnly()
    assert dialog.amount.text() == "50.00"


def test_provider_refusal_is_shown_in_a_sentence(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    gateway.fail_next = InvalidRequestError("Refund exceeds the amount available", provider="fake")
    detail = open_detail(screen, "S-1")
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.reason.setCurrentText("Customer request")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == (
        "fake refused the request: Refund exceeds the amount available"
    )
    assert detail.outcome.property("tone") == "bad"
    assert amounts(detail)["Refunded"] == "$0.00"
    # The refusal is in the local history too.
    texts = [
        detail.history_model.index(r, 2).data() for r in range(detail.history_model.rowCount())
    ]
    assert "Refund sent — refused" in texts


def test_a_refused_approval_sends_nothing(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    asked: list[tuple[str, str, Money | None]] = []

    async def deny(action: str, reference: str, amount: Money | None) -> GateAnswer:
        asked.append((action, reference, amount))
        return GateAnswer(False)

    screen.set_approval(deny)
    seed(journal, gateway, "S-1", 5000, captured=True)
    detail = open_detail(screen, "S-1")
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.amount.setText("5")
    dialog.reason.setCurrentText("Customer request")
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == "Not approved: nothing was sent to the provider."
    assert asked == [("refund", "S-1", usd(500))]
    assert journal.intents_for("S-1") == []


def test_a_rule_refusal_from_the_service_is_shown(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    detail = open_detail(screen, "S-1")
    detail.start_refund()
    dialog = detail.dialog
    assert isinstance(dialog, RefundDialog)
    dialog.reason.setCurrentText("Customer request")
    # Another till refunded part of it while the dialog was open.
    journal.update_payment(
        "S-1", now=T0, refunded_minor=1000, state=PaymentState.PARTIALLY_REFUNDED, note="Refund"
    )
    confirm(qtbot, detail)
    assert wait_outcome(qtbot, detail) == ("Not sent: At most 40.00 USD can be refunded.")
    assert gateway.calls == []
    assert amounts(detail)["Refundable"] == "$40.00"


def test_refresh_from_provider_shows_its_state_and_history(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    # Captured elsewhere (the provider's dashboard): only the provider knows.
    p = gateway.payments["pay_S-1"]
    gateway.payments["pay_S-1"] = replace(p, state=PaymentState.CAPTURED, captured=usd(5000))
    detail = open_detail(screen, "S-1")
    assert "Refresh from provider" in detail.history_hint.text()
    qtbot.mouseClick(detail.refresh_button, Qt.MouseButton.LeftButton)
    assert detail.busy.isVisible()  # the busy indicator shows while the provider is asked
    assert not detail.refresh_button.isEnabled()
    assert wait_outcome(qtbot, detail) == "FakePay reports this payment as paid."
    assert detail.state_badge.text() == "Paid"
    rows = [
        (detail.history_model.index(r, 1).data(), detail.history_model.index(r, 2).data())
        for r in range(detail.history_model.rowCount())
    ]
    assert ("FakePay", "Authorization approved (pay_S-1)") in rows
    assert ("FakePay", "Capture approved (act_cap)") in rows
    assert detail.refund_button.isVisible()


def test_refresh_failure_is_shown_and_the_payment_kept(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    gateway.lookup_error = InvalidRequestError("Payment not found", provider="fake")
    detail = open_detail(screen, "S-1")
    detail.refresh_from_provider()
    assert wait_outcome(qtbot, detail) == "fake refused the request: Payment not found"
    assert detail.state_badge.text() == "Paid"


def test_without_a_payment_service_only_the_journal_is_shown(
    qtbot: QtBot, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    screen = PaymentsScreen(*bridged(journal), locale="en_US")
    qtbot.addWidget(screen)
    screen.show()
    detail = open_detail(screen, "S-1")
    assert amounts(detail)["Captured"] == "$50.00"
    assert not detail.refresh_button.isVisible()
    assert not detail.refund_button.isVisible()
    assert detail.actions_hint.text() == "Payments are not connected yet: actions are unavailable."


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def justifi_detail(
    qtbot: QtBot, journal: JournalStore, service: HistoryService, clock: Clock, method: str
) -> PaymentDetail:
    seed(journal, service.gateway, "S-1", 5000, captured=False, provider="justifi", method=method)
    detail = PaymentDetail(PaymentQueries(journal), locale="en_US", clock=clock)
    detail.set_service(service, TaskRunner())
    qtbot.addWidget(detail)
    detail.show()
    detail.show_payment("S-1")
    return detail


def window_texts(detail: PaymentDetail) -> list[str]:
    return [w.text() for w in detail.window_labels if w.isVisibleTo(detail)]


def test_justifi_void_window_counts_down_then_hides_void(
    qtbot: QtBot, journal: JournalStore, service: HistoryService
) -> None:
    clock = Clock(T0 + timedelta(minutes=13))
    detail = justifi_detail(qtbot, journal, service, clock, "direct_charge")
    until = (T0 + timedelta(minutes=25)).astimezone().strftime("%Y-%m-%d %H:%M")
    assert window_texts(detail)[0] == f"Void available until {until} (12:00 left)"
    assert "Authorization expires in 6 d 23 h" in window_texts(detail)[1]
    assert detail.void_button.isVisible()
    clock.now = T0 + timedelta(minutes=25)
    qtbot.waitUntil(lambda: not detail.void_button.isVisible())  # the page's clock ticks
    assert window_texts(detail)[0] == (
        f"Void window closed at {until}: capture then refund instead."
    )
    assert detail.capture_button.isVisible()


def test_justifi_void_window_of_a_hosted_payment_is_known_after_refresh(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    journal: JournalStore,
    service: HistoryService,
) -> None:
    clock = Clock(T0 + timedelta(minutes=5))
    gateway = service.gateway

    async def get_checkout(checkout_ref: str) -> CheckoutSession:
        paid = gateway.payments["pay_S-1"]
        return CheckoutSession(
            checkout_ref, paid.state, "completed", paid.amount, "S-1", None, None, "pay_S-1"
        )

    gateway.get_checkout = get_checkout  # type: ignore[attr-defined]
    detail = justifi_detail(qtbot, journal, service, clock, "hosted_checkout")
    # The customer paid some time after the checkout opened: the till cannot know when.
    assert window_texts(detail)[0].startswith("JustiFi voids only within 25 minutes")
    detail.refresh_from_provider()
    qtbot.waitUntil(lambda: service.history_calls == 1 and not detail.busy.isVisible())
    assert window_texts(detail)[0].startswith("Void available until")
    assert "(20:00 left)" in window_texts(detail)[0]


def test_expired_authorization_is_flagged(
    qtbot: QtBot, journal: JournalStore, service: HistoryService
) -> None:
    clock = Clock(T0 + timedelta(days=8))
    seed(journal, service.gateway, "S-1", 5000, captured=False)
    detail = PaymentDetail(PaymentQueries(journal), locale="en_US", clock=clock)
    detail.set_service(service, TaskRunner())
    qtbot.addWidget(detail)
    detail.show_payment("S-1")
    assert window_texts(detail)[0].startswith("The authorization has probably expired")
    assert detail.window_labels[0].property("tone") == "bad"


def test_detail_controls_have_accessible_names_and_ctrl_f_returns_to_search(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=False)
    detail = open_detail(screen, "S-1")
    for widget in (
        detail.back_button,
        detail.refresh_button,
        detail.capture_button,
        detail.refund_button,
        detail.void_button,
        detail.state_badge,
        detail.history,
        detail.outcome,
        *detail.amounts.values.values(),
        *detail.facts.values.values(),
    ):
        assert widget.accessibleName(), widget
    screen.activateWindow()
    qtbot.waitUntil(screen.isActiveWindow)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(detail.back_button, Qt.Key.Key_V, ctrl_shift)
    qtbot.waitUntil(lambda: detail.dialog is not None)  # a button's shortcut animates a click
    dialog = detail.dialog
    assert isinstance(dialog, VoidDialog)
    dialog.reject()
    qtbot.waitUntil(lambda: detail.dialog is None)
    screen.activateWindow()
    qtbot.waitUntil(screen.isActiveWindow)
    qtbot.keyClick(detail.back_button, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert not screen.showing_detail
    assert screen.filters.search.hasFocus()


def test_an_in_doubt_payment_offers_only_a_refresh(
    qtbot: QtBot, screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    seed(journal, gateway, "S-1", 5000, captured=True)
    journal.update_payment(
        "S-1",
        now=T0,
        state=PaymentState.IN_DOUBT,
        attention="The refund may have reached the provider; it is being checked.",
        note="Outcome of refund unknown",
    )
    detail = open_detail(screen, "S-1")
    assert not any(
        b.isVisible() for b in (detail.capture_button, detail.refund_button, detail.void_button)
    )
    assert detail.actions_hint.text() == "This payment is in doubt: refresh from provider first."
    assert detail.refresh_button.isVisible()
    detail.refresh_from_provider()
    assert wait_outcome(qtbot, detail) == "FakePay reports this payment as paid."
    assert detail.refund_button.isVisible()


def test_text_typed_or_sent_as_html_is_shown_as_text_not_markup(
    screen: PaymentsScreen, journal: JournalStore, gateway: FakeGateway
) -> None:
    """A description ``<h1>APPROVED</h1>`` (or a provider message in HTML) would otherwise
    render as a big "APPROVED" on the payment's page."""
    seed(journal, gateway, "S-1", 5000, captured=True)
    journal.update_payment(
        "S-1", now=T0, attention="<h1>APPROVED</h1> <a href='x'>refund here</a>", note="x"
    )
    detail = open_detail(screen, "S-1")
    shown = [w for w in detail.findChildren(QLabel) if "<h1>" in w.text()]
    assert shown, "the attention note is shown"
    for widget in shown:
        assert widget.textFormat() is Qt.TextFormat.PlainText
        # Rendered as text, the tags take room: far wider than the bare word would be.
        assert widget.fontMetrics().horizontalAdvance(widget.text()) > 200
    tip = screen.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;h1&gt;APPROVED&lt;/h1&gt;" in tip
