"""One payment in full: amounts, provider and ids, time windows, history, and its actions.

Everything shown is read from the journal; "Refresh from provider" and every action go
through the payments service, and the page is re-read from the journal when they finish.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import Money, format_money
from pos_app.domain.payment import FINAL_STATES, PaymentState
from pos_app.domain.vocabulary import Operation
from pos_app.gui.dialogs.approval import GateAnswer
from pos_app.gui.dialogs.capture import CaptureDialog
from pos_app.gui.dialogs.refund import RefundDialog
from pos_app.gui.dialogs.void import VoidDialog
from pos_app.gui.messages import (
    PROVIDER_NAMES,
    TRAINING,
    TRAINING_NOTE,
    card_text,
    error_message,
    method_name,
    state_label,
)
from pos_app.gui.models.balance_rows import balance_rows, balance_totals
from pos_app.gui.models.payment_history_model import (
    PaymentHistoryModel,
    local_rows,
    provider_rows,
)
from pos_app.gui.widgets.common import announce, label
from pos_app.gui.widgets.payment_windows import awaits_checkout, windows
from pos_app.providers.errors import ProviderError
from pos_app.providers.types import PaymentAction
from pos_app.services.approvals import Approval, ApprovalRefused
from pos_app.services.payments import (
    Available,
    OperationFailed,
    PaymentRefused,
    available_actions,
    void_deadline,
)
from pos_app.services.records import PaymentRecord, User, utc_now

if TYPE_CHECKING:
    from pos_app.gui.tasks import TaskRunner
    from pos_app.providers.base import PaymentProvider
    from pos_app.services.queries import PaymentQueries

log = logging.getLogger(__name__)

_PROGRESS = {
    Operation.CAPTURE: "Capturing",
    Operation.REFUND: "Refunding",
    Operation.VOID: "Voiding",
}

# (action, our reference, amount or None) → may it go ahead, with which approval, by whom?
# The approval gate plugs in here; PaymentService checks the answer itself.
Approve = Callable[[Operation, str, Money | None], Awaitable[GateAnswer]]
_TONES = {
    PaymentState.CAPTURED: "good",
    PaymentState.AUTHORIZED: "good",
    PaymentState.PARTIALLY_CAPTURED: "good",
    PaymentState.PARTIALLY_REFUNDED: "warn",
    PaymentState.IN_DOUBT: "warn",
    PaymentState.REQUIRES_ACTION: "warn",
    PaymentState.DECLINED: "bad",
    PaymentState.FAILED: "bad",
    PaymentState.EXPIRED: "bad",
}


# A refresh's findings: the payment, the provider's steps, its ledger, the checkout expiry.
_Refreshed = tuple[
    PaymentRecord,
    tuple[PaymentAction, ...] | None,
    tuple[PaymentAction, ...] | None,
    datetime | None,
]


class PaymentsBackend(Protocol):
    """What the page needs from PaymentService (tests may pass a fake)."""

    def provider_for(self, profile: str) -> PaymentProvider: ...

    async def refresh(self, reference: str) -> PaymentRecord: ...

    async def capture(
        self, reference: str, amount: Money | None = None, *, final: bool = True
    ) -> PaymentRecord: ...

    async def refund(
        self,
        reference: str,
        amount: Money,
        reason: str,
        *,
        by: User | None = None,
        approval: Approval | None = None,
    ) -> PaymentRecord: ...

    async def void(
        self,
        reference: str,
        reason: str = "",
        *,
        by: User | None = None,
        approval: Approval | None = None,
    ) -> PaymentRecord: ...


@runtime_checkable
class ProviderHistory(Protocol):
    """The provider's own action history of a payment (a lookup; changes nothing)."""

    async def provider_history(self, reference: str) -> tuple[PaymentAction, ...]: ...


@runtime_checkable
class ProviderBalance(Protocol):
    """The provider's ledger of a payment: fees, refunds, what the merchant keeps."""

    async def provider_balance(self, reference: str) -> tuple[PaymentAction, ...]: ...


@runtime_checkable
class CheckoutExpiry(Protocol):
    """When an open checkout or payment link expires, as the provider says (a lookup)."""

    async def checkout_expiry(self, reference: str) -> datetime | None: ...


