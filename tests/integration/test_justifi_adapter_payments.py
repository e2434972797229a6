"""JustiFi payments against the sandbox: charge, checkout completion, capture, refund, void."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    OutcomeUnknownError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.justifi import payments as payments_module
from pos_app.providers.types import (
    ActionResult,
    Capability,
    CaptureRequest,
    ChargeRequest,
    DeclineCode,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    SourceKind,
    VoidRequest,
)
from tests.integration.test_justifi_adapter import (
    Recorder,
    add_fault,
    advance_clock,
    card_token,
    platform_headers,
    recording_http,
    request,
    with_provider,
)

if TYPE_CHECKING:
    from pos_app.providers.justifi.adapter import JustifiProvider
    from pos_sandbox.server import SandboxServer

APPROVE = "4242424242424242"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def charge_request(
    sandbox: SandboxServer,
    card: str = APPROVE,
    *,
    minor: int = 1799,
    capture: bool = True,
    **extra: Any,
) -> ChargeRequest:
    return ChargeRequest(
        reference=extra.pop("reference", None) or new_reference(),
        amount=usd(minor),
        description="Two coffees",
        idempotency_key=new_idempotency_key(),
        source=extra.pop("source", None)
        or PaymentSource(SourceKind.TOKEN, card_token(sandbox, card)),
        capture=capture,
        **extra,
    )


def charge(sandbox: SandboxServer, asked: ChargeRequest) -> ProviderPayment:
    return with_provider(sandbox, lambda p: p.charge(asked))


def sandbox_payments(sandbox: SandboxServer, reference: str) -> list[dict[str, Any]]:
    """The payments the sandbox holds for our reference (read beside the adapter)."""
    answer = httpx.get(
        f"{sandbox.base_url}/justifi/v1/payments",
        params={"limit": 100},
        headers=platform_headers(sandbox),
    )
    assert answer.status_code == 200, answer.text
    return [
        p
        for p in answer.json()["data"]
        if (p.get("metadata") or {}).get("pos_reference") == reference
    ]


def sandbox_payment(sandbox: SandboxServer, payment_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{sandbox.base_url}/justifi/v1/payments/{payment_id}", headers=platform_headers(sandbox)
    )
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def refund_request(payment_ref: str, minor: int, reason: str = "customer_request") -> RefundRequest:
    return RefundRequest(payment_ref, usd(minor), reason, new_idempotency_key(), new_reference())


def authorized(sandbox: SandboxServer, minor: int = 1799) -> ProviderPayment:
    payment = charge(sandbox, charge_request(sandbox, minor=minor, capture=False))
    assert payment.state is PaymentState.AUTHORIZED
    return payment


# -- direct charges --------------------------------------------------------------------------


def test_a_direct_charge_is_captured_and_can_be_found_again(sandbox: SandboxServer) -> None:
    asked = charge_request(sandbox)
    paid = charge(sandbox, asked)
    assert paid.provider_ref.startswith("py_")
    assert paid.state is PaymentState.CAPTURED
    assert paid.amount == paid.captured == usd(1799)
    assert paid.refunded == usd(0)
    assert paid.reference == asked.reference
    assert paid.card is not None
    assert paid.card.last4 == "4242"
    assert [a.kind for a in paid.actions] == ["authorization", "capture"]

    looked_up = with_provider(sandbox, lambda p: p.get_payment(paid.provider_ref))
    assert looked_up == paid
    found = with_provider(sandbox, lambda p: p.find_payment(asked.reference))
    assert found is not None
    assert found.provider_ref == paid.provider_ref


@pytest.mark.parametrize(
    ("card", "code", "provider_code"),
    [
        ("4000000000000002", DeclineCode.DECLINED, "generic_decline"),
        ("4000000000009995", DeclineCode.INSUFFICIENT_FUNDS, "insufficient_funds"),
        ("4000000000009987", DeclineCode.LOST_OR_STOLEN, "lost_card"),
        ("4000000000009979", DeclineCode.LOST_OR_STOLEN, "stolen_card"),
        ("4000000000000069", DeclineCode.EXPIRED_CARD, "expired_card"),
        ("4000000000000127", DeclineCode.INCORRECT_CVC, "invalid_cvc"),
        ("4000000000000119", DeclineCode.PROCESSING_ERROR, "gateway_error"),
        ("4000000000000341", DeclineCode.DECLINED, "do_not_honor"),
    ],
)
def test_declined_direct_charges_are_data(
    sandbox: SandboxServer, card: str, code: DeclineCode, provider_code: str
) -> None:
    asked = charge_request(sandbox, card)
    declined = charge(sandbox, asked)
    assert declined.state is PaymentState.DECLINED
    assert declined.decline is not None
    assert declined.decline.code is code
    assert declined.decline.provider_code == provider_code
    assert declined.captured == usd(0)
    # The failed payment JustiFi keeps can be looked up, though its 402 gave no id.
    [kept] = sandbox_payments(sandbox, asked.reference)
    assert declined.provider_ref == kept["id"]
    looked_up = with_provider(sandbox, lambda p: p.get_payment(declined.provider_ref))
    assert looked_up.state is PaymentState.DECLINED


def test_a_charge_retried_after_a_lost_answer_is_made_once(sandbox: SandboxServer) -> None:
    add_fault(sandbox, method="POST", path="/justifi/v1/payments", kind="reset_after", times=1)
    asked = charge_request(sandbox)
    recorder = Recorder()
    paid = with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    assert paid.state is PaymentState.CAPTURED
    # Sent twice with one key; JustiFi replayed the first answer instead of charging again.
    sent = [r for r in recorder.requests if r.method == "POST" and r.url.path.endswith("/payments")]
    assert len(sent) == 2
    assert {r.headers["Idempotency-Key"] for r in sent} == {asked.idempotency_key}
    [only] = sandbox_payments(sandbox, asked.reference)
    assert only["id"] == paid.provider_ref


def test_every_charge_carries_its_idempotency_key_and_sub_account(sandbox: SandboxServer) -> None:
    asked = charge_request(sandbox)
    recorder = Recorder()
    with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    [sent] = [r for r in recorder.requests if r.url.path.endswith("/v1/payments")]
    assert sent.headers["Idempotency-Key"] == asked.idempotency_key
    assert sent.headers["Sub-Account"] == "acc_SandboxStore0001"


def test_a_customer_source_is_not_supported_and_nothing_is_sent(sandbox: SandboxServer) -> None:
    asked = charge_request(sandbox, source=PaymentSource(SourceKind.CUSTOMER, "cust_1"))
    recorder = Recorder()
    with pytest.raises(NotSupportedError):
        with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    assert recorder.requests == []


def test_a_charge_in_another_currency_is_refused(sandbox: SandboxServer) -> None:
    asked = charge_request(sandbox)
    euros = ChargeRequest(
        asked.reference, Money(1799, "EUR"), "x", asked.idempotency_key, asked.source
    )
    with pytest.raises(ConfigurationError):
        charge(sandbox, euros)


def test_find_payment_reads_past_the_first_page(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = charge_request(sandbox)
    paid = charge(sandbox, first)
    for _ in range(4):
        charge(sandbox, charge_request(sandbox, minor=999))
    monkeypatch.setattr(payments_module, "PAGE_SIZE", 2)
    found = with_provider(sandbox, lambda p: p.find_payment(first.reference))
    assert found is not None
    assert found.provider_ref == paid.provider_ref
    assert with_provider(sandbox, lambda p: p.find_payment("S-20260101-NOTHER")) is None


def test_an_unknown_payment_is_not_found(sandbox: SandboxServer) -> None:
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_payment("py_doesnotexist"))


# -- completing a checkout through the API ----------------------------------------------------


def test_completing_a_checkout_with_a_token_pays_it(sandbox: SandboxServer) -> None:
    asked_checkout = request()

    async def body(provider: JustifiProvider) -> tuple[ProviderPayment, Any, Any]:
        created = await provider.create_checkout(asked_checkout)
        paid = await provider.charge(
            ChargeRequest(
                reference=asked_checkout.reference,
                amount=asked_checkout.amount,
                description=asked_checkout.description,
                idempotency_key=new_idempotency_key(),
                source=PaymentSource(SourceKind.TOKEN, card_token(sandbox)),
                checkout_ref=created.provider_ref,
            )
        )
        session = await provider.get_checkout(created.provider_ref)
        found = await provider.find_payment(asked_checkout.reference)
        return paid, session, found

    paid, session, found = with_provider(sandbox, body)
    assert paid.state is PaymentState.CAPTURED
    assert paid.captured == usd(1799)
    assert paid.reference == asked_checkout.reference
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == paid.provider_ref
    assert found is not None
    assert found.provider_ref == paid.provider_ref


def test_a_declined_checkout_completion_is_data(sandbox: SandboxServer) -> None:
    asked_checkout = request()

    async def body(provider: JustifiProvider) -> tuple[ProviderPayment, Any]:
        created = await provider.create_checkout(asked_checkout)
        declined = await provider.charge(
            ChargeRequest(
                reference=asked_checkout.reference,
                amount=asked_checkout.amount,
                description=asked_checkout.description,
                idempotency_key=new_idempotency_key(),
                source=PaymentSource(SourceKind.TOKEN, card_token(sandbox, "4000000000009995")),
                checkout_ref=created.provider_ref,
            )
        )
        return declined, await provider.get_checkout(created.provider_ref)

    declined, session = with_provider(sandbox, body)
    assert declined.state is PaymentState.DECLINED
    assert declined.decline is not None
    assert declined.decline.code is DeclineCode.INSUFFICIENT_FUNDS
    assert declined.provider_ref.startswith("py_")
    assert session.state is PaymentState.DECLINED


def test_completing_a_checkout_for_another_amount_is_refused_before_sending(
    sandbox: SandboxServer,
) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request(minor=1799)))
    asked = charge_request(sandbox, minor=1800, checkout_ref=created.provider_ref)
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match=r"18\.00"):
        with_provider(sandbox, lambda p: p.charge(asked), http=recording_http(sandbox, recorder))
    assert recorder.posts("/complete") == []
    assert with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref)).attempts == 0


def test_authorize_only_on_a_checkout_is_not_supported(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    asked = charge_request(sandbox, capture=False, checkout_ref=created.provider_ref)
    with pytest.raises(NotSupportedError):
        charge(sandbox, asked)
    assert with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref)).attempts == 0


# -- capture ---------------------------------------------------------------------------------


def test_authorize_then_capture_in_full(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    assert held.captured == usd(0)
    asked = CaptureRequest(held.provider_ref, new_idempotency_key())
    result = with_provider(sandbox, lambda p: p.capture(asked))
    assert isinstance(result, ActionResult)
    assert result.action_ref == held.provider_ref
    assert result.payment.state is PaymentState.CAPTURED
    assert result.payment.captured == usd(1799)
    assert [a.kind for a in result.payment.actions] == ["authorization", "capture"]
    assert sandbox_payment(sandbox, held.provider_ref)["captured"] is True


def test_capturing_more_than_authorized_is_refused_before_sending(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    asked = CaptureRequest(held.provider_ref, new_idempotency_key(), amount=usd(1800))
    recorder = Recorder()
    with pytest.raises(InvalidRequestError):
        with_provider(sandbox, lambda p: p.capture(asked), http=recording_http(sandbox, recorder))
    assert recorder.posts("/capture") == []
    assert sandbox_payment(sandbox, held.provider_ref)["status"] == "authorized"


def test_a_partial_capture_is_not_offered_and_nothing_is_sent(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    asked = CaptureRequest(held.provider_ref, new_idempotency_key(), amount=usd(1000))
    recorder = Recorder()

    async def body(provider: JustifiProvider) -> None:
        assert Capability.PARTIAL_CAPTURE not in provider.capabilities
        await provider.capture(asked)

    with pytest.raises(NotSupportedError):
        with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert recorder.posts("/capture") == []
    assert sandbox_payment(sandbox, held.provider_ref)["status"] == "authorized"


def test_capturing_an_already_captured_payment_is_refused(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    with pytest.raises(InvalidRequestError):
        with_provider(
            sandbox, lambda p: p.capture(CaptureRequest(paid.provider_ref, new_idempotency_key()))
        )


# -- refunds ---------------------------------------------------------------------------------


def test_partial_then_full_refund(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    first = with_provider(sandbox, lambda p: p.refund(refund_request(paid.provider_ref, 500)))
    assert first.action_ref.startswith("re_")
    assert first.payment.state is PaymentState.PARTIALLY_REFUNDED
    assert first.payment.refunded == usd(500)
    rest = with_provider(sandbox, lambda p: p.refund(refund_request(paid.provider_ref, 1299)))
    assert rest.payment.state is PaymentState.REFUNDED
    assert rest.payment.refunded == usd(1799)
    refunds = [a for a in rest.payment.actions if a.kind == "refund"]
    assert [(a.provider_ref, a.amount) for a in refunds] == [
        (first.action_ref, usd(500)),
        (rest.action_ref, usd(1299)),
    ]


def test_refund_reason_reaches_justifi(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    known = with_provider(
        sandbox, lambda p: p.refund(refund_request(paid.provider_ref, 100, "duplicate"))
    )
    free = with_provider(
        sandbox, lambda p: p.refund(refund_request(paid.provider_ref, 100, "Wrong size"))
    )
    refunds = {r["id"]: r for r in sandbox_payment(sandbox, paid.provider_ref)["refunds"]}
    assert refunds[known.action_ref]["reason"] == "duplicate"
    assert refunds[free.action_ref]["reason"] is None
    assert refunds[free.action_ref]["description"] == "Wrong size"


def test_refunding_more_than_is_left_is_refused_before_sending(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    with_provider(sandbox, lambda p: p.refund(refund_request(paid.provider_ref, 1000)))
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match=r"7\.99"):
        with_provider(
            sandbox,
            lambda p: p.refund(refund_request(paid.provider_ref, 800)),
            http=recording_http(sandbox, recorder),
        )
    assert recorder.posts("/refunds") == []
    assert sandbox_payment(sandbox, paid.provider_ref)["amount_refunded"] == 1000


def test_refunding_an_uncaptured_authorization_is_refused(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    recorder = Recorder()
    with pytest.raises(InvalidRequestError):
        with_provider(
            sandbox,
            lambda p: p.refund(refund_request(held.provider_ref, 100)),
            http=recording_http(sandbox, recorder),
        )
    assert recorder.posts("/refunds") == []


def test_a_refund_retried_after_a_lost_answer_is_made_once(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    add_fault(sandbox, method="POST", path="/justifi/v1/payments/*/refunds", kind="reset_after")
    recorder = Recorder()
    result = with_provider(
        sandbox,
        lambda p: p.refund(refund_request(paid.provider_ref, 500)),
        http=recording_http(sandbox, recorder),
    )
    assert len(recorder.posts("/refunds")) == 2
    assert result.payment.refunded == usd(500)
    assert len(sandbox_payment(sandbox, paid.provider_ref)["refunds"]) == 1


# -- void ------------------------------------------------------------------------------------


def test_void_inside_the_window(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    advance_clock(sandbox, 24 * 60)  # 24 of JustiFi's 25 minutes
    result = with_provider(
        sandbox, lambda p: p.void(VoidRequest(held.provider_ref, new_idempotency_key()))
    )
    assert result.action_ref == held.provider_ref
    assert result.payment.state is PaymentState.VOIDED
    assert result.payment.actions[-1].kind == "void"
    assert sandbox_payment(sandbox, held.provider_ref)["status"] == "canceled"


def test_void_after_the_window_is_refused_by_justifi(sandbox: SandboxServer) -> None:
    held = authorized(sandbox)
    advance_clock(sandbox, 26 * 60)
    with pytest.raises(InvalidRequestError) as caught:
        with_provider(
            sandbox, lambda p: p.void(VoidRequest(held.provider_ref, new_idempotency_key()))
        )
    assert caught.value.provider_code == "payment_outside_void_window"
    after = with_provider(sandbox, lambda p: p.get_payment(held.provider_ref))
    assert after.state is PaymentState.AUTHORIZED


def test_a_captured_payment_is_refunded_not_voided(sandbox: SandboxServer) -> None:
    paid = charge(sandbox, charge_request(sandbox))
    recorder = Recorder()
    with pytest.raises(InvalidRequestError):
        with_provider(
            sandbox,
            lambda p: p.void(VoidRequest(paid.provider_ref, new_idempotency_key())),
            http=recording_http(sandbox, recorder),
        )
    assert recorder.posts("/void") == []
    assert sandbox_payment(sandbox, paid.provider_ref)["status"] == "succeeded"


# -- lost answers and answers that cannot be trusted ------------------------------------------


def test_capture_and_void_retried_after_lost_answers_apply_once(sandbox: SandboxServer) -> None:
    to_capture, to_void = authorized(sandbox), authorized(sandbox)
    add_fault(sandbox, method="POST", path="/justifi/v1/payments/*/capture", kind="reset_after")
    add_fault(sandbox, method="POST", path="/justifi/v1/payments/*/void", kind="reset_after")
    recorder = Recorder()

    async def body(provider: JustifiProvider) -> tuple[ActionResult, ActionResult]:
        captured = await provider.capture(
            CaptureRequest(to_capture.provider_ref, new_idempotency_key())
        )
        voided = await provider.void(VoidRequest(to_void.provider_ref, new_idempotency_key()))
        return captured, voided

    captured, voided = with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    assert len(recorder.posts("/capture")) == 2
    assert len(recorder.posts("/void")) == 2
    assert captured.payment.state is PaymentState.CAPTURED
    assert voided.payment.state is PaymentState.VOIDED


def test_a_charge_answered_with_a_server_error_is_in_doubt(sandbox: SandboxServer) -> None:
    add_fault(sandbox, method="POST", path="/justifi/v1/payments", kind="status", status=502)
    recorder = Recorder()
    with pytest.raises(OutcomeUnknownError) as caught:
        with_provider(
            sandbox,
            lambda p: p.charge(charge_request(sandbox)),
            http=recording_http(sandbox, recorder, attempts=1),
        )
    assert caught.value.maybe_applied


def _answering(body: bytes, status: int = 201) -> ProviderHttpClient:
    """A JustiFi that signs us in, then answers every other call with ``body``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "t"})
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return ProviderHttpClient(
        "https://justifi.invalid", provider="justifi", transport=httpx.MockTransport(handle)
    )


