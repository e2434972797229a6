"""Requests and results exchanged with providers: frozen, Money-based, never floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pos_app.domain.money import Money
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
