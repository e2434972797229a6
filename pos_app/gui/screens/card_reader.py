"""Card reader: the reader's status, the amount the customer sees, then the verified result.

Real providers do not offer card-present payments yet, so their reader list stays empty and
the screen says so. A sandbox profile's simulated reader lets the cashier practise: the
"Customer at the reader" buttons are what the customer does, and a read card is charged
through the payments service like any other sale (journaled as a card-reader payment).
"""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app.domain.money import format_money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.messages import card_text, decline_message, error_message
from pos_app.gui.screens.checkout import ResultPanel
from pos_app.gui.tasks import SaleTasks, TaskRunner
from pos_app.gui.widgets.common import announce, label
from pos_app.services.payments import OperationFailed
from pos_app.services.reader import (
    READ_TIMEOUT_S,
    Gesture,
    ReaderError,
    ReaderState,
    ReaderStatus,
    SimulatedReader,
    UnavailableReader,
)

if TYPE_CHECKING:
    from pos_app.gui.screens.customer_display import CustomerDisplay
    from pos_app.services.payments import PaymentService
    from pos_app.services.records import PaymentRecord
    from pos_app.services.sale import Sale

log = logging.getLogger(__name__)

Reader = SimulatedReader | UnavailableReader
NOTHING_CHARGED = "Nothing was charged."

# The customer's gestures, as the practice panel offers them (button text, key, spoken name).
GESTURES: tuple[tuple[Gesture, str, str, str], ...] = (
    (Gesture.TAP, "Tap  1", "1", "Customer taps the card"),
    (Gesture.INSERT, "Insert  2", "2", "Customer inserts the card"),
    (Gesture.SWIPE, "Swipe  3", "3", "Customer swipes the card"),
    (Gesture.DECLINING_CARD, "Declining card  4", "4", "Customer presents a card that declines"),
    (Gesture.REMOVE_EARLY, "Remove card early  5", "5", "Customer removes the card too soon"),
)

_TONES = {
    ReaderState.DISCONNECTED: "",
    ReaderState.CONNECTING: "",
    ReaderState.READY: "",
    ReaderState.WAITING_FOR_CARD: "busy",
    ReaderState.PROCESSING: "busy",
    ReaderState.DONE: "good",
    ReaderState.ERROR: "warn",
}


class _Phase(StrEnum):
    IDLE = "idle"  # nothing started, or left
    READING = "reading"  # waiting for the card, or charging it
    STOPPED = "stopped"  # the read ended without a card: try again or go back
    UNAVAILABLE = "unavailable"  # the provider has no card-present payments
    RESULT = "result"  # the verified outcome is on screen


def _clock(seconds: float) -> str:
    whole = max(math.ceil(seconds), 0)
    return f"{whole // 60}:{whole % 60:02d}"


def not_available_sentence(provider_name: str) -> str:
    return f"Card reader payments are not yet available for {provider_name}."


