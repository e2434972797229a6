"""The JustiFi adapter against the sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
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
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider
from pos_app.providers.types import CheckoutRequest, DeclineCode
from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

T = TypeVar("T")


def config_for(sandbox: SandboxServer, **overrides: str) -> JustifiConfig:
    base = f"{sandbox.base_url}/justifi"
    values = {
        "api_base_url": base,
        "hosted_checkout_base_url": f"{base}/hosted-checkout",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "sub_account": SANDBOX_SUB_ACCOUNT,
    }
    values.update(overrides)
    return JustifiConfig(**values)


def with_provider(
    sandbox: SandboxServer,
    body: Callable[[JustifiProvider], Awaitable[T]],
    *,
    http: ProviderHttpClient | None = None,
    clock: Callable[[], datetime] | None = None,
    **overrides: str,
) -> T:
    async def go() -> T:
        config = config_for(sandbox, **overrides)
        if clock is None:
            provider = JustifiProvider(config, http)
        else:
            provider = JustifiProvider(config, http, clock=clock)
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


class Recorder(httpx.AsyncBaseTransport):
    """The real loopback transport, remembering every request that left the adapter."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def posts(self, suffix: str = "") -> list[str]:
        return [
            r.url.path
            for r in self.requests
            if r.method == "POST" and r.url.path.endswith(suffix) and "/oauth/" not in r.url.path
        ]


def recording_http(
    sandbox: SandboxServer, recorder: Recorder, *, attempts: int = 3
) -> ProviderHttpClient:
    return ProviderHttpClient(
        f"{sandbox.base_url}/justifi",
        provider="justifi",
        transport=recorder,
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.0),
    )


def add_fault(sandbox: SandboxServer, **fault: Any) -> None:
    answer = sandbox.control.request("POST", "faults", json=fault)
    assert answer.status_code == 201, answer.text


