"""Every sentence a cashier reads about a decline or an error comes from here."""

from __future__ import annotations

from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    IdempotencyConflictError,
    InvalidRequestError,
    OutcomeUnknownError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitedError,
    ResponseInvalidError,
)
from pos_app.providers.registry import PROVIDERS
from pos_app.providers.types import DeclineCode

PROVIDER_NAMES: dict[str, str] = {key: spec.display_name for key, spec in PROVIDERS.items()}

# How each journal payment method reads on screen and in exports.
METHOD_NAMES: dict[PaymentMethod, str] = {
    PaymentMethod.HOSTED_CHECKOUT: "Hosted checkout",
    PaymentMethod.PAY_BY_LINK: "Pay by link",
    PaymentMethod.EMBEDDED_CHECKOUT: "Card form",
    PaymentMethod.DIRECT_CHARGE: "Card charged directly",
    PaymentMethod.CARD_READER: "Card reader",
}


def method_name(method: PaymentMethod) -> str:
    """Its words; a method this version does not list (read from a newer till's journal)
    shows as the text it was stored as."""
    return METHOD_NAMES.get(method, method.value)


# A training (sandbox) sale, wherever it shows: no real money moved (journal migration 9).
TRAINING = "TRAINING"
TRAINING_NOTE = "Training sale (sandbox, test cards): no real money moved."
TRAINING_CUSTOMER = "TRAINING — this is a practice payment, not a real one."


def card_text(brand: str | None, last4: str | None, *, unnamed: str = "Card") -> str:
    """ "Visa •••• 4242", or "" when the provider reported no card."""
    return f"{(brand or unnamed).title()} •••• {last4}" if last4 else ""


DECLINE_MESSAGES: dict[str, str] = {
    DeclineCode.DECLINED: "The card was declined. Ask for another card or another way to pay.",
    DeclineCode.INSUFFICIENT_FUNDS: "The card was declined for insufficient funds.",
    DeclineCode.EXPIRED_CARD: "The card has expired. Ask for another card.",
    DeclineCode.INCORRECT_CVC: "The security code (CVC) was wrong. The customer can try again.",
    DeclineCode.LOST_OR_STOLEN: "The card was declined. Do not retry this card; ask for another.",
    DeclineCode.INVALID_CARD: "The card number is not valid. Check it and try again.",
    DeclineCode.PROCESSING_ERROR: "The card network had a problem. Try again in a moment.",
    DeclineCode.FRAUD_SUSPECTED: "The card was declined. Ask for another way to pay.",
    DeclineCode.LIMIT_EXCEEDED: "The card's limit was exceeded. Ask for another card.",
    DeclineCode.TRY_AGAIN: "The card issuer did not answer. Try again.",
    DeclineCode.OTHER: "The payment was declined.",
}

STATE_LABELS: dict[PaymentState, str] = {
    PaymentState.CREATED: "Started",
    PaymentState.PENDING: "Waiting for customer",
    PaymentState.REQUIRES_ACTION: "Customer action needed",
    PaymentState.AUTHORIZED: "Authorized",
    PaymentState.CAPTURED: "Paid",
    PaymentState.PARTIALLY_CAPTURED: "Partly captured",
    PaymentState.PARTIALLY_REFUNDED: "Partly refunded",
    PaymentState.REFUNDED: "Refunded",
    PaymentState.VOIDED: "Voided",
    PaymentState.DECLINED: "Declined",
    PaymentState.FAILED: "Not completed",
    PaymentState.EXPIRED: "Expired",
    PaymentState.IN_DOUBT: "Checking…",
}


def decline_message(code: str | None) -> str:
    return DECLINE_MESSAGES.get(code or DeclineCode.OTHER, DECLINE_MESSAGES[DeclineCode.OTHER])


def state_label(state: PaymentState) -> str:
    return STATE_LABELS[state]


def error_message(error: BaseException) -> str:
    """One sentence for the cashier; details go to the log."""
    provider = getattr(error, "provider", "") or "the payment provider"
    name = PROVIDER_NAMES.get(provider, provider)
    if isinstance(error, ConnectionFailedError):
        return f"Could not reach {name}. Nothing was charged. Check the connection and try again."
    if isinstance(error, OutcomeUnknownError):
        return (
            f"{name} did not answer in time. The sale is saved and will be checked "
            "before anything is retried."
        )
    if isinstance(error, ResponseInvalidError):
        return (
            f"{name} sent an answer that could not be trusted. The sale is saved "
            "and marked for checking."
        )
    if isinstance(error, AuthenticationError):
        return f"{name} refused this till's credentials. Ask a manager to check the profile."
    if isinstance(error, ConfigurationError):
        return f"The payment profile is incomplete: {error}"
    if isinstance(error, RateLimitedError):
        return f"{name} is busy. Wait a moment and try again."
    if isinstance(error, ProviderUnavailableError):
        return f"{name} is having problems right now. Try again in a moment."
    if isinstance(error, IdempotencyConflictError):
        return "This request is already being processed. Wait for it to finish."
    if isinstance(error, InvalidRequestError):
        return f"{name} refused the request: {error}"
    if isinstance(error, ProviderError):
        return f"{name}: {error}"
    return "Something went wrong. The sale is saved; see the log for details."
