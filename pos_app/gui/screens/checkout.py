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
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.messages import TRAINING, card_text, decline_message, error_message
from pos_app.gui.tasks import SaleTasks, TaskRunner
from pos_app.gui.webview.policy import FAILURE_RETURN_URL, SUCCESS_RETURN_URL, NavigationPolicy
from pos_app.gui.widgets.browser_panel import BrowserOpener, BrowserPanel
from pos_app.gui.widgets.common import announce, label
from pos_app.gui.widgets.qr import LinkPanel
from pos_app.services.outcomes import DISAGREES
from pos_app.services.payments import OperationFailed, PaymentService, SaleStarted

if TYPE_CHECKING:
    from pathlib import Path

    from pos_app.gui.bridge import ServiceEvents
    from pos_app.gui.screens.customer_display import CustomerDisplay
    from pos_app.gui.screens.embedded_checkout import CardForm, ComponentHost
    from pos_app.gui.webview.spare import SpareCheckoutView
    from pos_app.gui.webview.view import CheckoutWebView
    from pos_app.providers.types import PaymentSource
    from pos_app.services.records import PaymentRecord
    from pos_app.services.sale import Sale

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 3000
TRAINING_RESULT = f"{TRAINING} — a sandbox sale with test cards: no real money moved"
TRAINING_WAITING = f"{TRAINING} · test cards only, no real money"
_NO_CARD_FORM = (
    "This profile has no page to host the card form. Choose another way to pay. Nothing "
    "was charged."
)


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
        # A training sale's result says so above everything else (plain text, like all here).
        self.training = label(TRAINING_RESULT, "TrainingBadge")
        self.training.setWordWrap(False)
        self.training.setAccessibleName("Training sale")
        self.training.setVisible(False)
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
        layout.addWidget(self.training, 0, Qt.AlignmentFlag.AlignHCenter)
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
        *,
        training: bool = False,
    ) -> None:
        """``training``: a sandbox sale, said above the title (no real money moved)."""
        self.icon.setText(symbol)
        self.icon.setProperty("tone", tone)
        self.icon.style().unpolish(self.icon)
        self.icon.style().polish(self.icon)
        self.title.setText(title)
        self.amount.setText(amount)
        self.detail.setText(detail)
        self.reference.setText(reference)
        self.button.setText(f"{button}  ⏎")
        self.training.setVisible(training)
        self.button.setFocus()
        announce(
            self.title, f"Training sale: {title}. {detail}" if training else f"{title}. {detail}"
        )