def _payment_body(**change: Any) -> bytes:
    data = {
        "id": "py_1",
        "status": "succeeded",
        "amount": 1799,
        "currency": "usd",
        "captured": True,
        "capture_strategy": "automatic",
        "amount_refunded": 0,
        "refunds": [],
        "metadata": {"pos_reference": "S-20261122-ABC123"},
        "created_at": "2026-11-22T12:00:00Z",
        "updated_at": "2026-11-22T12:00:00Z",
    }
    data.update(change)
    return json.dumps({"id": "py_1", "type": "payment", "data": data, "page_info": None}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Service Unavailable</html>",
        b"",
        b'{"id": "py_1", "type": "payment", "data": null}',
        _payment_body(amount=1700),  # not the amount asked
        _payment_body(amount="17.99"),
        _payment_body(status="approved"),  # not a status JustiFi documents
        _payment_body(metadata={"pos_reference": "S-20261122-OTHER1"}),  # another sale's
    ],
)
def test_a_charge_answer_that_cannot_be_trusted_is_response_invalid(
    sandbox: SandboxServer, body: bytes
) -> None:
    asked = ChargeRequest(
        "S-20261122-ABC123",
        usd(1799),
        "Donut",
        new_idempotency_key(),
        PaymentSource(SourceKind.TOKEN, "pm_1"),
    )
    with pytest.raises(ResponseInvalidError) as caught:
        with_provider(sandbox, lambda p: p.charge(asked), http=_answering(body))
    assert caught.value.maybe_applied


def test_the_trustworthy_answer_passes(sandbox: SandboxServer) -> None:
    asked = ChargeRequest(
        "S-20261122-ABC123",
        usd(1799),
        "Donut",
        new_idempotency_key(),
        PaymentSource(SourceKind.TOKEN, "pm_1"),
    )
    paid = with_provider(sandbox, lambda p: p.charge(asked), http=_answering(_payment_body()))
    assert paid.state is PaymentState.CAPTURED


def test_the_adapter_is_a_payment_provider(sandbox: SandboxServer) -> None:
    async def body(provider: JustifiProvider) -> bool:
        return isinstance(provider, PaymentProvider)

    assert with_provider(sandbox, body)
