"""Payfect payloads to and from our types. Pure: no I/O, testable on recorded payloads.

Money decision: our ``Money`` knows ISO 4217 currencies only, and USDT is not one. The store
sells in USD and USDT is a USD stablecoin, so a sale of ``Money(1799, "USD")`` is invoiced as
``"17.99"`` usdt (1:1, exactly two decimals), and every Payfect amount is read back as USD
``Money``. Only USD sales are priced this way; anything else is a ConfigurationError.

**The payment ref is the checkout id.** Payfect documents no payment lookup, only the
checkout, and a checkout is paid at most once; so a paid checkout *is* the payment, and its
``paymentIntent`` is kept as the payment's one action. Callbacks are verified in
``providers/webhooks.py`` (``verify_payfect``).

Every Payfect checkout status maps to exactly one PaymentState through ``CHECKOUT_STATUS``;
an unknown status is a ResponseInvalidError, never a guess.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pos_app.domain.money import Money, MoneyError
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    ConfigurationError,
    ProviderError,
    ResponseInvalidError,
    error_for_status,
)
from pos_app.providers.types import (
    CheckoutRequest,
    CheckoutSession,
    PaymentAction,
    ProviderPayment,
)

PROVIDER = "payfect"
# The only sale currency we price 1:1 in a stablecoin, and the stablecoins pegged to it.
SALE_CURRENCY = "USD"
USD_STABLECOINS = frozenset({"usdt"})
# Payfect amounts carry two decimals ("20.00").
PLACES = 2
CANCEL_OUTCOME = ("outcome", "cancel")

# Checkout.status -> our state (PROVIDERS.md §4.2: open | complete | expired).
CHECKOUT_STATUS: dict[str, PaymentState] = {
    "open": PaymentState.PENDING,
    "complete": PaymentState.CAPTURED,
    "expired": PaymentState.EXPIRED,
}

# A plain decimal: digits, optionally a fraction. No sign, exponent, spaces or NaN.
_DECIMAL_RE = re.compile(r"[0-9]{1,19}(?:\.[0-9]{1,18})?")
_EPOCH_MS_RE = re.compile(r"[0-9]{1,16}")
_EPOCH_S_RE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


# -- requests --------------------------------------------------------------------------------


def usdt_amount(amount: Money) -> str:
    """The invoice amount for a USD sale: 1:1 in the stablecoin, two decimals."""
    if amount.currency != SALE_CURRENCY:
        raise ConfigurationError(
            f"Payfect checkouts are priced from {SALE_CURRENCY} sales, not {amount.currency}",
            provider=PROVIDER,
        )
    return amount.plain()


def cancel_url_for(success_url: str) -> str:
    """Our cancel URL: the success URL with ``outcome=cancel`` added to its query.

    Payfect redirects there when the customer leaves the page; the service intercepts both
    URLs and, as for a success, only a lookup decides what happened.
    """
    parts = urlsplit(success_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), CANCEL_OUTCOME]
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_checkout_body(
    request: CheckoutRequest,
    *,
    crypto_currency: str = "usdt",
    network: str = "tron",
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The snake_case create body: one invoice item of quantity 1 priced in the stablecoin."""
    body: dict[str, Any] = {
        "client_reference_id": request.reference,
        "currency": crypto_currency,
        "invoice_items": [
            {
                "price_data": {
                    "currency": crypto_currency,
                    "unit_amount": usdt_amount(request.amount),
                    "product_data": {"name": request.description},
                },
                "quantity": 1,
            }
        ],
        "payment_method_data": {
            "type": "cryptopaymentmethoddetail",
            "paymentMethodDetail": {"currency": crypto_currency, "network": network},
        },
    }
    if request.success_url:
        body["success_url"] = request.success_url
        body["cancel_url"] = cancel_url_for(request.success_url)
    if callback_url:
        body["callback_url"] = callback_url
    return body


# -- responses -------------------------------------------------------------------------------


def parse_checkout(
    data: Any, *, crypto_currency: str = "usdt", expected: Money | None = None
) -> CheckoutSession:
    """A Payfect checkout (camelCase) as a CheckoutSession, after checking its money.

    The total must be a decimal string in ``crypto_currency``, equal to the sum of its invoice
    items and, when ``expected`` is given, exactly the amount asked for (Payfect is documented
    to echo ``20.5`` as ``"20.00"``: that is an error, never a success).
    """
    if not isinstance(data, dict):
        raise ResponseInvalidError("Payfect answered something that is not a checkout", **_kw())
    checkout_id = _string(data, "id")
    status = _string(data, "status")
    if status not in CHECKOUT_STATUS:
        raise ResponseInvalidError(f"Unknown Payfect checkout status {status!r}", **_kw())
    currency = data.get("currency")
    if not isinstance(currency, str) or currency.lower() != crypto_currency:
        raise ResponseInvalidError(
            f"Payfect checkout {checkout_id} is in {currency!r}, not {crypto_currency!r}", **_kw()
        )
    amount = parse_amount(data.get("amountTotal"), "amountTotal")
    items = data.get("invoiceItems")
    if not isinstance(items, list) or not items:
        raise ResponseInvalidError(f"Payfect checkout {checkout_id} has no invoice items", **_kw())
    item_total = Money(0, SALE_CURRENCY)
    for item in items:
        if not isinstance(item, dict):
            raise ResponseInvalidError("Payfect invoice item is not an object", **_kw())
        item_total += parse_amount(item.get("amount"), "invoiceItems.amount")
    if item_total != amount:
        raise ResponseInvalidError(
            f"Payfect checkout {checkout_id} totals {amount.plain()} "
            f"but its items add up to {item_total.plain()}",
            **_kw(),
        )
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"Payfect checkout {checkout_id} is for {amount.plain()} {crypto_currency.upper()}, "
            f"not the {expected.plain()} asked for",
            **_kw(),
        )
    reference = data.get("clientReferenceId")
    if reference is not None and not isinstance(reference, str):
        raise ResponseInvalidError("Payfect clientReferenceId is not text", **_kw())
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or urlsplit(url).scheme not in _WEB):
        raise ResponseInvalidError(f"Payfect checkout url {url!r} is not a web address", **_kw())
    return CheckoutSession(
        provider_ref=checkout_id,
        state=CHECKOUT_STATUS[status],
        provider_status=status,
        amount=amount,
        reference=reference or None,
        hosted_url=url,
        expires_at=parse_expires_at(data.get("expiresAt")),
        # The payment is the paid checkout itself: its ref is the checkout id (see above).
        payment_ref=checkout_id if status == "complete" else None,
    )