class CardReaderScreen(QWidget):
    finished = Signal(bool)  # True when the sale is over (paid/declined), False to edit it
    sale_ended = Signal()  # the sale has its outcome: the cashier's fields are spent

    def __init__(
        self,
        *,
        locale: str,
        tasks: TaskRunner,
        read_timeout_s: float = READ_TIMEOUT_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._locale = locale
        self._tasks = tasks
        self.read_timeout_s = read_timeout_s
        self._reader: Reader | None = None
        self._display: CustomerDisplay | None = None
        self._payments: PaymentService | None = None
        self._profile = ""
        self._sale: Sale | None = None
        self._phase = _Phase.IDLE
        self._sale_over = False
        self._sale_tasks = SaleTasks(tasks)  # an abandoned read's callbacks never run

        # What the customer sees: the amount, large, on a dark "reader screen".
        customer = QFrame()
        customer.setObjectName("CustomerScreen")
        customer.setAccessibleName("What the customer sees")
        self.customer_caption = label("The customer sees", "CustomerCaption")
        self.amount_label = label("", "ReaderAmount")
        self.amount_label.setAccessibleName("Amount the customer sees")
        self.description_label = label("", "CustomerDescription")
        customer_layout = QVBoxLayout(customer)
        customer_layout.setContentsMargins(24, 20, 24, 24)
        for widget in (self.customer_caption, self.amount_label, self.description_label):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            customer_layout.addWidget(widget)

        self.status_label = label("", "ReaderStatus")
        self.status_label.setAccessibleName("Card reader status")
        self.countdown_label = label("", "Timer")
        self.countdown_label.setAccessibleName("Time left for the card")

        self.cancel_button = QPushButton("Cancel  Esc")
        self.cancel_button.setObjectName("Danger")
        self.cancel_button.setAccessibleName("Cancel the card read")
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton("Try again  ⏎")
        self.retry_button.setObjectName("Primary")
        self.retry_button.setAccessibleName("Try the card reader again")
        self.retry_button.clicked.connect(self.try_again)
        self.back_button = QPushButton("Back to sale")
        self.back_button.setAccessibleName("Back to the sale: choose another way to pay")
        self.back_button.clicked.connect(self.back_to_sale)
        actions = QHBoxLayout()
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)
        actions.addWidget(self.back_button)
        actions.addWidget(self.retry_button)

        left = QVBoxLayout()
        left.setSpacing(12)
        left.addWidget(customer)
        left.addWidget(self.status_label)
        left.addWidget(self.countdown_label)
        left.addSpacing(8)
        left.addLayout(actions)
        left.addStretch(1)

        readers = QFrame()
        readers.setObjectName("Card")
        readers_layout = QVBoxLayout(readers)
        readers_layout.setContentsMargins(20, 16, 20, 16)
        readers_layout.addWidget(label("Card readers", "SectionTitle"))
        self.reader_list = QListWidget()
        self.reader_list.setObjectName("ReaderList")
        self.reader_list.setAccessibleName("Card readers")
        self.reader_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reader_list.setMaximumHeight(72)
        self.notice_label = label("", "ReaderNotice")
        readers_layout.addWidget(self.reader_list)
        readers_layout.addWidget(self.notice_label)

        self.practice = QFrame()
        self.practice.setObjectName("PracticePanel")
        self.practice.setAccessibleName("Customer at the reader (practice)")
        practice_layout = QVBoxLayout(self.practice)
        practice_layout.setContentsMargins(20, 16, 20, 16)
        practice_layout.addWidget(label("Customer at the reader", "SectionTitle"))
        practice_layout.addWidget(
            label(
                "Sandbox practice: act as the customer. Or wait: the read times out by itself.",
                "Hint",
            )
        )
        grid = QGridLayout()
        grid.setSpacing(8)
        self.gesture_buttons: dict[Gesture, QPushButton] = {}
        for index, (gesture, text, key, spoken) in enumerate(GESTURES):
            button = QPushButton(text)
            button.setAccessibleName(spoken)
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, g=gesture: self.customer_does(g))
            QShortcut(QKeySequence(key), self, lambda g=gesture: self.customer_does(g))
            grid.addWidget(button, index // 2, index % 2)
            self.gesture_buttons[gesture] = button
        practice_layout.addLayout(grid)

        right = QVBoxLayout()
        right.setSpacing(12)
        right.addWidget(readers)
        right.addWidget(self.practice)
        right.addStretch(1)

        self.reading = QWidget()
        columns = QHBoxLayout(self.reading)
        columns.setContentsMargins(32, 24, 32, 24)
        columns.setSpacing(24)
        title_column = QVBoxLayout()
        title_column.addWidget(label("Card reader", "ScreenTitle"))
        title_column.addSpacing(8)
        title_column.addLayout(left, 1)
        columns.addLayout(title_column, 3)
        columns.addLayout(right, 2)

        self.result = ResultPanel()
        self.result.done.connect(self._leave)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.reading)
        self.stack.addWidget(self.result)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self._elapsed = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._update_countdown)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._escape)
        for enter in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(enter), self, self._enter)

    # -- wiring -----------------------------------------------------------------------

    def set_reader(self, reader: Reader) -> None:
        if reader is self._reader:
            return
        self._reader = reader
        reader.on_status(lambda status: self._reader_status(reader, status))

    def set_customer_display(self, display: CustomerDisplay | None) -> None:
        """The window facing the customer: it shows the amount and what to do at the reader."""
        self._display = display

    def set_payments(self, payments: PaymentService, profile: str) -> None:
        self._payments = payments
        self._profile = profile

    @property
    def reader(self) -> Reader | None:
        return self._reader

    @property
    def busy(self) -> bool:
        """A read or charge is under way, or its outcome is still on screen."""
        return self._phase in (_Phase.READING, _Phase.RESULT)

    def shutdown(self) -> None:
        self._sale_tasks.end()
        self._tick.stop()
        if self._reader is not None:
            self._reader.cancel()

    # -- flow -------------------------------------------------------------------------

    def start(self, sale: Sale) -> None:
        reader = self._reader
        assert reader is not None, "card reader screen started without a reader"
        self._sale = sale
        self._sale_over = False
        self.amount_label.setText(format_money(sale.amount, self._locale))
        self.description_label.setText(sale.description)
        self.stack.setCurrentWidget(self.reading)
        self.reader_list.clear()
        self.reader_list.addItems(reader.readers())
        self.practice.setVisible(isinstance(reader, SimulatedReader))
        if isinstance(reader, UnavailableReader):
            sentence = not_available_sentence(reader.provider_name)
            self.notice_label.setText(sentence)
            self._phase = _Phase.UNAVAILABLE
            self._show_status(
                f"{sentence} {NOTHING_CHARGED} Go back and choose another way to pay.",
                "warn",
            )
            self._show_actions(cancel=False, retry=False, back=True)
            self.back_button.setFocus()
            return
        self.notice_label.setText("Sandbox reader: practise with the sandbox's test cards.")
        self._read()

    def try_again(self) -> None:
        if self._phase is _Phase.STOPPED and self._sale is not None:
            self._read()

    def back_to_sale(self) -> None:
        if self._phase in (_Phase.STOPPED, _Phase.UNAVAILABLE):
            self._leave()

    def cancel(self) -> None:
        """Esc: give up waiting for the card; once the card is being charged, wait."""
        reader = self._reader
        if self._phase is not _Phase.READING or reader is None:
            self.back_to_sale()
            return
        if reader.status.state is ReaderState.PROCESSING:
            self._show_status(
                "The card is being charged: wait for the answer before doing anything else.",
                "busy",
            )
            return
        reader.cancel()

    def customer_does(self, gesture: Gesture) -> None:
        """A practice button: the simulated customer acts at the reader."""
        reader = self._reader
        if (
            self._phase is _Phase.READING
            and isinstance(reader, SimulatedReader)
            and reader.status.state is ReaderState.WAITING_FOR_CARD
        ):
            reader.gesture(gesture)

    # -- the read and its outcome -----------------------------------------------------

    def _read(self) -> None:
        reader, payments, sale = self._reader, self._payments, self._sale
        assert reader is not None
        assert payments is not None
        assert sale is not None
        self._sale_tasks.end()
        self._phase = _Phase.READING
        self._show_actions(cancel=True, retry=False, back=False)
        self.cancel_button.setFocus()
        self._sale_tasks.start(
            payments.take(
                self._profile,
                sale,
                PaymentMethod.CARD_READER,
                reader=reader,
                read_timeout_s=self.read_timeout_s,
            ),
            lambda started: self._paid(started.payment),
            self._failed,
        )

    def _reader_status(self, reader: Reader, status: ReaderStatus) -> None:
        if reader is not self._reader or self._phase is not _Phase.READING:
            return
        waiting = status.state is ReaderState.WAITING_FOR_CARD
        for button in self.gesture_buttons.values():
            button.setEnabled(waiting)
        if waiting:
            self._elapsed.start()
            self._update_countdown()
            self._tick.start()
        else:
            self._tick.stop()
            self.countdown_label.clear()
        if status.state is ReaderState.PROCESSING:
            self.cancel_button.setEnabled(False)
        if status.state is not ReaderState.ERROR:  # errors are told by _failed, with advice
            self._show_status(status.message, _TONES[status.state])
        self._tell_customer(status)

    def _tell_customer(self, status: ReaderStatus) -> None:
        display = self._display
        if display is None or self._sale is None:
            return
        if status.state is ReaderState.WAITING_FOR_CARD:
            display.show_amount(
                self.amount_label.text(),
                self._sale.description,
                "Tap, insert or swipe your card on the reader.",
                # A simulated reader never takes real money: the customer is told so.
                training=isinstance(self._reader, SimulatedReader),
            )
        elif status.state is ReaderState.PROCESSING and display.isVisible():
            display.set_status("Reading your card… please do not remove it.")

    def _paid(self, payment: PaymentRecord) -> None:
        amount = format_money(payment.amount, self._locale)
        card = card_text(payment.card_brand, payment.card_last4)
        if payment.state is PaymentState.CAPTURED:
            detail = f"Paid by {card} at the card reader." if card else "Paid at the card reader."
            self._finish(
                "good", "✓", "Approved", detail, payment.reference, amount, payment=payment
            )
        elif payment.state is PaymentState.DECLINED:
            self._finish(
                "bad",
                "✕",
                "Declined",
                decline_message(payment.decline_code),
                f"{card}  {payment.reference}".strip(),
                amount,
                payment=payment,
            )
        else:
            detail = payment.attention or "The payment is not confirmed yet; see Payments."
            self._finish(
                "warn",
                "!",
                "Payment not confirmed",
                detail,
                payment.reference,
                amount,
                payment=payment,
            )

    def _failed(self, error: BaseException) -> None:
        self._tick.stop()
        self.countdown_label.clear()
        for button in self.gesture_buttons.values():
            button.setEnabled(False)
        if isinstance(error, ReaderError):
            self._phase = _Phase.STOPPED
            first = "Cancelled." if error.code == "cancelled" else error.message
            self._show_status(f"{first} {NOTHING_CHARGED}", "warn")
            self._show_actions(cancel=False, retry=True, back=True)
            self.retry_button.setFocus()
            return
        log.warning("Card reader payment failed: %s", error)
        cause = error.error if isinstance(error, OperationFailed) else error
        payment = error.payment if isinstance(error, OperationFailed) else None
        unsure = payment is not None and payment.state is PaymentState.IN_DOUBT
        self._finish(
            "warn",
            "!",
            "Payment not confirmed" if unsure else "Payment not completed",
            error_message(cause),
            f"Saved as {payment.reference}" if payment else "",
            "",
            over=False,
            payment=payment,
        )

    def _finish(
        self,
        tone: str,
        symbol: str,
        title: str,
        detail: str,
        reference: str,
        amount: str,
        *,
        over: bool = True,
        payment: PaymentRecord | None = None,
    ) -> None:
        """``payment``: the sale's record, when there is one (a training sale says so)."""
        self._phase = _Phase.RESULT
        self._sale_over = over
        if over:
            self.sale_ended.emit()
        self._tick.stop()
        if self._display is not None and self._display.isVisible():
            good = tone == "good"
            self._display.show_outcome(
                "Thank you" if good else title, "Payment received." if good else detail
            )
        self.result.show_result(
            tone,
            symbol,
            title,
            amount or self.amount_label.text(),
            detail,
            reference,
            "New sale" if over else "Back to sale",
            training=payment is not None and payment.training,
        )
        self.stack.setCurrentWidget(self.result)

    def _leave(self) -> None:
        self._sale_tasks.end()
        self._tick.stop()
        if self._display is not None:
            self._display.hide()
        if self._phase is _Phase.READING and self._reader is not None:
            self._reader.cancel()
        self._phase = _Phase.IDLE
        self._sale = None
        self.finished.emit(self._sale_over)

    # -- keys and helpers ---------------------------------------------------------------

    def _escape(self) -> None:
        if self._phase is _Phase.RESULT:
            self._leave()
        else:
            self.cancel()

    def _enter(self) -> None:
        if self._phase is _Phase.RESULT:
            self.result.button.click()
        elif self._phase is _Phase.STOPPED:
            self.try_again()
        elif self._phase is _Phase.UNAVAILABLE:
            self.back_to_sale()

    def _show_status(self, text: str, tone: str) -> None:
        self.status_label.setText(text)
        if self.status_label.property("tone") != tone:
            self.status_label.setProperty("tone", tone)
            self.status_label.style().unpolish(self.status_label)
            self.status_label.style().polish(self.status_label)
        announce(self.status_label, text)

    def _show_actions(self, *, cancel: bool, retry: bool, back: bool) -> None:
        self.cancel_button.setVisible(cancel)
        self.cancel_button.setEnabled(cancel)
        self.retry_button.setVisible(retry)
        self.back_button.setVisible(back)

    def _update_countdown(self) -> None:
        left = self.read_timeout_s - self._elapsed.elapsed() / 1000
        self.countdown_label.setText(f"Waiting for the card: {_clock(left)} left")