class CheckoutScreen(QWidget):
    finished = Signal(bool)  # True when the sale is over (paid/declined), False to edit it again
    # The sale has its outcome: the cashier's fields are spent, whatever screen comes next.
    sale_ended = Signal()

    def __init__(self, *, locale: str, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._locale = locale
        self._tasks = tasks
        self._payments: PaymentService | None = None
        self._profile = ""
        self._checkout: SaleStarted | None = None
        self._verifying = False
        self._verify_again = False
        self._expires_at: datetime | None = None
        self._sale_over = False
        self._sale_tasks = SaleTasks(tasks)  # an abandoned checkout's callbacks never run
        self._listening_to: ServiceEvents | None = None
        self._sale: Sale | None = None
        self._method = PaymentMethod.HOSTED_CHECKOUT
        self._link_expired = False
        self._expiry_noticed = False
        self._display: CustomerDisplay | None = None
        self._assets_dir: Path | None = None
        self._component_host: ComponentHost | None = None
        self.web_view: CheckoutWebView | None = None
        self.card_form: CardForm | None = None  # set while web_view shows the card form
        self.spare_view: SpareCheckoutView | None = None  # None: each page makes its own view
        self._browser: BrowserOpener | None = None  # None: secure pages open in the till

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
        self.training_label = label(TRAINING_WAITING, "TrainingBadge")
        self.training_label.setWordWrap(False)
        self.training_label.setAccessibleName("Training sale")
        self.training_label.setVisible(False)

        bar = QFrame()
        bar.setObjectName("CheckoutBar")
        self._bar = bar
        bar_layout = QHBoxLayout(bar)
        bar_layout.setContentsMargins(20, 12, 20, 12)
        texts = QVBoxLayout()
        # Above the amount, not beside it: the sale's own lines keep their width.
        texts.addWidget(self.training_label, 0, Qt.AlignmentFlag.AlignLeft)
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
        self.link_panel = LinkPanel()
        self.link_panel.setVisible(False)
        self.link_panel.new_link_button.clicked.connect(self.new_link)
        self.page_host.addWidget(self.link_panel)
        self.browser_panel = BrowserPanel()
        self.browser_panel.setVisible(False)
        self.browser_panel.open_again_button.clicked.connect(self.open_page_again)
        self.page_host.addWidget(self.browser_panel)

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
        QShortcut(QKeySequence(Qt.Key.Key_F6), self.link_panel, self.new_link)
        QShortcut(QKeySequence(Qt.Key.Key_F6), self.browser_panel, self.open_page_again)

    def keep_spare_view(self) -> None:
        """Make each secure page's web view between sales, not after Charge (call once
        QtWebEngine has started: see ``webview/warmup.py``)."""
        from pos_app.gui.webview.spare import SpareCheckoutView

        if self.spare_view is None:
            self.spare_view = SpareCheckoutView(self.waiting)
            self.spare_view.replenish()

    def shutdown(self) -> None:
        """Stop timers and drop the web views (the app is closing)."""
        self._sale_tasks.end()
        self._poll.stop()
        self._tick.stop()
        self._dispose_view()
        if self.spare_view is not None:
            self.spare_view.dispose()
        if self._display is not None:
            self._display.close()

    def set_customer_display(self, display: CustomerDisplay | None) -> None:
        """The window facing the customer; pay-by-link shows its QR code there too."""
        self._display = display

    @property
    def method(self) -> PaymentMethod:
        return self._method

    def set_payments(self, payments: PaymentService, profile: str, events: ServiceEvents) -> None:
        """Sales go through ``payments`` to ``profile`` (the till's profile); ``events``
        tells of every recorded change (and reads the payment back)."""
        self._payments, self._profile = payments, profile
        if self._listening_to is not events:
            if self._listening_to is not None:
                self._listening_to.payment_changed.disconnect(self._journal_changed)
            self._listening_to = events
            events.payment_changed.connect(self._journal_changed)

    def _provider_name(self) -> str:
        assert self._payments is not None
        return self._payments.provider_for(self._profile).display_name

    def _journal_changed(self, reference: str) -> None:
        """Something recorded news of the payment on screen — a webhook's lookup, say — so
        show it now instead of at the next poll (the journal only holds looked-up states)."""
        if self._checkout is None or reference != self._checkout.payment.reference:
            return
        current = self._sale_tasks.still_current()
        QTimer.singleShot(0, lambda: self._show_recorded(reference) if current() else None)

    def _show_recorded(self, reference: str) -> None:
        if self._sale_over or self._checkout is None:
            return
        assert self._listening_to is not None
        payment = self._listening_to.queries.get(reference)
        if payment is None or payment.state is self._checkout.payment.state:
            return
        self._checkout = SaleStarted(payment, self._checkout.session)
        self._show_state(payment)

    @property
    def payment(self) -> PaymentRecord | None:
        return self._checkout.payment if self._checkout else None

    # -- flow -------------------------------------------------------------------------

    def start(self, sale: Sale, method: PaymentMethod) -> None:
        """Take the sale the way the cashier chose: on a provider checkout (page, link or
        card form). A card is charged with ``start_card_charge``."""
        if method is PaymentMethod.CARD_READER:
            raise ValueError("card-reader sales have their own screen")
        if method is PaymentMethod.EMBEDDED_CHECKOUT:
            self.start_embedded(sale)
        elif method.is_checkout_page:
            self._open(sale, method)
        else:
            raise ValueError(f"{method} is not paid on a checkout")

    def set_browser(self, opener: BrowserOpener | None) -> None:
        """Open providers' secure pages with ``opener`` (the system browser) instead of the
        till's own view. 3-D Secure challenges and the card form stay in the till."""
        self._browser = opener

    def open_page_again(self) -> None:
        if self._browser is not None and self._checkout is not None and self._checkout.url:
            self._show_in_browser(self._checkout)

    def start_hosted(self, sale: Sale) -> None:
        self._open(sale, PaymentMethod.HOSTED_CHECKOUT)

    def start_link(self, sale: Sale) -> None:
        self._open(sale, PaymentMethod.PAY_BY_LINK)

    def new_link(self) -> None:
        """Only after the lookup said the old link expired: never two live links at once."""
        if self._link_expired and self._sale is not None:
            self._open(self._sale, PaymentMethod.PAY_BY_LINK)

    def set_card_form(self, *, assets_dir: Path | None, host: ComponentHost | None) -> None:
        """Where the card form's files are cached, and which page hosts the component."""
        self._assets_dir = assets_dir
        self._component_host = host

    def start_embedded(self, sale: Sale) -> None:
        from pos_app.platform.assets import MISSING_HINT, cached_assets

        assert self._payments is not None, "checkout started before the provider was ready"
        self._reset(sale)
        self._method = PaymentMethod.EMBEDDED_CHECKOUT
        if self._component_host is None:
            self._finish(
                "warn", "!", "Card form not available", _NO_CARD_FORM, "", "Back to sale",
                over=False,
            )  # fmt: skip
            return
        needs_files = self._component_host.needs_local_assets
        if needs_files and (self._assets_dir is None or cached_assets(self._assets_dir) is None):
            self._finish(
                "warn", "!", "Card form not installed", MISSING_HINT, "", "Back to sale",
                over=False,
            )  # fmt: skip
            return
        self.status_label.setText("Opening the card form…")
        self._sale_tasks.start(
            self._payments.take(
                self._profile,
                sale,
                PaymentMethod.EMBEDDED_CHECKOUT,
                origin_url=self._component_host.origin,
            ),
            self._embedded_opened,
            self._open_failed,
            on_superseded=self._close_behind,
        )

    def _embedded_opened(self, checkout: SaleStarted) -> None:
        from pos_app.gui.screens.embedded_checkout import CardForm, card_form_policy

        assert self._component_host is not None
        self._checkout = checkout
        self._expires_at = checkout.expires_at
        self._update_timers()
        self._show_sale(checkout.payment)
        self.status_label.setText("The customer enters their card in the form below…")
        announce(self.status_label, "Card form ready")
        host = self._component_host
        assert checkout.card_form is not None
        host_url = host.page_url(checkout.card_form.checkout_ref, checkout.card_form.token)
        view = self._new_view(card_form_policy(host_url, host.resource_origins))
        form = CardForm(view, host_url, resource_origins=host.resource_origins)
        view.setAccessibleName("Card form")
        form.bridge.submitted.connect(self._card_form_submitted)
        form.bridge.failed.connect(self._card_form_failed)
        form.bridge.changed.connect(self.verify)
        view.checkout_page.intercepted.connect(lambda _url: self.verify())
        self.web_view, self.card_form = view, form
        self.page_host.addWidget(view)
        form.load()
        view.setFocus()
        self._poll.start()

    def _card_form_submitted(self, payment_status: str) -> None:
        self.status_label.setText("Checking the payment with the provider…")
        self.verify()

    def _card_form_failed(self, code: str, sentence: str) -> None:
        self.status_label.setText(sentence)
        announce(self.status_label, sentence)
        self.verify()

    def start_card_charge(self, sale: Sale, source: PaymentSource) -> None:
        """Charge a card token (from a card form or reader). If the bank asks for 3-D Secure,
        its challenge opens in the hardened view; the return URL only triggers a lookup."""
        assert self._payments is not None, "charge started before the provider was ready"
        self._reset(sale)
        self.status_label.setText(f"Charging the card with {self._provider_name()}…")
        # Left before the answer: nothing to close, an unfinished challenge lapses at the bank.
        self._sale_tasks.start(
            self._payments.take(
                self._profile,
                sale,
                PaymentMethod.DIRECT_CHARGE,
                source=source,
                success_url=SUCCESS_RETURN_URL,
                failure_url=FAILURE_RETURN_URL,
            ),
            self._charged,
            self._open_failed,
        )

    def _charged(self, checkout: SaleStarted) -> None:
        self._checkout = checkout
        payment = checkout.payment
        self._show_sale(payment)
        if payment.state is PaymentState.REQUIRES_ACTION and checkout.url:
            self.status_label.setText("The customer confirms the payment with their bank…")
            announce(self.status_label, "Waiting for the customer's bank check")
            self._show_page(checkout)
            self._poll.start()
        else:
            self._show_state(payment)

    def _open(self, sale: Sale, method: PaymentMethod) -> None:
        assert self._payments is not None, "checkout started before the provider was ready"
        self._reset(sale)
        self._method = method
        link = method is PaymentMethod.PAY_BY_LINK
        # A phone paying by link, or a page in the system browser, must never be sent to
        # our intercept-only return URL: only the till's own view can catch it.
        outside = link or self._browser is not None
        what = "payment link" if link else "checkout"
        self.status_label.setText(f"Opening {self._provider_name()} {what}…")
        self._sale_tasks.start(
            self._payments.take(
                self._profile,
                sale,
                method,
                success_url=None if outside else SUCCESS_RETURN_URL,
                in_browser=self._browser is not None,
            ),
            self._opened,
            self._open_failed,
            on_superseded=self._close_behind,
        )

    def verify(self) -> None:
        """Ask the provider what happened (never trust the page)."""
        if self._payments is None or self._checkout is None or self._sale_over:
            return
        if self._verifying:
            # A return URL while a poll's lookup is out: that answer may predate the payment,
            # so look again as soon as it is in (not at the next poll).
            self._verify_again = True
            return
        self._verifying = True
        self._verify_again = False
        self._sale_tasks.start(
            self._payments.refresh(self._checkout.payment.reference),
            self._verified,
            self._verify_failed,
            cancel_on_end=True,
        )

    def cancel(self) -> None:
        if self._payments is None or self._sale_over:
            return
        if self._checkout is None:
            self._leave()
            return
        self.cancel_button.setEnabled(False)
        self.status_label.setText("Cancelling — checking the payment first…")
        self._tasks.start(
            self._payments.cancel_checkout(self._checkout.payment.reference),
            self._cancelled,
            self._verify_failed,
        )

    # -- callbacks --------------------------------------------------------------------

    def _close_behind(self, checkout: SaleStarted) -> None:
        """The cashier left while it was opening: close it at our end too."""
        assert self._payments is not None
        self._tasks.start(self._payments.cancel_checkout(checkout.payment.reference))

    def _opened(self, checkout: SaleStarted) -> None:
        self._checkout = checkout
        self._expires_at = checkout.expires_at
        self._update_timers()
        self._show_sale(checkout.payment)
        if self._method is PaymentMethod.PAY_BY_LINK:
            self._show_link(checkout)
        elif self._browser is not None:
            self._show_in_browser(checkout)
        else:
            self.status_label.setText("Waiting for the customer to pay on the secure page…")
            announce(self.status_label, "Waiting for the customer to pay")
            self._show_page(checkout)
        self._poll.start()

    def _show_link(self, checkout: SaleStarted) -> None:
        self.status_label.setText("Waiting for the customer to scan the code and pay…")
        announce(self.status_label, "Waiting for the customer to pay by link")
        self.link_panel.show_link(checkout.url)
        self.link_panel.setVisible(True)
        self.cancel_button.setFocus()
        if self._display is not None:
            self._display.show_link(
                self.amount_label.text(),
                checkout.payment.description,
                checkout.url,
                training=checkout.payment.training,
            )

    def _show_in_browser(self, checkout: SaleStarted) -> None:
        assert self._browser is not None
        opened = bool(checkout.url) and self._browser(checkout.url)
        status = (
            "Waiting for the customer to pay on the secure page in the web browser…"
            if opened
            else "The web browser could not be opened: open the address below for the customer."
        )
        self.status_label.setText(status)
        announce(self.status_label, status)
        self.browser_panel.show_url(checkout.url, opened=opened)
        self.browser_panel.setVisible(True)
        self.browser_panel.open_again_button.setFocus()

    def _new_view(self, policy: NavigationPolicy) -> CheckoutWebView:
        """The view made between sales if there is one, else a new one (each serves one sale)."""
        from pos_app.gui.webview.view import CheckoutWebView  # QtWebEngine loads only now

        if self.spare_view is not None:
            return self.spare_view.take(policy)
        return CheckoutWebView(policy, self.waiting)

    def _show_page(self, checkout: SaleStarted) -> None:
        self.web_view = self._new_view(NavigationPolicy.for_urls(checkout.url))
        self.web_view.setAccessibleName("Provider checkout page")
        self.web_view.checkout_page.intercepted.connect(lambda _url: self.verify())
        self.web_view.loadFinished.connect(lambda _ok: self.verify())
        self.page_host.addWidget(self.web_view)
        self.web_view.load(checkout.url)
        self.web_view.setFocus()

    def _open_failed(self, error: BaseException) -> None:
        log.warning("Could not open checkout: %s", error)
        cause = error.error if isinstance(error, OperationFailed) else error
        payment = error.payment if isinstance(error, OperationFailed) else None
        reference = f"Saved as {payment.reference}" if payment else ""
        self._finish(
            "warn",
            "!",
            "Payment not started",
            error_message(cause),
            reference,
            "Back to sale",
            over=False,
            payment=payment,
        )

    def _verified(self, payment: PaymentRecord) -> None:
        self._verifying = False
        if self._checkout is None:
            return
        self._checkout = SaleStarted(payment, self._checkout.session)
        self._show_state(payment)
        self._verify_again_if_asked()

    def _verify_again_if_asked(self) -> None:
        if self._verify_again and not self._sale_over:
            self.verify()

    def _verify_failed(self, error: BaseException) -> None:
        self._verifying = False
        self._verify_again = False  # the poll tries again; no tight loop against a failure
        self.cancel_button.setEnabled(True)
        log.warning("Lookup failed: %s", error)
        self.status_label.setText(
            f"Could not check the payment yet — {error_message(error)} Still trying."
        )

    def _cancelled(self, payment: PaymentRecord) -> None:
        if payment.state is PaymentState.REQUIRES_ACTION:
            # A charge's bank check cannot be called off; unfinished, it is never authorized.
            self._finish(
                "warn",
                "!",
                "Payment not completed",
                "The bank check was not finished, so the card was not charged.",
                payment.reference,
                "New sale",
            )
        elif payment.state is PaymentState.FAILED:
            detail = "Nothing was charged."
            if self._method is PaymentMethod.PAY_BY_LINK:
                # No provider can close a link: say what happens if the phone pays anyway.
                detail += (
                    " The link itself stays open at the provider until it expires; if the "
                    "customer pays on it anyway, the till flags the payment under Payments "
                    "when it next starts."
                )
            self._finish(
                "warn",
                "✕",
                "Payment cancelled",
                detail,
                payment.reference,
                "New sale",
            )
        else:
            self._show_state(payment)

    def _show_state(self, payment: PaymentRecord) -> None:
        amount = format_money(payment.amount, self._locale)
        card = card_text(payment.card_brand, payment.card_last4)
        if payment.attention and payment.attention.startswith(DISAGREES):
            # Never "Approved" on an answer that is not this sale's: a person checks it.
            self._finish(
                "bad",
                "!",
                "Check this payment",
                payment.attention,
                payment.reference,
                "New sale",
                amount=amount,
            )
        elif payment.state is PaymentState.AUTHORIZED and payment.attention:
            # Held by the provider for a person (Checkout.com's risk flag): not yet paid.
            self._finish(
                "warn",
                "!",
                "Held for review",
                payment.attention,
                f"{card}  {payment.reference}".strip(),
                "New sale",
                amount=amount,
            )
        elif payment.state is PaymentState.CAPTURED:
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
        elif payment.state is PaymentState.EXPIRED and self._method is PaymentMethod.PAY_BY_LINK:
            self._show_link_expired()
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
        elif payment.decline_code and payment.state is PaymentState.PENDING:
            self._show_declined_attempt(payment)

    def _show_declined_attempt(self, payment: PaymentRecord) -> None:
        """A card was declined but the checkout takes another: one sale, one checkout — the
        customer tries again on the same page (or the phone that scanned the link)."""
        where = (
            "on their phone" if self._method is PaymentMethod.PAY_BY_LINK else "on the same page"
        )
        sentence = (
            f"Card declined: {decline_message(payment.decline_code)} The customer can try "
            f"another card {where}, or Cancel (Esc) to end the sale."
        )
        if self.status_label.text() != sentence:
            self.status_label.setText(sentence)
            announce(self.status_label, "Card declined: the customer can try another card")

    def _show_link_expired(self) -> None:
        """The provider says the link is dead (nothing was paid): offer a fresh one."""
        self._link_expired = True
        self._poll.stop()
        self.expiry_label.setText("Link expired")
        self.status_label.setText("The link expired unpaid. Make a new link (F6) or cancel.")
        announce(self.status_label, "The payment link expired")
        self.link_panel.show_expired()
        if self._display is not None:
            self._display.show_expired()

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
        payment: PaymentRecord | None = None,
    ) -> None:
        """The result screen; ``payment`` is the sale's record when it is not the checkout's
        (a checkout that failed to open), so a training sale says TRAINING there too."""
        record = payment or self.payment
        self._sale_over = over
        if over:
            self.sale_ended.emit()
        self._poll.stop()
        self._tick.stop()
        self._dispose_view()
        self.link_panel.setVisible(False)
        self.browser_panel.setVisible(False)
        if self._display is not None and self._display.isVisible():
            self._display.show_outcome(
                "Thank you" if tone == "good" else title,
                "Payment received." if tone == "good" else detail,
            )
        self.result.show_result(
            tone,
            symbol,
            title,
            amount or self.amount_label.text(),
            detail,
            reference,
            button,
            training=record is not None and record.training,
        )
        self.stack.setCurrentWidget(self.result)

    def _leave(self) -> None:
        self._sale_tasks.end()
        self._dispose_view()
        if self._display is not None:
            self._display.hide()
        self._poll.stop()
        self._tick.stop()
        if self.spare_view is not None:
            self.spare_view.replenish()  # while the cashier rings up the next sale
        self.finished.emit(self._sale_over)

    def _escape(self) -> None:
        if self.stack.currentWidget() is self.result:
            self._leave()
        else:
            self.cancel()

    # -- helpers ----------------------------------------------------------------------

    def _reset(self, sale: Sale) -> None:
        self._sale_tasks.end()
        self._dispose_view()
        self.link_panel.setVisible(False)
        self.browser_panel.setVisible(False)
        self._sale = sale
        self._method = PaymentMethod.HOSTED_CHECKOUT
        self._link_expired = False
        self._expiry_noticed = False
        self._checkout = None
        self._sale_over = False
        self._verifying = False
        self._expires_at = None
        self.cancel_button.setEnabled(True)
        self.amount_label.setText(format_money(sale.amount, self._locale))
        self.description_label.setText(sale.description)
        self.training_label.setVisible(False)  # until the sale's record says
        # Above the unused spare web view, a sibling not in any layout that would otherwise
        # be drawn over the bar's top left corner (the amount, the TRAINING badge).
        self._bar.raise_()
        self.stack.setCurrentWidget(self.waiting)
        self._elapsed.start()
        self._update_timers()
        self._tick.start()

    def _show_sale(self, payment: PaymentRecord) -> None:
        """The recorded sale in the bar: its reference, and TRAINING for a sandbox sale."""
        self.description_label.setText(f"{payment.description} · {payment.reference}")
        self.training_label.setVisible(payment.training)

    def _update_timers(self) -> None:
        self.elapsed_label.setText(f"Waiting {_clock_text(self._elapsed.elapsed() // 1000)}")
        if self._link_expired:
            return
        if self._expires_at is not None:
            left = int((self._expires_at - datetime.now(UTC)).total_seconds())
            what = "Link" if self._method is PaymentMethod.PAY_BY_LINK else "Checkout"
            text = f"{what} expires in {_clock_text(left)}"
            self.expiry_label.setText(text)
            if self._display is not None and self._method is PaymentMethod.PAY_BY_LINK:
                self._display.set_expiry(text)
            if left <= 0 and self._method is PaymentMethod.PAY_BY_LINK and not self._expiry_noticed:
                self._expiry_noticed = True
                self.verify()  # our clock says expired; only the provider's answer decides
        else:
            self.expiry_label.setText("")

    def _dispose_view(self) -> None:
        if self.card_form is not None:
            if self._component_host is not None:
                self._component_host.forget(self.card_form.host_url)
            self.card_form = None
        if self.web_view is not None:
            self.page_host.removeWidget(self.web_view)
            self.web_view.dispose()
            self.web_view = None
