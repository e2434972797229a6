"""The Payfect adapter against the sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider
from pos_app.providers.payfect.webhooks import verify_payfect
from pos_app.providers.registry import parse_event
from pos_app.providers.types import CheckoutRequest, CheckoutSession
from pos_app.providers.webhooks import WebhookSignatureError
from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_sandbox.server import SandboxServer

T = TypeVar("T")
DAY = 24 * 3600
CHECKOUTS = "/payfect/api/v1/checkouts/"


def with_provider(
    sandbox: SandboxServer,
    body: Callable[[PayfectProvider], Awaitable[T]],
    *,
    api_key: str = SANDBOX_PAYFECT_API_KEY,
    http: Callable[[], ProviderHttpClient] | None = None,
) -> T:
    async def go() -> T:
        config = PayfectConfig(f"{sandbox.base_url}/payfect", api_key)
        provider = PayfectProvider(config, http() if http else None)
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def request(minor: int = 2050, description: str = "One chocolate donut") -> CheckoutRequest:
    return CheckoutRequest(
        reference=new_reference(),
        amount=Money(minor, "USD"),
        description=description,
        idempotency_key=new_idempotency_key(),
        success_url="https://pos-app.invalid/checkout/success",
    )


def control(sandbox: SandboxServer, path: str, body: dict[str, Any]) -> httpx.Response:
    response = sandbox.control.request("POST", path, json=body)
    assert response.is_success, response.text
    return response


def callbacks(sandbox: SandboxServer, checkout_id: str) -> list[dict[str, Any]]:
    events = sandbox.control.request("GET", "webhooks", params={"provider": "payfect"})
    return [e for e in events.json()["data"] if json.loads(e["body"])["id"] == checkout_id]


def created(sandbox: SandboxServer, asked: CheckoutRequest | None = None) -> CheckoutSession:
    return with_provider(sandbox, lambda p: p.create_checkout(asked or request()))


def test_create_then_get_a_checkout(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: PayfectProvider) -> tuple[CheckoutSession, CheckoutSession]:
        made = await provider.create_checkout(asked)
        return made, await provider.get_checkout(made.provider_ref)

    made, looked_up = with_provider(sandbox, body)
    assert made.state is PaymentState.PENDING
    assert made.provider_status == "open"
    assert made.amount == Money(2050, "USD")
    assert made.reference == asked.reference
    assert made.hosted_url == f"{sandbox.base_url}/payfect/pay/{made.provider_ref}"
    assert made.expires_at is not None
    assert looked_up == made


def test_the_hosted_url_serves_the_payment_page(sandbox: SandboxServer) -> None:
    made = created(sandbox)
    assert made.hosted_url is not None
    page = httpx.get(made.hosted_url)
    assert page.status_code == 200
    assert "20.50 USDT" in page.text
    assert "Tron (TRC20)" in page.text


def test_the_request_reaches_payfect_as_documented(sandbox: SandboxServer) -> None:
    made = created(sandbox, request(1799))
    raw = httpx.get(
        f"{sandbox.base_url}{CHECKOUTS}{made.provider_ref}/",
        headers={"Authorization": f"Api-Key {SANDBOX_PAYFECT_API_KEY}"},
    ).json()
    assert raw["amountTotal"] == "17.99"
    assert raw["currency"] == "usdt"
    assert raw["successUrl"] == "https://pos-app.invalid/checkout/success"
    assert raw["cancelUrl"] == "https://pos-app.invalid/checkout/success?outcome=cancel"


def test_a_paid_checkout_is_captured(sandbox: SandboxServer) -> None:
    made = created(sandbox)
    control(sandbox, "/_sandbox/payfect/pay", {"id": made.provider_ref})
    session = with_provider(sandbox, lambda p: p.get_checkout(made.provider_ref))
    assert session.state is PaymentState.CAPTURED
    assert session.amount == Money(2050, "USD")
    assert session.payment_ref == made.provider_ref  # the paid checkout is the payment


def test_an_unpaid_checkout_expires_after_a_day(sandbox: SandboxServer) -> None:
    made = created(sandbox)
    control(sandbox, "/_sandbox/clock/advance", {"seconds": DAY})
    session = with_provider(sandbox, lambda p: p.get_checkout(made.provider_ref))
    assert session.state is PaymentState.EXPIRED


def test_a_truncated_echo_is_an_error_never_a_success(sandbox: SandboxServer) -> None:
    control(sandbox, "/_sandbox/payfect/faults", {"truncate_amounts": True})
    with pytest.raises(ResponseInvalidError, match=r"20\.00 USDT, not the 20\.50"):
        created(sandbox, request(2050))
    # A whole amount survives the quirk unchanged, so it is accepted.
    assert created(sandbox, request(2000)).amount == Money(2000, "USD")


def test_wrong_key_is_an_authentication_error(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthenticationError) as caught:
        with_provider(sandbox, lambda p: p.create_checkout(request()), api_key="nope.nope")
    assert caught.value.status == 403
    assert "permission" in caught.value.message


def test_provider_error_bodies_reach_the_caller(sandbox: SandboxServer) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        with_provider(sandbox, lambda p: p.create_checkout(request(description=" ")))
    assert caught.value.status == 400
    assert "product_data.name: This field may not be blank." in caught.value.message
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_checkout("ed8d24aa-a860-426b-8e56-87cb9f55a081"))


def test_find_checkout_cannot_search_payfect(sandbox: SandboxServer) -> None:
    asked = request()
    created(sandbox, asked)
    assert with_provider(sandbox, lambda p: p.find_checkout(asked.reference)) is None


def test_a_sale_in_another_currency_is_refused(sandbox: SandboxServer) -> None:
    euro = CheckoutRequest("S-1", Money(100, "EUR"), "x", "k")
    with pytest.raises(ConfigurationError):
        with_provider(sandbox, lambda p: p.create_checkout(euro))


def test_a_real_callback_verifies_and_a_tampered_one_does_not(sandbox: SandboxServer) -> None:
    asked = request()
    made = created(sandbox, asked)
    control(sandbox, "/_sandbox/payfect/pay", {"id": made.provider_ref})
    [event] = callbacks(sandbox, made.provider_ref)
    body, headers = event["body"].encode(), event["headers"]
    verified = verify_payfect(body, headers, WEBHOOK_SECRETS["payfect"])
    payload = verified.payload
    assert payload["status"] == "succeeded"
    assert payload["amount"] == "20.50"
    assert payload["client_reference_id"] == asked.reference
    parsed = parse_event(verified)
    assert (parsed.object_ref, parsed.reference) == (made.provider_ref, asked.reference)
    with pytest.raises(WebhookSignatureError):
        verify_payfect(body.replace(b"20.50", b"99.50"), headers, WEBHOOK_SECRETS["payfect"])


def test_a_create_without_an_answer_is_not_repeated(sandbox: SandboxServer) -> None:
    control(
        sandbox,
        "/_sandbox/faults",
        {"method": "POST", "path": CHECKOUTS, "kind": "reset_after"},
    )
    http = ProviderHttpClient(
        f"{sandbox.base_url}/payfect",
        provider="payfect",
        idempotency_header=None,
        retry=RetryPolicy(base_delay=0.0),
    )
    with pytest.raises(OutcomeUnknownError):
        with_provider(sandbox, lambda p: p.create_checkout(request()), http=lambda: http)
    assert http.attempts_made == 1


def test_a_server_error_to_a_create_is_outcome_unknown(sandbox: SandboxServer) -> None:
    control(
        sandbox,
        "/_sandbox/faults",
        {"method": "POST", "path": CHECKOUTS, "kind": "status", "status": 503},
    )
    with pytest.raises(OutcomeUnknownError):
        created(sandbox)


def test_a_lookup_is_retried_after_a_server_error(sandbox: SandboxServer) -> None:
    made = created(sandbox)
    control(
        sandbox,
        "/_sandbox/faults",
        {"method": "GET", "path": f"{CHECKOUTS}*", "kind": "status", "status": 503},
    )

    def http() -> ProviderHttpClient:
        return ProviderHttpClient(
            f"{sandbox.base_url}/payfect",
            provider="payfect",
            idempotency_header=None,
            retry=RetryPolicy(base_delay=0.0),
        )

    session = with_provider(sandbox, lambda p: p.get_checkout(made.provider_ref), http=http)
    assert session.state is PaymentState.PENDING


def test_sandbox_that_is_down_fails_cleanly(sandbox: SandboxServer) -> None:
    url = sandbox.base_url
    sandbox.stop()

    async def go() -> None:
        http = ProviderHttpClient(
            f"{url}/payfect",
            provider="payfect",
            idempotency_header=None,
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )
        provider = PayfectProvider(PayfectConfig(f"{url}/payfect", SANDBOX_PAYFECT_API_KEY), http)
        try:
            await provider.create_checkout(request())
        finally:
            await provider.aclose()

    with pytest.raises(ConnectionFailedError):
        asyncio.run(go())
