"""Requests and results exchanged with providers: frozen, Money-based, never floats."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from pos_app.domain.money import Money

if TYPE_CHECKING:
    from datetime import datetime

    from pos_app.domain.payment import PaymentState


class Capability(StrEnum):
    HOSTED_CHECKOUT = "hosted_checkout"
    EMBEDDED_COMPONENT = "embedded_component"
    PAY_BY_LINK = "pay_by_link"
    DIRECT_CHARGE = "direct_charge"
    AUTHORIZE_CAPTURE = "authorize_capture"
    PARTIAL_CAPTURE = "partial_capture"
    VOID = "void"
    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    LOOKUP = "lookup"
    LIST = "list"


class DeclineCode(StrEnum):
    """Our normalized decline vocabulary; each provider maps its codes onto it."""

    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    LOST_OR_STOLEN = "lost_or_stolen"
    INVALID_CARD = "invalid_card"
    PROCESSING_ERROR = "processing_error"
    FRAUD_SUSPECTED = "fraud_suspected"
    LIMIT_EXCEEDED = "limit_exceeded"
    TRY_AGAIN = "try_again"
    OTHER = "other"


class CheckoutMode(StrEnum):
    """How the customer reaches the provider's page."""

    HOSTED = "hosted"  # a page opened in the till's web view
    LINK = "link"  # a pay-by-link URL shown as a QR code for the customer's phone


@dataclass(frozen=True)
class Decline:
    code: DeclineCode
    provider_code: str
    provider_message: str


@dataclass(frozen=True)
class CardSummary:
    brand: str
    last4: str


@dataclass(frozen=True)
class CheckoutRequest:
    """What the service asks a provider to open for a customer."""

    reference: str
    amount: Money
    description: str
    idempotency_key: str
    success_url: str | None = None
    origin_url: str | None = None
    mode: CheckoutMode = CheckoutMode.HOSTED


@dataclass(frozen=True)
class CheckoutSession:
    """A provider checkout as the provider reports it right now."""

    provider_ref: str
    state: PaymentState
    provider_status: str
    amount: Money
    reference: str | None
    hosted_url: str | None
    expires_at: datetime | None
    payment_ref: str | None = None
    decline: Decline | None = None
    card: CardSummary | None = None
    attempts: int = 0
    review: str | None = None  # the provider holds the payment for a person (its wording)
    # The provider still takes payment on this checkout (after a declined card, another
    # card may be tried on the same page or link).
    still_payable: bool = False


@dataclass(frozen=True)
class AmountLimits:
    """What a provider accepts for one payment, in minor units of ``currency``."""

    currency: str
    minimum: int  # smallest accepted amount
    maximum: int  # largest accepted amount

    def check(self, amount: Money) -> str | None:
        """A cashier-facing reason the amount is refused, or None."""
        if amount.currency != self.currency:
            return f"This account takes {self.currency}, not {amount.currency}."
        if amount.minor < self.minimum:
            least = Money(self.minimum, self.currency).plain()
            return f"The smallest amount this provider accepts is {least} {self.currency}."
        if amount.minor > self.maximum:
            most = Money(self.maximum, self.currency).plain()
            return f"The largest amount this provider accepts is {most} {self.currency}."
        return None


class SourceKind(StrEnum):
    """What a direct charge is paid with."""

    TOKEN = "token"  # noqa: S105 - a one-time token from the provider's card fields
    STORED_SOURCE = "stored_source"  # a saved payment method / source id at the provider
    CUSTOMER = "customer"  # the default method of a customer saved at the provider


@dataclass(frozen=True)
class PaymentSource:
    kind: SourceKind
    value: str  # the token, source id or customer id; never a card number


@dataclass(frozen=True)
class ChargeRequest:
    """Charge a payment source directly (no hosted page)."""

    reference: str
    amount: Money
    description: str
    idempotency_key: str
    source: PaymentSource
    capture: bool = True  # False: authorize only, capture later
    checkout_ref: str | None = None  # complete this checkout instead of a bare payment
    success_url: str | None = None  # where 3-D Secure / redirects come back to
    failure_url: str | None = None


@dataclass(frozen=True)
class PaymentAction:
    """One step in a payment's history at the provider (authorization, capture, refund, void)."""

    kind: str  # "authorization" | "capture" | "refund" | "void" | provider-specific
    provider_ref: str
    amount: Money
    approved: bool
    at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class ProviderPayment:
    """A payment (not a checkout) as the provider reports it right now.

    ``amount`` is what was asked / authorized; ``captured`` and ``refunded`` are running
    totals. ``action_url`` is set when ``state`` is REQUIRES_ACTION (3-D Secure, redirect).
    """

    provider_ref: str
    state: PaymentState
    provider_status: str
    amount: Money
    captured: Money
    refunded: Money
    reference: str | None
    decline: Decline | None = None
    card: CardSummary | None = None
    action_url: str | None = None
    created_at: datetime | None = None
    actions: tuple[PaymentAction, ...] = ()
    review: str | None = None  # the provider holds the payment for a person (its wording)


@dataclass(frozen=True)
class CaptureRequest:
    payment_ref: str
    idempotency_key: str
    amount: Money | None = None  # None: capture everything authorized
    final: bool = True  # no further capture will follow


@dataclass(frozen=True)
class RefundRequest:
    payment_ref: str
    amount: Money
    reason: str
    idempotency_key: str
    reference: str  # our refund reference, for finding it again after a crash


@dataclass(frozen=True)
class VoidRequest:
    payment_ref: str
    idempotency_key: str
    reason: str = ""


@dataclass(frozen=True)
class ActionResult:
    """The provider accepted a capture / refund / void; ``payment`` is the confirming lookup."""

    action_ref: str
    payment: ProviderPayment


@dataclass(frozen=True)
class EmbeddedCheckout:
    """What an embedded checkout component needs: a short-lived, narrowly scoped token."""

    checkout_ref: str
    account_ref: str  # the sub-account the component acts for
    token: str
    expires_at: datetime | None = None