def payment_from_checkout(data: Any, *, crypto_currency: str = "usdt") -> ProviderPayment:
    """A Payfect checkout as the payment it is, after every check of ``parse_checkout``."""
    session = parse_checkout(data, crypto_currency=crypto_currency)
    paid = session.state is PaymentState.CAPTURED
    intent = data.get("paymentIntent")
    if paid and (not isinstance(intent, str) or not intent):
        raise ResponseInvalidError(
            f"Payfect checkout {session.provider_ref} is complete without a paymentIntent",
            **_kw(),
        )
    zero = Money(0, SALE_CURRENCY)
    actions = (
        (PaymentAction("payment", str(intent), session.amount, approved=True),) if paid else ()
    )
    return ProviderPayment(
        provider_ref=session.provider_ref,
        state=session.state,
        provider_status=session.provider_status,
        amount=session.amount,
        captured=session.amount if paid else zero,
        refunded=zero,
        reference=session.reference,
        created_at=parse_created_at(data.get("createdAt")),
        actions=actions,
    )


_WEB = ("http", "https")


def parse_amount(value: Any, field: str) -> Money:
    """A Payfect decimal string (``"20.00"``) as USD Money; exact or refused."""
    if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value):
        raise ResponseInvalidError(
            f"Payfect field {field!r} is not a decimal amount: {value!r}", **_kw()
        )
    try:
        money = Money.from_decimal(Decimal(value), SALE_CURRENCY, exponent=PLACES)
    except MoneyError as exc:
        raise ResponseInvalidError(
            f"Payfect field {field!r} is unusable: {value!r} ({exc})", **_kw()
        ) from exc
    return money


def parse_created_at(value: Any) -> datetime | None:
    """``createdAt``: epoch seconds as text with a fraction (``"1690532072.288761"``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _EPOCH_S_RE.fullmatch(value):
        raise ResponseInvalidError(f"Payfect createdAt {value!r} is not a time", **_kw())
    try:
        return datetime.fromtimestamp(float(Decimal(value)), UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise ResponseInvalidError(f"Payfect createdAt {value!r} is not a time", **_kw()) from exc


def parse_expires_at(value: Any) -> datetime | None:
    """``expiresAt``: epoch milliseconds as text (``"1703939166000"``); the 2023 draft of the
    docs showed ISO-8601, which is accepted too. Absent means Payfect did not say."""
    if value is None:
        return None
    if isinstance(value, str) and _EPOCH_MS_RE.fullmatch(value):
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        except (OverflowError, ValueError, OSError) as exc:
            raise ResponseInvalidError(
                f"Payfect expiresAt {value!r} is not a time", **_kw()
            ) from exc
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise ResponseInvalidError(f"Payfect expiresAt {value!r} is not a time", **_kw())


def error_from_response(status: int, payload: Any, *, mutating: bool) -> ProviderError:
    """Map a non-2xx Payfect (Django REST Framework) answer onto the error tree.

    Bodies are ``{"detail": "…"}`` or, for 400, field-keyed messages (nested per item).
    Payfect has no idempotency keys, so a 5xx to a create may or may not have made a checkout.
    """
    message = _error_message(payload) or f"Payfect answered HTTP {status}"
    return error_for_status(status, message, provider=PROVIDER, mutating=mutating)


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        return str(payload["detail"])
    if isinstance(payload, dict | list):
        return "; ".join(_field_messages(payload, ""))
    return ""


def _field_messages(value: Any, path: str) -> list[str]:
    """``{"invoice_items": [{"price_data": {"unit_amount": ["m"]}}]}`` →
    ``["invoice_items.0.price_data.unit_amount: m"]``."""
    if isinstance(value, str):
        return [f"{path}: {value}" if path else value]
    if isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            name = path if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            found.extend(_field_messages(item, name))
        return found
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return [f"{path}: {item}" if path else str(item) for item in value]
        found = []
        for index, item in enumerate(value):
            found.extend(_field_messages(item, f"{path}.{index}" if path else str(index)))
        return found
    return []


# -- helpers ---------------------------------------------------------------------------------


def _kw() -> dict[str, Any]:
    return {"provider": PROVIDER}


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ResponseInvalidError(f"Payfect field {key!r} is missing or not text", **_kw())
    return value
