"""Cashier: type an amount and a description, choose how the customer pays.

Only the methods the active provider can really do are offered (its ``capabilities``).
Keyboard first: Enter takes the default method (the secure page), F6–F8 the others (F5 is
refresh elsewhere in the app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from pos_app.domain.money import format_money
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.widgets.common import label, set_invalid
from pos_app.providers.types import AmountLimits, Capability
from pos_app.services.sale import Sale, SaleInputError, parse_description, parse_sale_amount

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class _MethodSpec:
    method: PaymentMethod
    text: str
    key: str
    accessible: str
    needs: Capability | None


_METHODS = (
    _MethodSpec(
        # The provider's secure page, in the till's web view (or the system browser).
        PaymentMethod.HOSTED_CHECKOUT,
        "&Secure page  ⏎",
        "",
        "Take payment on the provider's secure page",
        Capability.HOSTED_CHECKOUT,
    ),
    _MethodSpec(
        # A pay-by-link URL as a QR code for the customer's phone.
        PaymentMethod.PAY_BY_LINK,
        "Pay by &link (QR)  F6",
        "F6",
        "Take payment by link: the customer scans a QR code",
        Capability.PAY_BY_LINK,
    ),
    _MethodSpec(
        # The provider's embedded card component (JustiFi).
        PaymentMethod.EMBEDDED_CHECKOUT,
        "Card &form  F7",
        "F7",
        "Take payment with the card form",
        Capability.EMBEDDED_COMPONENT,
    ),
    # Card-present: the card-reader screen (a simulated reader on sandbox).
    _MethodSpec(
        PaymentMethod.CARD_READER,
        "Card &reader  F8",
        "F8",
        "Take payment with a card reader",
        None,
    ),
)


def methods_for(capabilities: Iterable[Capability]) -> tuple[PaymentMethod, ...]:
    """The methods a provider with these capabilities can take, in the order shown."""
    have = frozenset(capabilities)
    return tuple(spec.method for spec in _METHODS if spec.needs is None or spec.needs in have)


class CashierScreen(QWidget):
    checkout_requested = Signal(object, object)  # Sale, PaymentMethod — every method
    # Kept for a main window that only knows hosted checkout; emitted for HOSTED only.
    hosted_checkout_requested = Signal(object)  # Sale

    def __init__(
        self,
        *,
        limits: AmountLimits,
        locale: str,
        provider_name: str,
        capabilities: Iterable[Capability] = (Capability.HOSTED_CHECKOUT,),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Screen")
        self._limits = limits
        self._locale = locale
        self._ready = False
        self._methods: tuple[PaymentMethod, ...] = ()

        self.amount_field = QLineEdit()
        self.amount_field.setObjectName("AmountField")
        self.amount_field.setPlaceholderText("0.00")
        self.amount_field.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount_field.setAccessibleName(f"Amount in {limits.currency}")
        self.amount_error = label("", "FieldError")
        self.description_field = QLineEdit()
        self.description_field.setPlaceholderText("What is the customer buying?")
        self.description_field.setAccessibleName("Description")
        self.description_field.setMaxLength(400)
        self.description_error = label("", "FieldError")
        self.method_buttons: dict[PaymentMethod, QPushButton] = {}
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        for spec in _METHODS:
            button = QPushButton(spec.text)
            button.setAccessibleName(spec.accessible)
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, m=spec.method: self.submit(m))
            if spec.key:
                QShortcut(QKeySequence(spec.key), self, lambda m=spec.method: self.submit(m))
            buttons.addWidget(button)
            self.method_buttons[spec.method] = button
        self.hosted_button = self.method_buttons[PaymentMethod.HOSTED_CHECKOUT]
        self.hosted_button.setObjectName("Primary")
        self.hosted_button.setToolTip("Opens the provider's secure payment page (Enter)")
        self._hint_text = f"The customer pays on {provider_name}'s secure page, shown here."
        self.hint = label(self._hint_text, "Hint")
        self.preview = label("", "Hint")

        card = QFrame()
        card.setObjectName("Card")
        form = QVBoxLayout(card)
        form.setContentsMargins(28, 24, 28, 24)
        form.setSpacing(6)
        form.addWidget(label(f"Amount ({limits.currency})", "FieldLabel"))
        form.addWidget(self.amount_field)
        form.addWidget(self.amount_error)
        form.addSpacing(6)
        form.addWidget(label("Description", "FieldLabel"))
        form.addWidget(self.description_field)
        form.addWidget(self.description_error)
        form.addSpacing(10)
        form.addWidget(label("How does the customer pay?", "FieldLabel"))
        form.addLayout(buttons)
        form.addWidget(self.hint)
        form.addWidget(self.preview)

        column = QVBoxLayout()
        column.addWidget(label("New sale", "ScreenTitle"))
        column.addSpacing(8)
        column.addWidget(card)
        column.addStretch(1)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 28, 32, 28)
        outer.addStretch(1)
        outer.addLayout(column, 4)
        outer.addStretch(1)

        self.amount_field.textChanged.connect(self._revalidate)
        self.description_field.textChanged.connect(self._revalidate)
        self.amount_field.returnPressed.connect(self._amount_entered)
        self.description_field.returnPressed.connect(self.submit)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.clear)
        self.set_capabilities(capabilities)

    # -- public -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def methods(self) -> tuple[PaymentMethod, ...]:
        return self._methods

    def set_capabilities(self, capabilities: Iterable[Capability]) -> None:
        """Offer only what the active provider can do (its adapter's ``capabilities``)."""
        self._methods = methods_for(capabilities)
        for method, button in self.method_buttons.items():
            button.setVisible(method in self._methods)
        self._revalidate()

    def set_ready(self, ready: bool, why: str = "") -> None:
        """The provider connection is (not) available; selling waits for it."""
        self._ready = ready
        self.hint.setText(why if not ready and why else self._hint_text)
        self._revalidate()

    def focus_amount(self) -> None:
        self.amount_field.setFocus(Qt.FocusReason.OtherFocusReason)
        self.amount_field.selectAll()

    def clear(self) -> None:
        self.amount_field.clear()
        self.description_field.clear()
        self._show_errors(None, None)
        self.preview.clear()
        self._enable_methods(False)
        self.focus_amount()

    def current_sale(self) -> Sale:
        """The sale as typed, or SaleInputError naming the first problem."""
        amount = parse_sale_amount(
            self.amount_field.text(), limits=self._limits, locale=self._locale
        )
        return Sale(amount, parse_description(self.description_field.text()))

    @property
    def default_method(self) -> PaymentMethod | None:
        """What Enter takes: the secure page, or the first method the provider has."""
        return self._methods[0] if self._methods else None

    def submit(self, method: PaymentMethod | None = None) -> None:
        method = method or self.default_method
        if method is None or method not in self._methods:
            return
        try:
            sale = self.current_sale()
        except SaleInputError as error:
            self._show_all_errors()
            (self.amount_field if error.field == "amount" else self.description_field).setFocus()
            return
        if not self._ready:
            return
        self.checkout_requested.emit(sale, method)
        if method is PaymentMethod.HOSTED_CHECKOUT:
            self.hosted_checkout_requested.emit(sale)

    # -- validation -----------------------------------------------------------------

    def _amount_entered(self) -> None:
        if not self.description_field.text().strip():
            self._show_all_errors(description=False)
            if self.amount_error.text() == "":
                self.description_field.setFocus()
            return
        self.submit()

    def _revalidate(self) -> None:
        """Live check as the cashier types; only complain about fields they touched."""
        if not self.amount_field.text() and not self.description_field.text():
            # Nothing typed: nothing to parse (and no locale data to load at start-up).
            self._show_errors(None, None)
            self.preview.clear()
            self._enable_methods(False)
            return
        amount_problem, description_problem, preview = self._problems()
        self._show_errors(
            amount_problem if self.amount_field.text() else None,
            description_problem if self.description_field.text() else None,
        )
        self.preview.setText(preview)
        self._enable_methods(self._ready and not amount_problem and not description_problem)

    def _enable_methods(self, enabled: bool) -> None:
        for button in self.method_buttons.values():
            button.setEnabled(enabled)

    def _show_all_errors(self, *, description: bool = True) -> None:
        amount_problem, description_problem, _ = self._problems()
        self._show_errors(amount_problem, description_problem if description else None)

    def _problems(self) -> tuple[str | None, str | None, str]:
        amount_problem = description_problem = None
        preview = ""
        try:
            amount = parse_sale_amount(
                self.amount_field.text(), limits=self._limits, locale=self._locale
            )
            preview = f"Customer will pay {format_money(amount, self._locale)}"
        except SaleInputError as error:
            amount_problem = error.message
        try:
            parse_description(self.description_field.text())
        except SaleInputError as error:
            description_problem = error.message
        return amount_problem, description_problem, preview

    def _show_errors(self, amount: str | None, description: str | None) -> None:
        self.amount_error.setText(amount or "")
        set_invalid(self.amount_field, amount is not None)
        self.description_error.setText(description or "")
        set_invalid(self.description_field, description is not None)
