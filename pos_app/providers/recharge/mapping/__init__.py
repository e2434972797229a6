"""ReCharge payloads to and from our types. Pure: no I/O, testable on recorded payloads.

ReCharge has no checkout *status* field: a checkout is open until ``completed_at`` (and, with
it, ``charge_id``) is set. ``CHECKOUT_STATE`` maps every combination; one that contradicts
itself is a ResponseInvalidError, never a guess.

Amounts are decimal strings (``"17.99"``); they are converted to and from integer minor units
with ``Decimal`` only, and a string we cannot convert exactly is a ResponseInvalidError.

Two API versions (``X-Recharge-Version``) differ in the fields we touch:

=================  ======================  ==============================
                   2021-01                 2021-11
=================  ======================  ==============================
line item price    ``price``               ``unit_price``
our reference      ``note_attributes``     ``order_attributes``
shipping chosen    ``shipping_line``       ``applied_shipping_rate``
=================  ======================  ==============================
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pos_app.domain.currencies import is_currency
from pos_app.domain.money import Money, MoneyError
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    ConfigurationError,
    ProviderError,
    ResponseInvalidError,
    error_for_status,
)
from pos_app.providers.types import CheckoutRequest, CheckoutSession

PROVIDER: Final = "recharge"
API_VERSIONS: Final = ("2021-01", "2021-11")
REFERENCE_ATTRIBUTE: Final = "pos_reference"

# Leaky bucket (PROVIDERS.md §3.1): 40 calls, 2 leak away per second.
BUCKET_LEAK_PER_SECOND: Final = 2.0
DEFAULT_RATE_LIMIT_WAIT: Final = 1.0

# (completed_at set, charge_id set) -> our state. ReCharge charges a checkout once; a declined
# charge (HTTP 402 to the charge call) leaves the checkout open with neither field set, so a
# declined attempt reads as PENDING here: the customer may still pay with another card.
CHECKOUT_STATE: Final[dict[tuple[bool, bool], PaymentState | None]] = {
    (False, False): PaymentState.PENDING,
    (True, True): PaymentState.CAPTURED,
    # Contradictions: a charge without completion, or completion without a charge we can verify.
    (False, True): None,
    (True, False): None,
}

_DECIMAL_RE: Final = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,16})?")
_RATE_LIMIT_RE: Final = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*")
_SECONDS_RE: Final = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")


def attributes_key(version: str) -> str:
    return "note_attributes" if version == "2021-01" else "order_attributes"


def price_key(version: str) -> str:
    return "price" if version == "2021-01" else "unit_price"


def shipping_key(version: str) -> str:
    return "shipping_line" if version == "2021-01" else "applied_shipping_rate"


# -- amounts -------------------------------------------------------------------------------


def decimal_string(amount: Money) -> str:
    """``Money(1799, "USD")`` -> ``"17.99"``; exact, no float anywhere."""
    return amount.plain()


def money_from(value: Any, currency: str, field: str) -> Money:
    """A ReCharge decimal string as Money, exactly; anything else is ResponseInvalidError."""
    if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value):
        raise ResponseInvalidError(
            f"ReCharge field {field!r} is not a decimal amount: {value!r}", provider=PROVIDER
        )
    try:
        return Money.from_decimal(Decimal(value), currency)
    except (MoneyError, InvalidOperation) as exc:
        raise ResponseInvalidError(
            f"ReCharge field {field!r} is not an exact {currency} amount: {value!r} ({exc})",
            provider=PROVIDER,
        ) from exc


# -- requests ------------------------------------------------------------------------------


def build_checkout_body(
    request: CheckoutRequest, *, version: str, email: str | None
) -> dict[str, Any]:
    """One line item for the whole sale, our reference kept as a note/order attribute.

    ``requires_shipping`` and ``taxable`` are false: a point-of-sale amount is the final
    total, handed over at the counter; ReCharge must add neither shipping nor tax to it.
    """
    line_item: dict[str, Any] = {
        "title": request.description,
        price_key(version): decimal_string(request.amount),
        "quantity": 1,
        "requires_shipping": False,
        "taxable": False,
    }
    if version == "2021-11":
        line_item["purchase_item_type"] = "onetime"
    body: dict[str, Any] = {
        "line_items": [line_item],
        "currency": request.amount.currency,
        attributes_key(version): [{"name": REFERENCE_ATTRIBUTE, "value": request.reference}],
    }
    if email:
        body["email"] = email
    return body


# -- responses -----------------------------------------------------------------------------


def unwrap(payload: Any) -> dict[str, Any]:
    """The ``checkout`` of a ``{"checkout": {...}}`` answer."""
    if not isinstance(payload, dict) or not isinstance(payload.get("checkout"), dict):
        raise ResponseInvalidError("ReCharge answered without a checkout", provider=PROVIDER)
    data: dict[str, Any] = payload["checkout"]
    return data


def parse_checkout(
    data: dict[str, Any],
    *,
    version: str,
    currency: str,
    hosted_url: str | None,
    expected: Money | None = None,
) -> CheckoutSession:
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise ResponseInvalidError("ReCharge checkout has no token", provider=PROVIDER)
    reported_currency = data.get("currency")
    if reported_currency != currency and not is_currency(reported_currency):
        raise ResponseInvalidError(
            f"ReCharge checkout {token} is in {reported_currency!r}, not {currency}",
            provider=PROVIDER,
        )
    # Another real currency is reported as it is: PaymentService holds it against the sale.
    amount = _verified_total(data, version, str(reported_currency))
    if expected is not None and amount != expected:
        raise ResponseInvalidError(
            f"ReCharge checkout {token} is for {amount.plain()} {amount.currency}, "
            f"not the {expected.plain()} {expected.currency} asked for",
            provider=PROVIDER,
        )
    completed_at = data.get("completed_at")
    if completed_at is not None and (not isinstance(completed_at, str) or not completed_at):
        raise ResponseInvalidError(
            f"ReCharge completed_at is not a time: {completed_at!r}", provider=PROVIDER
        )
    charge_id = data.get("charge_id")
    if charge_id is not None and (
        isinstance(charge_id, bool) or not isinstance(charge_id, int | str) or charge_id == ""
    ):
        raise ResponseInvalidError(
            f"ReCharge charge_id is not an id: {charge_id!r}", provider=PROVIDER
        )
    completed, charged = completed_at is not None, charge_id is not None
    state = CHECKOUT_STATE[(completed, charged)]
    if state is None:
        raise ResponseInvalidError(
            f"ReCharge checkout {token} contradicts itself: completed_at={completed_at!r}, "
            f"charge_id={charge_id!r}",
            provider=PROVIDER,
        )
    return CheckoutSession(
        provider_ref=token,
        state=state,
        provider_status="completed" if completed else "open",
        amount=amount,
        reference=reference_of(data, version),
        hosted_url=hosted_url,
        expires_at=None,  # ReCharge publishes no checkout lifetime
        # The payment is the charged checkout itself (see charges.py): its ref is the token.
        payment_ref=token if charged else None,
        decline=None,  # a decline is only in the 402 answer to the charge call
        card=None,  # a checkout carries no card details
        attempts=1 if charged else 0,
    )


def reference_of(data: dict[str, Any], version: str) -> str | None:
    key = attributes_key(version)
    attributes = data.get(key)
    if attributes is None:
        return None
    if not isinstance(attributes, list):
        raise ResponseInvalidError(f"ReCharge {key} is not a list", provider=PROVIDER)
    for attribute in attributes:
        if isinstance(attribute, dict) and attribute.get("name") == REFERENCE_ATTRIBUTE:
            value = attribute.get("value")
            return str(value) if value else None
    return None


def _verified_total(data: dict[str, Any], version: str, currency: str) -> Money:
    """``total_price``, after checking it adds up from the line items, tax and shipping."""
    total = money_from(data.get("total_price"), currency, "total_price")
    subtotal = money_from(data.get("subtotal_price"), currency, "subtotal_price")
    tax = money_from(data.get("total_tax"), currency, "total_tax")
    items = data.get("line_items")
    if not isinstance(items, list) or not items:
        raise ResponseInvalidError("ReCharge checkout has no line items", provider=PROVIDER)
    lines = Money(0, currency)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ResponseInvalidError("ReCharge line item is not an object", provider=PROVIDER)
        field = f"line_items[{index}].{price_key(version)}"
        price = money_from(item.get(price_key(version)), currency, field)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ResponseInvalidError(
                f"ReCharge line item quantity is unusable: {quantity!r}", provider=PROVIDER
            )
        lines += Money(price.minor * quantity, currency)
    shipping = Money(0, currency)
    rate = data.get(shipping_key(version))
    if rate is not None:
        if not isinstance(rate, dict):
            raise ResponseInvalidError(
                f"ReCharge {shipping_key(version)} is not an object", provider=PROVIDER
            )
        shipping = money_from(rate.get("price"), currency, f"{shipping_key(version)}.price")
    taxes_included = data.get("taxes_included", False)
    if not isinstance(taxes_included, bool):
        raise ResponseInvalidError("ReCharge taxes_included is not a boolean", provider=PROVIDER)
    added_tax = Money(0, currency) if taxes_included else tax
    if lines != subtotal or subtotal + added_tax + shipping != total:
        raise ResponseInvalidError(
            f"ReCharge checkout totals do not add up: items {lines.plain()}, subtotal "
            f"{subtotal.plain()}, tax {tax.plain()}, shipping {shipping.plain()}, "
            f"total {total.plain()}",
            provider=PROVIDER,
        )
    return total


# -- rate limit ----------------------------------------------------------------------------


def parse_rate_limit(header: str | None) -> tuple[int, int] | None:
    """``X-Recharge-Limit: 12/40`` -> ``(12, 40)``; None when absent or unreadable."""
    if header is None:
        return None
    match = _RATE_LIMIT_RE.fullmatch(header)
    if match is None or int(match.group(2)) == 0:
        return None
    return int(match.group(1)), int(match.group(2))


def rate_limit_delay(retry_after: str | None, limit: tuple[int, int] | None) -> float:
    """Seconds to wait after a 429: ``Retry-After`` if given, else what the bucket implies."""
    if retry_after is not None and _SECONDS_RE.fullmatch(retry_after.strip()):
        return float(retry_after.strip())
    if limit is not None:
        used, capacity = limit
        return max((used + 1 - capacity) / BUCKET_LEAK_PER_SECOND, 1 / BUCKET_LEAK_PER_SECOND)
    return DEFAULT_RATE_LIMIT_WAIT


# -- errors --------------------------------------------------------------------------------


def error_message(payload: Any) -> tuple[str | None, str | None]:
    """(message, provider_code) from ``{"errors": "..."}``, ``{"errors": {field: [..]}}``
    or ``{"error": "..."}``; the code is the first field named, when there is one."""
    if not isinstance(payload, dict):
        return None, None
    errors = payload.get("errors", payload.get("error"))
    if isinstance(errors, str) and errors:
        return errors, None
    if isinstance(errors, dict) and errors:
        parts = []
        for field, messages in errors.items():
            if isinstance(messages, list):
                text = ", ".join(str(m) for m in messages)
            else:
                text = str(messages)
            parts.append(f"{field}: {text}")
        return "; ".join(parts), str(next(iter(errors)))
    if isinstance(errors, list) and errors:
        return "; ".join(str(e) for e in errors), None
    return None, None


def error_from_response(status: int, payload: Any, *, mutating: bool) -> ProviderError:
    """Map a non-2xx ReCharge answer onto the error tree.

    402 (a declined charge) is InvalidRequestError here; the charge call turns its 402 into a
    Decline (charges.py) before this is reached.
    """
    message, code = error_message(payload)
    text = message or f"ReCharge answered HTTP {status}"
    return error_for_status(
        status,
        text,
        provider=PROVIDER,
        mutating=mutating,
        provider_code=code,
        # The X-Recharge-Version of the profile is not one ReCharge serves.
        special={426: ConfigurationError},
    )
