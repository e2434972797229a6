"""Checkout.com Payment Links (pay by QR code) against the sandbox."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.types import CheckoutMode, CheckoutRequest, CheckoutSession, DeclineCode
from pos_sandbox.checkout_com.api import SANDBOX_PROCESSING_CHANNEL
from tests.integration.test_checkout_com_adapter import (
    Recorder,
    control,
    recording_http,
    with_provider,
)

if TYPE_CHECKING:
    from pos_app.providers.checkout_com.adapter import CheckoutComProvider
    from pos_sandbox.server import SandboxServer


def link_request(minor: int = 2450) -> CheckoutRequest:
    return CheckoutRequest(
        reference=new_reference(),
        amount=Money(minor, "GBP"),
        description="Birthday cake",
        idempotency_key=new_idempotency_key(),
        mode=CheckoutMode.LINK,
    )


def create(sandbox: SandboxServer, asked: CheckoutRequest) -> CheckoutSession:
    return with_provider(sandbox, lambda p: p.create_checkout(asked))


def get(sandbox: SandboxServer, provider_ref: str) -> CheckoutSession:
    return with_provider(sandbox, lambda p: p.get_checkout(provider_ref))


def customer_pays(sandbox: SandboxServer, link_id: str, card: str) -> dict[str, Any]:
    """What the customer does on the link's page on their phone, headlessly."""
    answer = sandbox.control.request(
        "POST", "checkout-com/pay", json={"link_id": link_id, "card": card}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_create_then_get_a_payment_link(sandbox: SandboxServer) -> None:
    asked = link_request()
    recorder = Recorder()

    async def body(provider: CheckoutComProvider) -> tuple[CheckoutSession, CheckoutSession]:
        created = await provider.create_checkout(asked)
        return created, await provider.get_checkout(created.provider_ref)

    created, looked_up = with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert created.provider_ref.startswith("pl_")
    assert created.state is PaymentState.PENDING
    assert created.provider_status == "Active"
    assert created.amount == Money(2450, "GBP")
    assert created.reference == asked.reference
    assert created.hosted_url == f"{sandbox.base_url}/checkout-com/link/{created.provider_ref}"
    assert created.expires_at is not None  # a link says when it lapses (a day by default)
    assert looked_up == created
    [post] = [r for r in recorder.requests if r.method == "POST"]
    assert post.url.path.endswith("/payment-links")
    assert json.loads(post.content) == {
        "amount": 2450,
        "currency": "GBP",
        "reference": asked.reference,
        "description": "Birthday cake",
        "billing": {"address": {"country": "GB"}},
        "processing_channel_id": SANDBOX_PROCESSING_CHANNEL,
        "capture": True,
    }


def test_the_link_serves_the_customer_a_page(sandbox: SandboxServer) -> None:
    created = create(sandbox, link_request())
    assert created.hosted_url is not None
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "GBP 24.50" in page.text
    assert "Birthday cake" in page.text


def test_a_paid_link_is_captured_with_its_card(sandbox: SandboxServer) -> None:
    created = create(sandbox, link_request())
    paid = customer_pays(sandbox, created.provider_ref, "5436031030606378")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.CAPTURED
    assert session.provider_status == "Payment Received"
    assert session.payment_ref == paid["payment_id"]
    assert session.card is not None
    assert (session.card.brand, session.card.last4) == (
        "MASTERCARD",
        "6378",
    )
    # The payment behind the link is an ordinary payment: it can be refunded like any other.
    payment = with_provider(sandbox, lambda p: p.get_payment(paid["payment_id"]))
    assert payment.captured == Money(2450, "GBP")


def test_a_declined_card_on_a_link_is_a_decline_as_data(sandbox: SandboxServer) -> None:
    created = create(sandbox, link_request())
    customer_pays(sandbox, created.provider_ref, "4544249167673670")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.DECLINED
    assert session.provider_status == "Active"  # the customer may still try another card
    assert session.decline is not None
    assert session.decline.code is DeclineCode.INSUFFICIENT_FUNDS
    customer_pays(sandbox, created.provider_ref, "4242424242424242")
    assert get(sandbox, created.provider_ref).state is PaymentState.CAPTURED


def test_an_unpaid_link_expires(sandbox: SandboxServer) -> None:
    created = create(sandbox, link_request())
    control(sandbox, "clock/advance", {"seconds": 24 * 3600})
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.EXPIRED
    assert session.provider_status == "Expired"


def test_a_paid_link_is_found_by_our_reference(sandbox: SandboxServer) -> None:
    asked = link_request()
    created = create(sandbox, asked)
    paid = customer_pays(sandbox, created.provider_ref, "4242424242424242")
    found = with_provider(sandbox, lambda p: p.find_checkout(asked.reference))
    assert found is not None
    assert found.payment_ref == paid["payment_id"]
    assert found.state is PaymentState.CAPTURED
