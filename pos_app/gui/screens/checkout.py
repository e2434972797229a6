"""Checkout: the provider's page while the customer pays, then the verified result.

Nothing the page shows is believed: a return URL, a page load or the poll timer
only trigger a lookup, and the lookup's answer (recorded in the journal) decides.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_money
from pos_app.domain.payment import PaymentState
from pos_app.gui.messages import decline_message, error_message
from pos_app.gui.tasks import TaskRunner
from pos_app.gui.webview.policy import SUCCESS_RETURN_URL, NavigationPolicy
from pos_app.gui.widgets.common import announce, label
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.services.checkout import CheckoutService, CheckoutStartError, HostedCheckout
from pos_app.services.sale import Sale

if TYPE_CHECKING:
    from pos_app.gui.webview.view import CheckoutWebView

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 3000


def _clock_text(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24:02d}h"
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ResultPanel(QWidget):
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = label("", "ResultIcon")
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = label("", "ResultTitle")
        self.amount = label("", "ResultAmount")
        self.detail = label("", "ResultDetail")
        self.reference = label("", "Hint")
        self.button = QPushButton("New sale  ⏎")
        self.button.setObjectName("Primary")
        self.button.clicked.connect(self.done)
        for widget in (self.title, self.amount, self.detail, self.reference):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        for widget in (self.title, self.amount, self.detail, self.reference):
            layout.addWidget(widget)
        layout.addSpacing(18)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_result(
        self,
        tone: str,
        symbol: str,
        title: str,
        amount: str,
        detail: str,
        reference: str,
        button: str,
    ) -> None:
        self.icon.setText(symbol)
        self.icon.setProperty("tone", tone)
        self.icon.style().unpolish(self.icon)
        self.icon.style().polish(self.icon)
        self.title.setText(title)
        self.amount.setText(amount)
        self.detail.setText(detail)
        self.reference.setText(reference)
        self.button.setText(f"{button}  ⏎")
        self.button.setFocus()
        announce(self.title, f"{title}. {detail}")


class CheckoutScreen(QWidget):
    finished = Signal(bool)  # True when the sale is over (paid/declined), False to edit it again

    def __init__(self, *, locale: str, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._locale = locale
        self._tasks = tasks
        self._service: CheckoutService | None = None
        self._checkout: HostedCheckout | None = None
        self._verifying = False
        self._expires_at: datetime | None = None
        self._sale_over = False
        self._generation = 0  # callbacks from an abandoned checkout are ignored
        self._listening_to: JournalStore | None = None
        self.web_view: CheckoutWebView | None = None

        self.amount_label = label("", "CheckoutAmount")
        self.description_label = label("", "Hint")
        self.status_label = label("", "CheckoutStatus")
        self.elapsed_label = label("", "Timer")
        self.expiry_label = label("", "Timer")
        for timer_label in (self.elapsed_label, self.expiry_label):
            timer_label.setWordWrap(False)
            timer_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.cancel_button = QPushButton("Cancel  Esc")
        self.cancel_button.setObjectName("Danger")
        self.cancel_button.setAccessibleName("Cancel this payment")
        self.cancel_button.clicked.connect(self.cancel)

        bar = QFrame()
        bar.setObjectName("CheckoutBar")
        bar_layout = QHBoxLayout(bar)
        bar_layout.setContentsMargins(20, 12, 20, 12)
        texts = QVBoxLayout()
        texts.addWidget(self.amount_label)
        texts.addWidget(self.description_label)
        texts.addWidget(self.status_label)
        bar_layout.addLayout(texts, 1)
        timers = QVBoxLayout()
        timers.addWidget(self.elapsed_label)
        timers.addWidget(self.expiry_label)
        bar_layout.addLayout(timers)
        bar_layout.addSpacing(16)
        bar_layout.addWidget(self.cancel_button)

        self.waiting = QWidget()
        self._waiting_layout = QVBoxLayout(self.waiting)
        self._waiting_layout.setContentsMargins(0, 0, 0, 0)
        self._waiting_layout.addWidget(bar)
        self.page_host = QVBoxLayout()
        self._waiting_layout.addLayout(self.page_host, 1)

        self.result = ResultPanel()
        self.result.done.connect(self._leave)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.waiting)
        self.stack.addWidget(self.result)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self._elapsed = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timers)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_INTERVAL_MS)
        self._poll.timeout.connect(self.verify)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._escape)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(key), self.result, self.result.button.click)

    def shutdown(self) -> None:
        """Stop timers and drop the web view (the app is closing)."""
        self._generation += 1
        self._poll.stop()
        self._tick.stop()
        self._dispose_view()

    def set_service(self, service: CheckoutService) -> None:
        self._service = service
        if self._listening_to is not service.journal:
            self._listening_to = service.journal
            service.journal.add_listener(self._journal_changed)

    def _journal_changed(self, reference: str) -> None:
        """Something recorded news of the payment on screen — a webhook's lookup, say — so
        show it now instead of at the next poll (the journal only holds looked-up states)."""
        if self._checkout is None or reference != self._checkout.payment.reference:
            return
        generation = self._generation
        QTimer.singleShot(0, lambda: self._show_recorded(reference, generation))

    def _show_recorded(self, reference: str, generation: int) -> None:
        if generation != self._generation or self._sale_over or self._checkout is None:
            return
        assert self._listening_to is not None
        payment = self._listening_to.get(reference)
        if payment is None or payment.state is self._checkout.payment.state:
            return
        self._checkout = HostedCheckout(payment, self._checkout.session)
        self._show_state(payment)

    @property
    def payment(self) -> PaymentRecord | None:
        return self._checkout.payment if self._checkout else None

    # -- flow -------------------------------------------------------------------------

    def start_hosted(self, sale: Sale) -> None:
        assert self._service is not None, "checkout started before the provider was ready"
        self._reset(sale)
        self.status_label.setText(f"Opening {self._service.provider.display_name} checkout…")
        generation = self._generation
        self._tasks.start(
            self._service.start_hosted(sale, success_url=SUCCESS_RETURN_URL),
            lambda checkout: self._opened(checkout, generation),
            lambda error: self._open_failed(error, generation),
        )

    def verify(self) -> None:
        """Ask the provider what happened (never trust the page)."""
        if self._service is None or self._checkout is None or self._verifying or self._sale_over:
            return
        self._verifying = True
        self._tasks.start(
            self._service.verify(self._checkout.payment.reference),
            self._verified,
            self._verify_failed,
        )

    def cancel(self) -> None:
        if self._service is None or self._sale_over:
            return
        if self._checkout is None:
            self._leave()
            return
        self.cancel_button.setEnabled(False)
        self.status_label.setText("Cancelling — checking the payment first…")
        self._tasks.start(
            self._service.cancel(self._checkout.payment.reference),
            self._cancelled,
            self._verify_failed,
        )

    # -- callbacks --------------------------------------------------------------------

    def _opened(self, checkout: HostedCheckout, generation: int) -> None:
        from pos_app.gui.webview.view import CheckoutWebView  # QtWebEngine loads only now

        if generation != self._generation:
            # The cashier left while it was opening: close it at our end too.
            assert self._service is not None
            self._tasks.start(self._service.cancel(checkout.payment.reference))
            return
        self._checkout = checkout
        self._expires_at = checkout.session.expires_at
        self._update_timers()
        self.description_label.setText(
            f"{checkout.payment.description} · {checkout.payment.reference}"
        )
        self.status_label.setText("Waiting for the customer to pay on the secure page…")
        announce(self.status_label, "Waiting for the customer to pay")
        policy = NavigationPolicy.for_urls(checkout.url)
        self.web_view = CheckoutWebView(policy, self.waiting)
        self.web_view.setAccessibleName("Provider checkout page")
        self.web_view.checkout_page.intercepted.connect(lambda _url: self.verify())
        self.web_view.loadFinished.connect(lambda _ok: self.verify())
        self.page_host.addWidget(self.web_view)
        self.web_view.load(checkout.url)
        self.web_view.setFocus()
        self._poll.start()

    def _open_failed(self, error: BaseException, generation: int) -> None:
        if generation != self._generation:
            return
        log.warning("Could not open checkout: %s", error)
        cause = error.error if isinstance(error, CheckoutStartError) else error
        payment = error.payment if isinstance(error, CheckoutStartError) else None
        reference = f"Saved as {payment.reference}" if payment else ""
        self._finish(
            "warn",
            "!",
            "Payment not started",
            error_message(cause),
            reference,
            "Back to sale",
            over=False,
        )

    def _verified(self, payment: PaymentRecord) -> None:
        self._verifying = False
        if self._checkout is None:
            return
        self._checkout = HostedCheckout(payment, self._checkout.session)
        self._show_state(payment)

    def _verify_failed(self, error: BaseException) -> None:
        self._verifying = False
        self.cancel_button.setEnabled(True)
        log.warning("Lookup failed: %s", error)
        self.status_label.setText(
            f"Could not check the payment yet — {error_message(error)} Still trying."
        )

    def _cancelled(self, payment: PaymentRecord) -> None:
        if payment.state is PaymentState.FAILED:
            self._finish(
                "warn",
                "✕",
                "Payment cancelled",
                "Nothing was charged.",
                payment.reference,
                "New sale",
            )
        else:
            self._show_state(payment)

    def _show_state(self, payment: PaymentRecord) -> None:
        amount = format_money(payment.amount, self._locale)
        card = (
            f"{(payment.card_brand or 'Card').title()} •••• {payment.card_last4}"
            if payment.card_last4
            else ""
        )
        if payment.state is PaymentState.CAPTURED:
            detail = f"Paid by {card}." if card else "Paid."
            self._finish(
                "good", "✓", "Approved", detail, payment.reference, "New sale", amount=amount
            )
        elif payment.state is PaymentState.DECLINED:
            self._finish(
                "bad",
                "✕",
                "Declined",
                decline_message(payment.decline_code),
                f"{card}  {payment.reference}".strip(),
                "New sale",
                amount=amount,
            )
        elif payment.state is PaymentState.EXPIRED:
            self._finish(
                "warn",
                "!",
                "Checkout expired",
                "The customer did not pay in time.",
                payment.reference,
                "New sale",
                amount=amount,
            )
        elif payment.state is PaymentState.FAILED:
            self._finish(
                "warn",
                "!",
                "Payment not completed",
                "Nothing was charged.",
                payment.reference,
                "New sale",
                amount=amount,
            )
        elif payment.attention:
            self.status_label.setText(payment.attention)

    def _finish(
        self,
        tone: str,
        symbol: str,
        title: str,
        detail: str,
        reference: str,
        button: str,
        *,
        amount: str = "",
        over: bool = True,
    ) -> None:
        self._sale_over = over
        self._poll.stop()
        self._tick.stop()
        self._dispose_view()
        self.result.show_result(
            tone, symbol, title, amount or self.amount_label.text(), detail, reference, button
        )
        self.stack.setCurrentWidget(self.result)

    def _leave(self) -> None:
        self._generation += 1
        self._dispose_view()
        self._poll.stop()
        self._tick.stop()
        self.finished.emit(self._sale_over)

    def _escape(self) -> None:
        if self.stack.currentWidget() is self.result:
            self._leave()
        else:
            self.cancel()

    # -- helpers ----------------------------------------------------------------------

    def _reset(self, sale: Sale) -> None:
        self._generation += 1
        self._dispose_view()
        self._checkout = None
        self._sale_over = False
        self._verifying = False
        self._expires_at = None
        self.cancel_button.setEnabled(True)
        self.amount_label.setText(format_money(sale.amount, self._locale))
        self.description_label.setText(sale.description)
        self.stack.setCurrentWidget(self.waiting)
        self._elapsed.start()
        self._update_timers()
        self._tick.start()

    def _update_timers(self) -> None:
        self.elapsed_label.setText(f"Waiting {_clock_text(self._elapsed.elapsed() // 1000)}")
        if self._expires_at is not None:
            left = int((self._expires_at - datetime.now(UTC)).total_seconds())
            self.expiry_label.setText(f"Link expires in {_clock_text(left)}")
        else:
            self.expiry_label.setText("")

    def _dispose_view(self) -> None:
        if self.web_view is not None:
            self.page_host.removeWidget(self.web_view)
            self.web_view.dispose()
            self.web_view = None
