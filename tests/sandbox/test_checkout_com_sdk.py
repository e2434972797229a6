"""Checkout.com's own Python SDK (checkout-sdk) runs against the sandbox unmodified.

If the provider's official client cannot tell the sandbox from Checkout.com on these
operations, neither can ours.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pytest
from checkout_sdk.checkout_sdk import CheckoutSdk
from checkout_sdk.environment import Environment
from checkout_sdk.exception import CheckoutApiException
from checkout_sdk.payments.payments import (
    CaptureRequest,
    PaymentRequest,
    PaymentRequestTokenSource,
    RefundRequest,
    VoidRequest,
)
from checkout_sdk.tokens.tokens import CardTokenRequest

from pos_sandbox.checkout_com.api import SANDBOX_PUBLIC_KEY, SANDBOX_SECRET_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pos_sandbox.server import SandboxServer


@pytest.fixture
def sdk(sandbox: SandboxServer) -> Iterator[Any]:
    base = f"{sandbox.base_url}/checkout-com/"
    environment = Environment(base, base, base, base, base, base, base, True)
    # The SDK warns about its own deprecations while it is built (use_legacy_domain, the
    # documented way to reach a custom host, and its Risk module); those are not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return (
            CheckoutSdk.builder()
            .secret_key(SANDBOX_SECRET_KEY)
            .public_key(SANDBOX_PUBLIC_KEY)
            .environment(environment)
            .use_legacy_domain()
            .build()
        )


def authorize(sdk: Any, amount: int, number: str = "4242424242424242", **fields: Any) -> Any:
    card = CardTokenRequest()
    card.number, card.expiry_month, card.expiry_year, card.cvv = number, 12, 2040, "100"
    source = PaymentRequestTokenSource()
    source.token = sdk.tokens.request_card_token(card).token
    request = PaymentRequest()
    request.source, request.amount, request.currency = source, amount, "GBP"
    request.reference, request.capture = "POS-SDK-1", False
    for name, value in fields.items():
        setattr(request, name, value)
    return sdk.payments.request_payment(request, f"idem-{number}-{amount}")


def test_authorize_partial_capture_refund_through_the_official_sdk(sdk: Any) -> None:
    payment = authorize(sdk, 1000)
    assert (payment.http_metadata.status_code, payment.status, payment.approved) == (
        201,
        "Authorized",
        True,
    )

    capture = CaptureRequest()
    capture.amount = 400
    assert sdk.payments.capture_payment(payment.id, capture).http_metadata.status_code == 202
    refund = RefundRequest()
    refund.amount = 100
    assert sdk.payments.refund_payment(payment.id, refund).http_metadata.status_code == 202

    details = sdk.payments.get_payment_details(payment.id)
    assert (
        details.balances.total_captured,
        details.balances.total_refunded,
        details.balances.available_to_refund,
    ) == (400, 100, 300)
    actions = sdk.payments.get_payment_actions(payment.id)
    assert [action.type for action in actions.items] == ["Refund", "Capture", "Authorization"]


def test_void_and_a_replayed_idempotency_key_through_the_official_sdk(sdk: Any) -> None:
    first = authorize(sdk, 700)
    replay = authorize(sdk, 700)  # same key: the provider replays, no second payment
    assert replay.id == first.id
    assert sdk.payments.void_payment(first.id, VoidRequest()).http_metadata.status_code == 202
    assert sdk.payments.get_payment_details(first.id).status == "Voided"


def test_declines_and_errors_reach_the_sdk_as_checkout_com_reports_them(sdk: Any) -> None:
    declined = authorize(sdk, 1200, number="4544249167673670")  # insufficient funds card
    assert (declined.http_metadata.status_code, declined.approved, declined.status) == (
        201,
        False,
        "Declined",
    )
    with pytest.raises(CheckoutApiException) as caught:
        sdk.payments.request_payment(PaymentRequest())
    assert caught.value.http_metadata.status_code == 422
    assert caught.value.error_type == "request_invalid"
    assert "payment_source_required" in caught.value.error_details