class NotApproved(Exception):
    pass


def _set_tone(widget: QWidget, tone: str) -> None:
    if widget.property("tone") == tone:
        return
    widget.setProperty("tone", tone)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _card(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("Card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(20, 16, 20, 16)
    layout.setSpacing(8)
    layout.addWidget(label(title, "SectionTitle"))
    return frame, layout


class FactGrid(QGridLayout):
    """Label/value rows; a value's accessible name is its label, so screen readers pair them."""

    def __init__(self) -> None:
        super().__init__()
        self.setHorizontalSpacing(18)
        self.setVerticalSpacing(6)
        self.setColumnStretch(1, 1)
        self.values: dict[str, QLabel] = {}
        self._captions: dict[str, QLabel] = {}

    def add(self, name: str, *, value_style: str = "FactValue") -> QLabel:
        row = len(self.values)
        caption = label(name, "FieldLabel")
        caption.setWordWrap(False)
        value = label("", value_style)
        value.setAccessibleName(name)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
        self.addWidget(value, row, 1)
        self.values[name] = value
        self._captions[name] = caption
        return value

    def set(self, name: str, text: str) -> None:
        self.values[name].setText(text)
        self.values[name].setVisible(bool(text))
        self._captions[name].setVisible(bool(text))


class PaymentDetail(QWidget):
    back_requested = Signal()

    def __init__(
        self,
        queries: PaymentQueries,
        *,
        locale: str,
        clock: Callable[[], datetime] = utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._queries = queries
        self._locale = locale
        self._clock = clock
        self._service: PaymentsBackend | None = None
        self._tasks: TaskRunner | None = None
        self._approve: Approve | None = None
        self._payment: PaymentRecord | None = None
        self._provider_actions: tuple[PaymentAction, ...] | None = None
        self._balance: tuple[PaymentAction, ...] | None = None
        self._link_expires_at: datetime | None = None
        self._available = Available()
        self._busy = False
        self.dialog: QDialog | None = None  # the open action dialog, if any

        self.back_button = QPushButton("← Payments  Esc")
        self.back_button.setAccessibleName("Back to the payments list")
        self.title = label("", "ScreenTitle")
        self.title.setWordWrap(False)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_badge = label("", "StateBadge")
        self.state_badge.setWordWrap(False)
        self.state_badge.setAccessibleName("Payment status")
        self.training_badge = label(TRAINING, "TrainingBadge")
        self.training_badge.setWordWrap(False)
        self.training_badge.setAccessibleName("Training sale")
        self.training_badge.setVisible(False)
        self.subtitle = label("", "Hint")
        self.attention = label("", "Attention")
        self.attention.setAccessibleName("Needs attention")
        self.refresh_button = self._button(
            "Refresh from provider  Ctrl+R", "Refresh from provider", "Ctrl+R"
        )
        self.capture_button = self._button("Capture…  Ctrl+Shift+C", "Capture", "Ctrl+Shift+C")
        self.refund_button = self._button("Refund…  Ctrl+Shift+R", "Refund", "Ctrl+Shift+R")
        self.void_button = self._button("Void…  Ctrl+Shift+V", "Void", "Ctrl+Shift+V")
        self.void_button.setObjectName("Danger")
        self.actions_hint = label("", "Hint")
        self.busy = QProgressBar()
        self.busy.setObjectName("Busy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Working")
        self.busy.setVisible(False)
        self.outcome = label("", "Outcome")
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setVisible(False)

        amounts_card, amounts_layout = _card("Amounts")
        self.amounts = FactGrid()
        for name in ("Sale", "Authorized", "Captured", "Refunded"):
            self.amounts.add(name, value_style="AmountValue")
        self.amounts.add("Still capturable", value_style="AmountStrong")
        self.amounts.add("Refundable", value_style="AmountStrong")
        # From the provider's ledger, once fetched.
        self.amounts.add("Fees", value_style="AmountValue")
        self.amounts.add("Kept after fees", value_style="AmountValue")
        amounts_layout.addLayout(self.amounts)
        amounts_layout.addStretch(1)

        facts_card, facts_layout = _card("Payment")
        self.facts = FactGrid()
        for name in (
            "Description",
            "Provider",
            "Method",
            "Card",
            "Checkout id",
            "Payment id",
            "Created",
            "Last change",
            "Decline",
        ):
            self.facts.add(name)
        facts_layout.addLayout(self.facts)
        self.windows_box = QVBoxLayout()
        self.windows_box.setSpacing(4)
        facts_layout.addLayout(self.windows_box)
        facts_layout.addStretch(1)
        self.window_labels: list[QLabel] = []

        history_card, history_layout = _card("History")
        self.history_hint = label("", "Hint")
        self.history_model = PaymentHistoryModel(locale=locale)
        self.history = QTableView()
        self.history.setModel(self.history_model)
        self.history.setAccessibleName("Payment history")
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().setVisible(False)
        self.history.setShowGrid(False)
        self.history.setWordWrap(False)
        header = self.history.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        history_layout.addWidget(self.history_hint)
        history_layout.addWidget(self.history, 1)

        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.back_button)
        top.addSpacing(6)
        top.addWidget(self.title)
        top.addWidget(self.state_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.training_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        actions = QHBoxLayout()
        actions.setSpacing(10)
        for button in (self.capture_button, self.refund_button, self.void_button):
            actions.addWidget(button)
        actions.addWidget(self.actions_hint, 1)
        cards = QHBoxLayout()
        cards.setSpacing(16)
        cards.addWidget(amounts_card, 4)
        cards.addWidget(facts_card, 7)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.attention)
        layout.addLayout(actions)
        layout.addWidget(self.busy)
        layout.addWidget(self.outcome)
        layout.addLayout(cards)
        layout.addWidget(history_card, 1)

        self.back_button.clicked.connect(self.back_requested)
        self.refresh_button.clicked.connect(self.refresh_from_provider)
        self.capture_button.clicked.connect(self.start_capture)
        self.refund_button.clicked.connect(self.start_refund)
        self.void_button.clicked.connect(self.start_void)
        # Countdowns tick while the page is shown.
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)

    def _button(self, text: str, accessible: str, key: str) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        button.setShortcut(QKeySequence(key))
        button.setToolTip(f"{accessible} ({key})")
        return button

    # -- public -------------------------------------------------------------------

    def set_service(
        self, service: PaymentsBackend, tasks: TaskRunner, approve: Approve | None = None
    ) -> None:
        self._service = service
        self._tasks = tasks
        self._approve = approve
        self._show()

    def set_approval(self, approve: Approve | None) -> None:
        """Each capture, refund and void awaits ``approve`` first (the approvals service decides
        which need a manager's PIN); None: no approval step."""
        self._approve = approve

    @property
    def payment(self) -> PaymentRecord | None:
        return self._payment

    @property
    def available(self) -> Available:
        return self._available

    def show_payment(self, reference: str) -> None:
        opened = self._payment is None or self._payment.reference != reference
        if opened:
            self._provider_actions = None
            self._balance = None
            self._link_expires_at = None
            self._say("", "")
        self._payment = self._queries.get(reference)
        self._show()
        if opened:
            self._ask_link_expiry()

    def reload(self) -> None:
        """Re-read the payment (and its local history) from the journal."""
        if self._payment is not None:
            self.show_payment(self._payment.reference)

    def shutdown(self) -> None:
        self._ticker.stop()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._ticker.start()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self._ticker.stop()

    # -- actions ------------------------------------------------------------------

    def refresh_from_provider(self) -> None:
        payment, service = self._payment, self._service
        if payment is None or service is None or self._busy:
            return
        history = service if isinstance(service, ProviderHistory) else None
        ledger = service if isinstance(service, ProviderBalance) else None
        expiry = service if isinstance(service, CheckoutExpiry) else None
        reference = payment.reference

        async def work() -> _Refreshed:
            updated = await service.refresh(reference)
            actions = await history.provider_history(reference) if history else None
            balance = await ledger.provider_balance(reference) if ledger else None
            expires = None
            if expiry is not None and awaits_checkout(updated):
                expires = await expiry.checkout_expiry(reference)
            return updated, actions, balance, expires

        def done(result: _Refreshed) -> None:
            updated, actions, balance, expires = result
            self._provider_actions = actions
            self._balance = balance
            self._link_expires_at = expires
            self.show_payment(reference)
            self._say(
                f"{self._provider_name()} reports this payment as "
                f"{state_label(updated.state).lower()}.",
                "good",
            )

        self._run(work(), f"Asking {self._provider_name()}…", done)

    def start_capture(self) -> None:
        payment = self._payment
        if payment is None or not self._available.capture or self._busy:
            return
        dialog = CaptureDialog(
            capturable=payment.ledger.capturable,
            partial=self._available.partial_capture,
            may_continue=self._available.may_continue,
            provider_name=self._provider_name(),
            locale=self._locale,
            parent=self,
        )
        before = payment.ledger.capturable

        def confirmed() -> None:
            amount, final = dialog.capture_amount, dialog.is_final
            asked = amount or before
            self._act(
                Operation.CAPTURE,
                asked,
                lambda service, _ok: service.capture(payment.reference, amount, final=final),
                lambda after: f"Captured {self._money(asked)}. {self._confirms(after)}",
            )

        self._open(dialog, confirmed)

    def start_refund(self) -> None:
        payment = self._payment
        if payment is None or not self._available.refund or self._busy:
            return
        dialog = RefundDialog(
            refundable=payment.ledger.refundable,
            partial=self._available.partial_refund,
            provider=payment.provider,
            provider_name=self._provider_name(),
            locale=self._locale,
            parent=self,
        )

        def confirmed() -> None:
            amount, reason = dialog.refund_amount, dialog.refund_reason
            self._act(
                Operation.REFUND,
                amount,
                lambda service, ok: service.refund(
                    payment.reference, amount, reason, by=ok.by, approval=ok.approval
                ),
                lambda after: f"Refunded {self._money(amount)}. {self._confirms(after)}",
            )

        self._open(dialog, confirmed)

    def start_void(self) -> None:
        payment = self._payment
        if payment is None or not self._available.void or self._busy:
            return
        _, deadline = void_deadline(payment, self._authorized_at())
        name = self._provider_name()
        until = f"{name} accepts a void until {deadline.astimezone():%H:%M}." if deadline else ""
        dialog = VoidDialog(
            amount=payment.ledger.capturable,
            provider_name=name,
            locale=self._locale,
            deadline=until,
            parent=self,
        )

        def confirmed() -> None:
            reason = dialog.void_reason
            self._act(
                Operation.VOID,
                None,
                lambda service, ok: service.void(
                    payment.reference, reason, by=ok.by, approval=ok.approval
                ),
                lambda after: f"Voided. {self._confirms(after)}",
            )

        self._open(dialog, confirmed)

    # -- running work ---------------------------------------------------------------

    def _open(self, dialog: QDialog, confirmed: Callable[[], None]) -> None:
        self.dialog = dialog

        def closed(result: int) -> None:
            self.dialog = None
            if result == QDialog.DialogCode.Accepted:
                confirmed()
            dialog.deleteLater()

        dialog.finished.connect(closed)
        dialog.open()

    def _act(
        self,
        action: Operation,
        amount: Money | None,
        call: Callable[[PaymentsBackend, GateAnswer], Awaitable[PaymentRecord]],
        success: Callable[[PaymentRecord], str],
    ) -> None:
        payment, service, approve = self._payment, self._service, self._approve
        if payment is None or service is None:
            return

        async def work() -> PaymentRecord:
            answer = GateAnswer(True)
            if approve is not None:
                answer = await approve(action, payment.reference, amount)
            if not answer.go:
                raise NotApproved
            return await call(service, answer)

        def done(after: PaymentRecord) -> None:
            self._provider_actions = None  # the provider's history moved on
            self._balance = None
            self.show_payment(payment.reference)
            self._say(success(after), "good")

        verb = _PROGRESS[action]
        self._run(work(), f"{verb} at {self._provider_name()}…", done)

    def _run(
        self,
        work: Coroutine[Any, Any, Any],
        progress: str,
        done: Callable[[Any], None],
    ) -> None:
        if self._tasks is None:
            work.close()
            return
        self._set_busy(True)
        self._say(progress, "")

        def finished(result: Any) -> None:
            self._set_busy(False)
            done(result)

        def failed(error: BaseException) -> None:
            self._set_busy(False)
            self.reload()
            self._say(self._failure_text(error), "bad")

        self._tasks.start(work, finished, failed)

    def _failure_text(self, error: BaseException) -> str:
        if isinstance(error, NotApproved):
            return "Not approved: nothing was sent to the provider."
        if isinstance(error, ApprovalRefused):
            return f"Not approved: {error.message} Nothing was sent to the provider."
        if isinstance(error, PaymentRefused):
            return f"Not sent: {error}"
        if isinstance(error, OperationFailed):
            text = error_message(error.error)
            after = error.payment.state
            if error.error.maybe_applied and after is not PaymentState.IN_DOUBT:
                # The service has already looked the payment up: say what it found.
                text += f" Checked since: the payment is {state_label(after).lower()}."
            return text
        if isinstance(error, ProviderError):  # a lookup that failed
            return error_message(error)
        log.error("Payment action failed", exc_info=error)
        return error_message(error)

    def _ask_link_expiry(self) -> None:
        """An open checkout or link: ask the provider when it expires (in the background)."""
        payment, service, tasks = self._payment, self._service, self._tasks
        if (
            payment is None
            or tasks is None
            or not isinstance(service, CheckoutExpiry)
            or not awaits_checkout(payment)
        ):
            return
        reference = payment.reference

        def done(expires: datetime | None) -> None:
            if self._payment is None or self._payment.reference != reference:
                return  # the page moved on
            self._link_expires_at = expires
            self.show_payment(reference)  # the lookup may also have changed its state

        def failed(error: BaseException) -> None:
            # Not worth a red line: the page still works, and Refresh asks again.
            log.info("Could not read the checkout expiry of %s: %s", reference, error)

        tasks.start(service.checkout_expiry(reference), done, failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy.setVisible(busy)
        self._update_buttons()

    def _say(self, text: str, tone: str) -> None:
        self.outcome.setText(text)
        self.outcome.setVisible(bool(text))
        _set_tone(self.outcome, tone)
        if text:
            announce(self.outcome, text)

    # -- showing ------------------------------------------------------------------

    def _show(self) -> None:
        payment = self._payment
        if payment is None:
            return
        self.title.setText(payment.reference)
        self.state_badge.setText(state_label(payment.state))
        _set_tone(self.state_badge, _TONES.get(payment.state, ""))
        provider = self._provider_name()
        self.training_badge.setVisible(payment.training)
        training = f" · {TRAINING_NOTE}" if payment.training else ""
        self.subtitle.setText(
            f"{format_money(payment.amount, self._locale)} · {provider} · "
            f"{_when(payment.created_at)}{training}"
        )
        self.attention.setText(f"⚠ {payment.attention}" if payment.attention else "")
        self.attention.setVisible(bool(payment.attention))
        ledger = payment.ledger
        for name, minor in (
            ("Sale", payment.amount.minor),
            ("Authorized", payment.authorized_minor),
            ("Captured", payment.captured_minor),
            ("Refunded", payment.refunded_minor),
        ):
            self.amounts.set(name, self._money(Money(minor, payment.amount.currency)))
        capturable = ledger.capturable
        self.amounts.set("Still capturable", self._money(capturable) if capturable.minor else "")
        self.amounts.set("Refundable", self._money(ledger.refundable))
        totals = balance_totals(self._balance or (), payment.amount.currency)
        self.amounts.set("Fees", self._money(totals.fees) if totals else "")
        self.amounts.set("Kept after fees", self._money(totals.net) if totals else "")
        self.facts.set("Description", payment.description)
        self.facts.set("Provider", f"{provider} (profile “{payment.profile}”)")
        self.facts.set("Method", method_name(payment.method))
        card = card_text(payment.card_brand, payment.card_last4)
        self.facts.set("Card", card)
        self.facts.set("Checkout id", payment.provider_ref or "")
        self.facts.set("Payment id", payment.provider_payment_ref or "")
        self.facts.set("Created", _when(payment.created_at))
        self.facts.set("Last change", _when(payment.updated_at))
        decline = payment.decline_message or payment.decline_code or ""
        self.facts.set("Decline", decline)
        self._show_history(payment)
        self._tick()

    def _show_history(self, payment: PaymentRecord) -> None:
        rows = local_rows(
            self._queries.events(payment.reference), self._queries.intents_for(payment.reference)
        )
        if self._provider_actions is not None:
            rows += provider_rows(self._provider_name(), self._provider_actions)
            rows += balance_rows(self._provider_name(), self._balance or ())
            ledger = " and ledger (money in and out, fees)" if self._balance else ""
            self.history_hint.setText(
                f"This till's journal, and {self._provider_name()}'s steps{ledger}."
            )
        elif self._service is not None and isinstance(self._service, ProviderHistory):
            self.history_hint.setText(
                "This till's journal. Refresh from provider to add the provider's own steps."
            )
        else:
            self.history_hint.setText("This till's journal.")
        self.history_model.set_rows(rows)

    def _tick(self) -> None:
        """Time passes: windows count down, and a closed window hides its action."""
        payment = self._payment
        if payment is None:
            return
        now = self._clock()
        shown = windows(payment, now, self._authorized_at(), self._link_expires_at)
        while len(self.window_labels) < len(shown):
            window_label = label("", "Window")
            window_label.setAccessibleName("Time window")
            self.windows_box.addWidget(window_label)
            self.window_labels.append(window_label)
        for n, window_label in enumerate(self.window_labels):
            window = shown[n] if n < len(shown) else None
            window_label.setText(window.text if window else "")
            window_label.setVisible(window is not None)
            _set_tone(window_label, window.tone if window else "")
        self._available = self._compute_available(payment, now)
        self._update_buttons()

    def _compute_available(self, payment: PaymentRecord, now: datetime) -> Available:
        if self._service is None:
            return Available(why_not=["Payments are not connected yet: actions are unavailable."])
        try:
            provider = self._service.provider_for(payment.profile)
        except PaymentRefused as error:
            return Available(why_not=[f"{error} Actions are unavailable on this till."])
        _, deadline = void_deadline(payment, self._authorized_at())
        return available_actions(
            payment,
            provider.capabilities,
            provider_name=provider.display_name,
            now=now,
            void_deadline=deadline,
        )

    def _update_buttons(self) -> None:
        available = self._available
        for button, shown in (
            (self.capture_button, available.capture),
            (self.refund_button, available.refund),
            (self.void_button, available.void),
        ):
            button.setVisible(shown)
            button.setEnabled(not self._busy)
        self.refresh_button.setVisible(self._service is not None)
        self.refresh_button.setEnabled(not self._busy)
        payment = self._payment
        hint = " ".join(available.why_not)
        nothing = not (available.capture or available.refund or available.void)
        if not hint and nothing and payment is not None and payment.state in FINAL_STATES:
            hint = f"This payment is {state_label(payment.state).lower()}: nothing more to do."
        self.actions_hint.setText(hint)

    # -- small helpers --------------------------------------------------------------

    def _authorized_at(self) -> datetime | None:
        """When the provider authorized the payment, from its history (once fetched)."""
        for action in self._provider_actions or ():
            if action.kind == "authorization" and action.approved and action.at is not None:
                return action.at
        return None

    def _provider_name(self) -> str:
        payment = self._payment
        if payment is None:
            return "the provider"
        if self._service is not None:
            try:
                return self._service.provider_for(payment.profile).display_name
            except PaymentRefused:
                pass
        return PROVIDER_NAMES.get(payment.provider, payment.provider)

    def _money(self, amount: Money) -> str:
        return format_money(amount, self._locale)

    def _confirms(self, after: PaymentRecord) -> str:
        refundable = after.ledger.refundable
        tail = ""
        if refundable.minor > 0:
            tail = f" {self._money(refundable)} can still be refunded."
        return (
            f"{self._provider_name()} confirms the payment is now "
            f"{state_label(after.state).lower()}.{tail}"
        )


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