def advance_clock(sandbox: SandboxServer, seconds: int) -> None:
    answer = sandbox.control.request("POST", "clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text


def platform_headers(sandbox: SandboxServer) -> dict[str, str]:
    """A platform token of the sandbox's own, to read its state beside the adapter."""
    token = httpx.post(
        f"{sandbox.base_url}/justifi/oauth/token",
        json={"client_id": "test_inspector", "client_secret": "x"},
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}


def card_token(sandbox: SandboxServer, card: str = "4242424242424242") -> str:
    """What the card iframe hands the till: a ``pm_`` payment method token."""
    method = httpx.post(
        f"{sandbox.base_url}/justifi/v1/payment_methods",
        headers={**platform_headers(sandbox), "Idempotency-Key": new_idempotency_key()},
        json={
            "payment_method": {
                "card": {
                    "name": "Leslie Knope",
                    "number": card,
                    "verification": "123",
                    "month": 12,
                    "year": 2030,
                    "address_postal_code": "10001",
                }
            }
        },
    )
    assert method.status_code == 201, method.text
    return str(method.json()["id"])


def request(minor: int = 1799, description: str = "One chocolate donut") -> CheckoutRequest:
    return CheckoutRequest(
        reference=new_reference(),
        amount=Money(minor, "USD"),
        description=description,
        idempotency_key=new_idempotency_key(),
        success_url="https://pos-app.invalid/checkout/success",
    )


def customer_pays(sandbox: SandboxServer, checkout_id: str, card: str) -> dict[str, Any]:
    """What the hosted page does for the customer, through the provider's own API."""
    base = f"{sandbox.base_url}/justifi"
    with httpx.Client(base_url=base) as client:
        token = client.post(
            "/oauth/token", json={"client_id": "test_customer_page", "client_secret": "x"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}
        method = client.post(
            "/v1/payment_methods",
            headers={**headers, "Idempotency-Key": new_idempotency_key()},
            json={
                "payment_method": {
                    "card": {
                        "name": "Leslie Knope",
                        "number": card,
                        "verification": "123",
                        "month": 12,
                        "year": 2030,
                        "address_postal_code": "10001",
                    }
                }
            },
        )
        assert method.status_code == 201, method.text
        completion = client.post(
            f"/v1/checkouts/{checkout_id}/complete",
            headers={**headers, "Idempotency-Key": new_idempotency_key()},
            json={"payment_token": method.json()["id"], "payment_mode": "ecom"},
        )
        assert completion.status_code == 201, completion.text
        result: dict[str, Any] = completion.json()["data"]
        return result


def test_create_then_get_a_checkout(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: JustifiProvider) -> tuple[Any, Any]:
        created = await provider.create_checkout(asked)
        return created, await provider.get_checkout(created.provider_ref)

    created, looked_up = with_provider(sandbox, body)
    assert created.provider_ref.startswith("cho_")
    assert created.state is PaymentState.PENDING
    assert created.amount == Money(1799, "USD")
    assert created.reference == asked.reference
    assert created.hosted_url == (
        f"{sandbox.base_url}/justifi/hosted-checkout/{created.provider_ref}"
        "?success_redirect_url=https%3A%2F%2Fpos-app.invalid%2Fcheckout%2Fsuccess"
    )
    assert looked_up.provider_ref == created.provider_ref
    assert looked_up.state is PaymentState.PENDING
    assert looked_up.expires_at == created.expires_at


def test_the_page_and_the_adapter_agree_on_the_sandbox_hosted_page(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    assert created.hosted_url is not None
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "$17.99" in page.text


def test_approved_completion_is_captured_on_lookup(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    completion = customer_pays(sandbox, created.provider_ref, "4242424242424242")
    assert completion["payment_status"] == "succeeded"
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == completion["payment_id"]
    assert session.card is not None
    assert session.card.last4 == "4242"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000000000000002", DeclineCode.DECLINED),
        ("4000000000009995", DeclineCode.INSUFFICIENT_FUNDS),  # card_declined/insufficient_funds
        ("4000000000000069", DeclineCode.EXPIRED_CARD),
        ("4000000000000127", DeclineCode.INCORRECT_CVC),
        ("4000000000009987", DeclineCode.LOST_OR_STOLEN),
    ],
)
def test_declines_come_back_as_data(sandbox: SandboxServer, card: str, code: DeclineCode) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    completion = customer_pays(sandbox, created.provider_ref, card)
    assert completion["payment_status"] == "failed"
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.code is code, session.decline


def test_a_second_card_after_a_decline_completes_the_checkout(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    customer_pays(sandbox, created.provider_ref, "4000000000000002")
    customer_pays(sandbox, created.provider_ref, "5555555555554444")
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.CAPTURED
    assert session.attempts == 2


def test_expired_token_is_refreshed_once_and_the_call_succeeds(sandbox: SandboxServer) -> None:
    async def body(provider: JustifiProvider) -> PaymentState:
        created = await provider.create_checkout(request())
        async with httpx.AsyncClient(headers=sandbox.control_headers) as control:
            expired = await control.post(f"{sandbox.base_url}/_sandbox/justifi/expire-tokens")
        assert expired.status_code == 200
        return (await provider.get_checkout(created.provider_ref)).state

    assert with_provider(sandbox, body) is PaymentState.PENDING


def test_wrong_credentials_are_an_authentication_error(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthenticationError):
        with_provider(sandbox, lambda p: p.create_checkout(request()), client_id="live_nope")


def test_provider_error_bodies_reach_the_caller(sandbox: SandboxServer) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        with_provider(sandbox, lambda p: p.create_checkout(request(minor=50)))
    assert caught.value.provider_code == "amount_below_minimum"
    assert caught.value.status == 422
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_checkout("cho_doesnotexist"))


def test_find_checkout_by_our_reference(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: JustifiProvider) -> tuple[Any, Any]:
        for _ in range(3):
            await provider.create_checkout(request(minor=999))
        created = await provider.create_checkout(asked)
        await provider.create_checkout(request(minor=555))
        return created, await provider.find_checkout(asked.reference)

    created, found = with_provider(sandbox, body)
    assert found is not None
    assert found.provider_ref == created.provider_ref
    assert with_provider(sandbox, lambda p: p.find_checkout("S-NOT-THERE")) is None


def test_create_retried_with_the_same_key_makes_one_checkout(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: JustifiProvider) -> tuple[str, str]:
        first = await provider.create_checkout(asked)
        again = await provider.create_checkout(asked)
        return first.provider_ref, again.provider_ref

    first, again = with_provider(sandbox, body)
    assert first == again


def test_sandbox_that_is_down_fails_cleanly(sandbox: SandboxServer) -> None:
    url = sandbox.base_url
    sandbox.stop()

    async def go() -> None:
        http = ProviderHttpClient(
            f"{url}/justifi", provider="justifi", retry=RetryPolicy(max_attempts=2, base_delay=0.0)
        )
        provider = JustifiProvider(
            JustifiConfig(
                f"{url}/justifi",
                f"{url}/justifi/hosted-checkout",
                SANDBOX_CLIENT_ID,
                SANDBOX_CLIENT_SECRET,
                SANDBOX_SUB_ACCOUNT,
            ),
            http,
        )
        try:
            await provider.create_checkout(request())
        finally:
            await provider.aclose()

    with pytest.raises(ConnectionFailedError):
        asyncio.run(go())


def test_incomplete_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="client_secret"):
        JustifiProvider(JustifiConfig("http://x", "http://x/h", "test_a", "", "acc_1"))


def test_legacy_flow_needs_its_session_page_and_a_known_flow() -> None:
    base = ("http://x", "http://x/h", "test_a", "secret", "acc_1")
    with pytest.raises(ConfigurationError, match="legacy_session_base_url"):
        JustifiProvider(
            JustifiConfig(*base, hosted_flow="checkout_session", legacy_session_base_url="")
        )
    with pytest.raises(ConfigurationError, match="hosted flow"):
        JustifiProvider(JustifiConfig(*base, hosted_flow="sessions"))  # type: ignore[arg-type]
