"""JustiFi balance transactions through the adapter: the ledger of a payment (payment, fees,
refunds, fees returned), read with one GET and only when asked."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key
from pos_app.domain.money import Money
from pos_app.providers.errors import NotFoundError, ResponseInvalidError
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider
from tests.integration.test_justifi_adapter import (
    Recorder,
    card_token,
    customer_pays,
    platform_headers,
    recording_http,
    request,
    with_provider,
)
from tests.integration.test_justifi_adapter_payments import charge, charge_request, refund_request

if TYPE_CHECKING:
    from pos_app.providers.types import PaymentAction
    from pos_sandbox.server import SandboxServer

LEDGER = "/payment_balance_transactions"


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def ledger(sandbox: SandboxServer, payment_ref: str) -> tuple[PaymentAction, ...]:
    return with_provider(sandbox, lambda p: p.balance_transactions(payment_ref))


def rows(actions: tuple[PaymentAction, ...]) -> list[tuple[str, Money]]:
    return [(a.kind, a.amount) for a in actions]


def test_a_refunded_charge_shows_money_in_and_out(sandbox: SandboxServer) -> None:
    recorder = Recorder()
    http = recording_http(sandbox, recorder)

    async def body(provider: JustifiProvider) -> tuple[PaymentAction, ...]:
        paid = await provider.charge(charge_request(sandbox, minor=5000))
        await provider.refund(refund_request(paid.provider_ref, 2000))
        # The charge, the refund and their confirmation lookups never read the ledger.
        assert not [r for r in recorder.requests if r.url.path.endswith(LEDGER)]
        return await provider.balance_transactions(paid.provider_ref)

    actions = with_provider(sandbox, body, http=http)
    assert rows(actions) == [("balance_payment", usd(5000)), ("balance_refund", usd(-2000))]
    assert actions[1].note.endswith("balance after 30.00 USD")
    assert actions[1].note.startswith("Refund re_")
    reads = [r for r in recorder.requests if r.url.path.endswith(LEDGER)]
    assert len(reads) == 1
    assert reads[0].method == "GET"


def test_fees_charged_and_returned_are_in_the_ledger(sandbox: SandboxServer) -> None:
    """A payment made with JustiFi fees (by another system on the account) shows them."""
    headers = {**platform_headers(sandbox), "Idempotency-Key": new_idempotency_key()}
    base = f"{sandbox.base_url}/justifi/v1/payments"
    made = httpx.post(
        base,
        headers=headers,
        json={
            "amount": 10_000,
            "currency": "usd",
            "capture_strategy": "automatic",
            "payment_method": {"token": card_token(sandbox)},
            "fees": [
                {"type": "processing_fee", "amount": 350},
                {"type": "platform_fee", "amount": 500},
            ],
        },
    )
    assert made.status_code == 201, made.text
    payment_ref = made.json()["id"]
    refunded = httpx.post(
        f"{base}/{payment_ref}/refunds",
        headers={**headers, "Idempotency-Key": new_idempotency_key()},
        json={"amount": 5000, "fees": [{"type": "processing_fee", "amount": 175}]},
    )
    assert refunded.status_code == 201, refunded.text
    assert rows(ledger(sandbox, payment_ref)) == [
        ("balance_payment", usd(10_000)),
        ("balance_payment_fee", usd(-350)),
        ("balance_payment_fee", usd(-500)),
        ("balance_refund", usd(-5000)),
        ("balance_fee_refund", usd(175)),
    ]


def test_a_checkout_payment_has_its_ledger(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request(2500)))
    completion = customer_pays(sandbox, created.provider_ref, "4242424242424242")
    assert rows(ledger(sandbox, completion["payment_id"])) == [("balance_payment", usd(2500))]


def test_an_authorization_has_an_empty_ledger(sandbox: SandboxServer) -> None:
    held = charge(sandbox, charge_request(sandbox, capture=False))
    assert ledger(sandbox, held.provider_ref) == ()


def test_an_unknown_payment_is_not_found(sandbox: SandboxServer) -> None:
    with pytest.raises(NotFoundError):
        ledger(sandbox, "py_doesnotexist")


# -- answers that cannot be trusted ----------------------------------------------------------


def _serve(page: Any) -> JustifiProvider:
    def answer(asked: httpx.Request) -> httpx.Response:
        if asked.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(200, json=page)

    config = JustifiConfig(
        api_base_url="https://api.justifi.invalid",
        hosted_checkout_base_url="https://components.justifi.invalid/hosted-checkout",
        client_id="test_id",
        client_secret="secret",
        sub_account="acc_test",
    )
    http = ProviderHttpClient(
        config.api_base_url, provider="justifi", transport=httpx.MockTransport(answer)
    )
    return JustifiProvider(config, http)


def _row(**changes: Any) -> dict[str, Any]:
    return {
        "id": "pbt_1",
        "amount": 2500,
        "balance": 2500,
        "currency": "usd",
        "payment_id": "py_1",
        "payment_balance_txn_type": "payment",
        "source_id": "py_1",
        "source_type": "Payment",
        "created_at": "2026-11-22T09:00:00.000Z",
        "updated_at": "2026-11-22T09:00:00.000Z",
        **changes,
    }


@pytest.mark.parametrize(
    "page",
    [
        {"data": [_row(payment_balance_txn_type="bonus")], "page_info": None},
        {"data": [_row(amount="25.00")], "page_info": None},
        {"data": [_row(payment_id="py_2")], "page_info": None},
        {"data": {"id": "pbt_1"}, "page_info": None},
        {"data": [_row()], "page_info": {"has_next": True}},  # more, but no cursor
        ["not", "an", "envelope"],
    ],
)
def test_a_malformed_ledger_is_an_error_never_an_empty_one(page: Any) -> None:
    provider = _serve(page)

    async def body() -> None:
        try:
            with pytest.raises(ResponseInvalidError):
                await provider.balance_transactions("py_1")
        finally:
            await provider.aclose()

    asyncio.run(body())


def test_a_well_formed_ledger_from_the_same_fake_is_read() -> None:
    """The fake above answers like JustiFi when the body is right (the errors are real)."""
    provider = _serve({"id": None, "type": "array", "data": [_row()], "page_info": None})

    async def body() -> tuple[PaymentAction, ...]:
        try:
            return await provider.balance_transactions("py_1")
        finally:
            await provider.aclose()

    assert rows(asyncio.run(body())) == [("balance_payment", usd(2500))]
