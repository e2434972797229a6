"""Checkout.com direct payments against the sandbox: charge, look up, capture, refund, void."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    NotSupportedError,
    OutcomeUnknownError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.types import (
    ActionResult,
    CaptureRequest,
    ChargeRequest,
    DeclineCode,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    SourceKind,
    VoidRequest,
)
from pos_sandbox.checkout_com.api import (
    SANDBOX_PROCESSING_CHANNEL,
    SANDBOX_PUBLIC_KEY,
    SANDBOX_SECRET_KEY,
)
from tests.integration.test_checkout_com_adapter import (
    Recorder,
    add_fault,
    control,
    no_retry_http,
    recording_http,
    with_provider,
)

if TYPE_CHECKING:
    from pos_app.providers.checkout_com.adapter import CheckoutComProvider
    from pos_sandbox.server import SandboxServer

APPROVE = "4242424242424242"
RETURN_URL = "https://pos-app.invalid/payment/return"


def card_token(sandbox: SandboxServer, number: str = APPROVE) -> str:
    """What Checkout.com's card fields (Frames) hand the till: a one-time ``tok_``."""
    answer = httpx.post(
        f"{sandbox.base_url}/checkout-com/tokens",
        json={"type": "card", "number": number, "expiry_month": 12, "expiry_year": 2040},
        headers={"Authorization": f"Bearer {SANDBOX_PUBLIC_KEY}"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def charge_request(
    sandbox: SandboxServer,
    number: str = APPROVE,
    *,
    minor: int = 1799,
    capture: bool = True,
    source: PaymentSource | None = None,
    **extra: Any,
) -> ChargeRequest:
    return ChargeRequest(
        reference=extra.pop("reference", None) or new_reference(),
        amount=Money(minor, "GBP"),
        description="Two coffees",
        idempotency_key=new_idempotency_key(),
        source=source or PaymentSource(SourceKind.TOKEN, card_token(sandbox, number)),
        capture=capture,
        **extra,
    )


def charge(sandbox: SandboxServer, asked: ChargeRequest) -> ProviderPayment:
    return with_provider(sandbox, lambda p: p.charge(asked))


def sandbox_payments(sandbox: SandboxServer, reference: str) -> list[dict[str, Any]]:
    """What the sandbox itself holds for a reference (not through the adapter)."""
    answer = httpx.get(
        f"{sandbox.base_url}/checkout-com/payments",
        params={"reference": reference, "limit": 100},
        headers={"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def posts_to(recorder: Recorder, suffix: str) -> list[httpx.Request]:
    return [r for r in recorder.requests if r.method == "POST" and r.url.path.endswith(suffix)]


def retrying_http(sandbox: SandboxServer, recorder: Recorder) -> ProviderHttpClient:
    return ProviderHttpClient(
        f"{sandbox.base_url}/checkout-com",
        provider="checkout_com",
        idempotency_header="Cko-Idempotency-Key",
        retry=RetryPolicy(max_attempts=3, base_delay=0.0),
        transport=recorder,
    )


def gbp(minor: int) -> Money:
    return Money(minor, "GBP")


# -- connection ------------------------------------------------------------------------------


def test_check_connection_proves_the_key_and_changes_nothing(sandbox: SandboxServer) -> None:
    recorder = Recorder()
    with_provider(sandbox, lambda p: p.check_connection(), http=recording_http(sandbox, recorder))
    [sent] = recorder.requests
    assert sent.method == "GET"
    assert sent.url.path.endswith("/payments")
    assert sent.url.params["reference"]  # Checkout.com requires one on payment lists
    with pytest.raises(AuthenticationError):
        with_provider(
            sandbox,
            lambda p: p.check_connection(),
            secret_key="sk_sbox_aaaaaaaaaaaaaaaaaaaaaaaaaaa",
        )


# -- charges ---------------------------------------------------------------------------------


def test_a_sale_is_charged_and_captured(sandbox: SandboxServer) -> None:
    asked = charge_request(sandbox)
    recorder = Recorder()
    paid = with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    assert paid.provider_ref.startswith("pay_")
    assert paid.state is PaymentState.CAPTURED
    assert paid.amount == paid.captured == gbp(1799)
    assert paid.refunded == gbp(0)
    assert paid.reference == asked.reference
    assert paid.card is not None
    assert (paid.card.brand, paid.card.last4) == ("VISA", "4242")
    assert paid.decline is None
    assert paid.action_url is None
    assert [(a.kind, a.amount, a.approved) for a in paid.actions] == [
        ("authorization", gbp(1799), True),
        ("capture", gbp(1799), True),
    ]
    [sent] = posts_to(recorder, "/payments")
    assert sent.headers["Cko-Idempotency-Key"] == asked.idempotency_key
    body = json.loads(sent.content)
    assert body["amount"] == 1799
    assert body["currency"] == "GBP"
    assert body["capture"] is True
    assert body["reference"] == asked.reference
    assert body["processing_channel_id"] == SANDBOX_PROCESSING_CHANNEL
    assert body["source"] == {"type": "token", "token": asked.source.value}
    assert "3ds" not in body  # no return URL given: nowhere for a challenge to come back to


def test_authorize_then_capture_in_full(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    assert held.state is PaymentState.AUTHORIZED
    assert held.captured == gbp(0)

    result = with_provider(
        sandbox,
        lambda p: p.capture(CaptureRequest(held.provider_ref, new_idempotency_key())),
    )
    assert result.action_ref.startswith("act_")
    assert result.payment.state is PaymentState.CAPTURED
    assert result.payment.captured == gbp(1799)
    assert result.action_ref in [a.provider_ref for a in result.payment.actions]


def test_partial_capture_takes_only_what_is_asked(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    result = with_provider(
        sandbox,
        lambda p: p.capture(
            CaptureRequest(held.provider_ref, new_idempotency_key(), amount=gbp(1000))
        ),
    )
    # Checkout.com says "Partially Captured", but a final capture leaves nothing to capture:
    # for us the capture is complete.
    assert result.payment.provider_status == "Partially Captured"
    assert result.payment.state is PaymentState.CAPTURED
    assert result.payment.captured == gbp(1000)
    # The authorization is closed: nothing more can be taken, and we know it without asking.
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match="nothing left to capture"):
        with_provider(
            sandbox,
            lambda p: p.capture(CaptureRequest(held.provider_ref, new_idempotency_key())),
            http=recording_http(sandbox, recorder),
        )
    assert posts_to(recorder, "/captures") == []


def test_a_non_final_partial_capture_leaves_the_rest_to_capture(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))

    async def body(provider: CheckoutComProvider) -> tuple[ActionResult, ActionResult]:
        first = await provider.capture(
            CaptureRequest(held.provider_ref, new_idempotency_key(), gbp(700), final=False)
        )
        rest = await provider.capture(CaptureRequest(held.provider_ref, new_idempotency_key()))
        return first, rest

    first, rest = with_provider(sandbox, body)
    assert (first.payment.state, first.payment.captured) == (
        PaymentState.PARTIALLY_CAPTURED,
        gbp(700),
    )
    assert (rest.payment.state, rest.payment.captured) == (PaymentState.CAPTURED, gbp(1799))
    captures = [a.amount for a in rest.payment.actions if a.kind == "capture"]
    assert captures == [gbp(700), gbp(1099)]


def test_capturing_more_than_authorized_is_refused_without_a_request(
    sandbox: SandboxServer,
) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match=r"17\.99 is still authorized"):
        with_provider(
            sandbox,
            lambda p: p.capture(
                CaptureRequest(held.provider_ref, new_idempotency_key(), amount=gbp(1800))
            ),
            http=recording_http(sandbox, recorder),
        )
    assert posts_to(recorder, "/captures") == []
    assert with_provider(sandbox, lambda p: p.get_payment(held.provider_ref)).captured == gbp(0)


def test_authorize_then_void(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    result = with_provider(
        sandbox,
        lambda p: p.void(VoidRequest(held.provider_ref, new_idempotency_key(), "customer left")),
    )
    assert result.payment.state is PaymentState.VOIDED
    assert result.payment.captured == gbp(0)
    assert [a.kind for a in result.payment.actions] == ["authorization", "void"]

    async def body(provider: CheckoutComProvider) -> None:
        with pytest.raises(InvalidRequestError, match="cannot be voided"):
            await provider.void(VoidRequest(held.provider_ref, new_idempotency_key()))
        with pytest.raises(InvalidRequestError, match="nothing left to capture"):
            await provider.capture(CaptureRequest(held.provider_ref, new_idempotency_key()))

    recorder = Recorder()
    with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert [r.method for r in recorder.requests] == ["GET", "GET"]


def test_a_captured_sale_cannot_be_voided(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    with pytest.raises(InvalidRequestError, match="cannot be voided"):
        with_provider(
            sandbox, lambda p: p.void(VoidRequest(paid.provider_ref, new_idempotency_key()))
        )


def test_sale_partial_refund_then_the_remainder(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))

    def refund(minor: int) -> RefundRequest:
        return RefundRequest(
            paid.provider_ref, gbp(minor), "spilt", new_idempotency_key(), new_reference()
        )

    first_ask, rest_ask = refund(500), refund(1299)
    recorder = Recorder()

    async def body(provider: CheckoutComProvider) -> tuple[ActionResult, ActionResult]:
        return await provider.refund(first_ask), await provider.refund(rest_ask)

    first, rest = with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert first.payment.state is PaymentState.PARTIALLY_REFUNDED
    assert first.payment.refunded == gbp(500)
    assert rest.payment.state is PaymentState.REFUNDED
    assert rest.payment.refunded == rest.payment.captured == gbp(1799)
    refunds = [a for a in rest.payment.actions if a.kind == "refund"]
    assert [(a.provider_ref, a.amount) for a in refunds] == [
        (first.action_ref, gbp(500)),
        (rest.action_ref, gbp(1299)),
    ]
    sent = [json.loads(r.content) for r in posts_to(recorder, "/refunds")]
    assert sent == [
        {"amount": 500, "reference": first_ask.reference, "metadata": {"reason": "spilt"}},
        {"amount": 1299, "reference": rest_ask.reference, "metadata": {"reason": "spilt"}},
    ]
    assert [r.headers["Cko-Idempotency-Key"] for r in posts_to(recorder, "/refunds")] == [
        first_ask.idempotency_key,
        rest_ask.idempotency_key,
    ]


def test_refunding_more_than_is_refundable_is_refused_without_a_request(
    sandbox: SandboxServer,
) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    with_provider(
        sandbox,
        lambda p: p.refund(
            RefundRequest(paid.provider_ref, gbp(1000), "", new_idempotency_key(), "R-1")
        ),
    )
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match=r"7\.99 is still refundable"):
        with_provider(
            sandbox,
            lambda p: p.refund(
                RefundRequest(paid.provider_ref, gbp(800), "", new_idempotency_key(), "R-2")
            ),
            http=recording_http(sandbox, recorder),
        )
    assert posts_to(recorder, "/refunds") == []
    assert with_provider(sandbox, lambda p: p.get_payment(paid.provider_ref)).refunded == gbp(1000)


def test_an_authorization_cannot_be_refunded(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    with pytest.raises(InvalidRequestError, match=r"0\.00 is still refundable"):
        with_provider(
            sandbox,
            lambda p: p.refund(
                RefundRequest(held.provider_ref, gbp(100), "", new_idempotency_key(), "R-1")
            ),
        )


def test_an_action_still_being_processed_is_reported_as_it_stands(
    sandbox: SandboxServer,
) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    control(sandbox, "checkout-com/settle", {"auto_settle": False})
    asked = RefundRequest(paid.provider_ref, gbp(1799), "", new_idempotency_key(), "R-1")
    result = with_provider(sandbox, lambda p: p.refund(asked))
    # Accepted, not yet done: the payment is not reported refunded before Checkout.com says so.
    assert result.payment.state is PaymentState.CAPTURED
    assert result.payment.refunded == gbp(0)
    assert result.action_ref not in [a.provider_ref for a in result.payment.actions]
    control(sandbox, "checkout-com/settle", {})
    later = with_provider(sandbox, lambda p: p.get_payment(paid.provider_ref))
    assert later.state is PaymentState.REFUNDED
    assert result.action_ref in [a.provider_ref for a in later.actions]


@pytest.mark.parametrize(
    ("card", "code", "provider_code"),
    [
        ("4544249167673670", DeclineCode.INSUFFICIENT_FUNDS, "20051"),
        ("4724117215951699", DeclineCode.EXPIRED_CARD, "20054"),
        ("4734868958733862", DeclineCode.INCORRECT_CVC, "200N7"),
        ("4556294593757189", DeclineCode.LIMIT_EXCEEDED, "20061"),
        ("4095254802642505", DeclineCode.TRY_AGAIN, "20068"),
        ("4024007103573027", DeclineCode.DECLINED, "20012"),
    ],
)
def test_declines_are_data_on_the_payment(
    sandbox: SandboxServer, card: str, code: DeclineCode, provider_code: str
) -> None:
    declined = charge(sandbox, charge_request(sandbox, card))
    assert declined.state is PaymentState.DECLINED
    assert declined.decline is not None
    assert (declined.decline.code, declined.decline.provider_code) == (code, provider_code)
    assert declined.captured == gbp(0)
    looked_up = with_provider(sandbox, lambda p: p.get_payment(declined.provider_ref))
    assert looked_up.state is PaymentState.DECLINED
    assert looked_up.decline == declined.decline
    assert [(a.kind, a.approved) for a in looked_up.actions] == [("authorization", False)]


def test_3ds_challenge_requires_action_at_a_page_the_customer_can_use(
    sandbox: SandboxServer,
) -> None:
    asked = charge_request(sandbox, success_url=RETURN_URL)
    pending = charge(sandbox, asked)
    assert pending.state is PaymentState.REQUIRES_ACTION
    assert pending.provider_status == "Pending"
    assert pending.amount == gbp(1799)
    assert pending.captured == gbp(0)
    assert pending.action_url is not None
    page = httpx.get(pending.action_url)
    assert page.status_code == 200
    assert "GBP 17.99" in page.text
    assert 'id="challenge-form"' in page.text

    session_id = pending.action_url.rsplit("/", 1)[1]
    answer = sandbox.control.request("POST", "checkout-com/pay", json={"session_id": session_id})
    assert answer.status_code == 200, answer.text
    assert answer.json()["redirect_url"].startswith(RETURN_URL + "?cko-session-id=sid_")

    async def body(provider: CheckoutComProvider) -> tuple[ProviderPayment, ProviderPayment]:
        by_id = await provider.get_payment(pending.provider_ref)
        return by_id, await provider.get_payment(session_id)

    by_id, by_session = with_provider(sandbox, body)
    assert by_id.state is PaymentState.CAPTURED
    assert by_id.action_url is None
    assert by_session == by_id


def test_a_failed_3ds_challenge_is_a_decline(sandbox: SandboxServer) -> None:
    pending = charge(sandbox, charge_request(sandbox, success_url=RETURN_URL))
    assert pending.action_url is not None
    session_id = pending.action_url.rsplit("/", 1)[1]
    answer = sandbox.control.request(
        "POST",
        "checkout-com/pay",
        json={"session_id": session_id, "outcome": "fail"},
    )
    assert answer.json()["redirect_url"].startswith(RETURN_URL + "?outcome=failure")
    failed = with_provider(sandbox, lambda p: p.get_payment(pending.provider_ref))
    assert failed.state is PaymentState.DECLINED
    assert failed.decline is not None
    assert failed.decline.provider_code == "20151"


def test_3ds_sends_our_return_urls(sandbox: SandboxServer) -> None:
    asked = charge_request(
        sandbox, success_url=RETURN_URL, failure_url="https://pos-app.invalid/failed"
    )
    recorder = Recorder()
    with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    body = json.loads(posts_to(recorder, "/payments")[0].content)
    assert body["3ds"] == {"enabled": True}
    assert body["success_url"] == RETURN_URL
    assert body["failure_url"] == "https://pos-app.invalid/failed"


def test_stored_source_and_saved_customer_can_be_charged(sandbox: SandboxServer) -> None:
    # A first payment with a customer saves the card as a source and as their default.
    first = httpx.post(
        f"{sandbox.base_url}/checkout-com/payments",
        json={
            "source": {"type": "token", "token": card_token(sandbox, "5436031030606378")},
            "amount": 100,
            "currency": "GBP",
            "customer": {"email": "regular@example.com"},
        },
        headers={"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"},
    ).json()
    source_id, customer_id = first["source"]["id"], first["customer"]["id"]

    by_source = charge(
        sandbox, charge_request(sandbox, source=PaymentSource(SourceKind.STORED_SOURCE, source_id))
    )
    by_customer = charge(
        sandbox, charge_request(sandbox, source=PaymentSource(SourceKind.CUSTOMER, customer_id))
    )
    for paid in (by_source, by_customer):
        assert paid.state is PaymentState.CAPTURED
        assert paid.card is not None
        assert paid.card.last4 == "6378"


def test_find_payment_by_our_reference(sandbox: SandboxServer) -> None:
    reference = new_reference()
    assert with_provider(sandbox, lambda p: p.find_payment(reference)) is None
    declined = charge(sandbox, charge_request(sandbox, "4544249167673670", reference=reference))
    found = with_provider(sandbox, lambda p: p.find_payment(reference))
    assert found is not None
    assert found.provider_ref == declined.provider_ref
    assert found.state is PaymentState.DECLINED
    assert found.decline is not None

    paid = charge(sandbox, charge_request(sandbox, reference=reference))
    found = with_provider(sandbox, lambda p: p.find_payment(reference))
    assert found is not None
    assert found.provider_ref == paid.provider_ref
    assert found.state is PaymentState.CAPTURED


def test_a_payment_retried_after_a_lost_answer_is_made_once(sandbox: SandboxServer) -> None:
    add_fault(sandbox, method="POST", path="/checkout-com/payments", kind="reset_after")
    asked = charge_request(sandbox)
    recorder = Recorder()
    paid = with_provider(sandbox, lambda p: p.charge(asked), http=retrying_http(sandbox, recorder))
    assert paid.state is PaymentState.CAPTURED
    # Sent twice with one key; Checkout.com answered the repeat with the first payment.
    sent = posts_to(recorder, "/payments")
    assert [r.headers["Cko-Idempotency-Key"] for r in sent] == [asked.idempotency_key] * 2
    [only] = sandbox_payments(sandbox, asked.reference)
    assert only["id"] == paid.provider_ref


def test_a_refund_retried_after_a_lost_answer_is_made_once(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    add_fault(sandbox, method="POST", path="/checkout-com/payments/*/refunds", kind="reset_after")
    asked = RefundRequest(paid.provider_ref, gbp(500), "", new_idempotency_key(), "R-1")
    recorder = Recorder()
    result = with_provider(
        sandbox, lambda p: p.refund(asked), http=retrying_http(sandbox, recorder)
    )
    assert len(posts_to(recorder, "/refunds")) == 2
    assert result.payment.refunded == gbp(500)
    assert [a.amount for a in result.payment.actions if a.kind == "refund"] == [gbp(500)]


def test_a_payment_whose_answer_is_lost_without_retries_is_in_doubt(
    sandbox: SandboxServer,
) -> None:
    add_fault(sandbox, method="POST", path="/checkout-com/payments", kind="status", status=502)
    with pytest.raises(OutcomeUnknownError) as caught:
        with_provider(
            sandbox, lambda p: p.charge(charge_request(sandbox)), http=no_retry_http(sandbox)
        )
    assert caught.value.maybe_applied


def test_charges_the_account_cannot_take_are_refused_before_sending(
    sandbox: SandboxServer,
) -> None:
    token = PaymentSource(SourceKind.TOKEN, "tok_notsentnotsentnotsentnotse")

    async def body(provider: CheckoutComProvider) -> None:
        with pytest.raises(ConfigurationError):
            await provider.charge(ChargeRequest("S-1", Money(100, "EUR"), "x", "k", token))
        with pytest.raises(InvalidRequestError):
            await provider.charge(ChargeRequest("S-1", gbp(0), "x", "k", token))
        with pytest.raises(NotSupportedError):
            await provider.charge(
                ChargeRequest("S-1", gbp(100), "x", "k", token, checkout_ref="hpp_x")
            )
        with pytest.raises(NotSupportedError):
            await provider.embedded_checkout("hpp_x")

    recorder = Recorder()
    with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert recorder.requests == []
