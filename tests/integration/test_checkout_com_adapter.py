"""The Checkout.com adapter against the sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.base import PaymentProvider
from pos_app.providers.checkout_com.adapter import (
    AuthStyle,
    CheckoutComConfig,
    CheckoutComProvider,
)
from pos_app.providers.errors import (
    AuthenticationError,
    ConnectionFailedError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderUnavailableError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.types import CheckoutRequest, CheckoutSession, DeclineCode
from pos_sandbox.checkout_com.api import SANDBOX_PROCESSING_CHANNEL, SANDBOX_SECRET_KEY

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_sandbox.server import SandboxServer

T = TypeVar("T")
SUCCESS_URL = "https://pos-app.invalid/checkout/return"


def config_for(
    sandbox: SandboxServer,
    *,
    secret_key: str = SANDBOX_SECRET_KEY,
    auth_style: AuthStyle = "bearer",
) -> CheckoutComConfig:
    return CheckoutComConfig(
        api_base_url=f"{sandbox.base_url}/checkout-com",
        secret_key=secret_key,
        processing_channel_id=SANDBOX_PROCESSING_CHANNEL,
        auth_style=auth_style,
    )


def with_provider(
    sandbox: SandboxServer,
    body: Callable[[CheckoutComProvider], Awaitable[T]],
    *,
    http: ProviderHttpClient | None = None,
    **overrides: Any,
) -> T:
    async def go() -> T:
        provider = CheckoutComProvider(config_for(sandbox, **overrides), http)
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def request(minor: int = 1799, reference: str | None = None) -> CheckoutRequest:
    return CheckoutRequest(
        reference=reference or new_reference(),
        amount=Money(minor, "GBP"),
        description="One chocolate donut",
        idempotency_key=new_idempotency_key(),
        success_url=SUCCESS_URL,
    )


def create(sandbox: SandboxServer, asked: CheckoutRequest | None = None) -> CheckoutSession:
    return with_provider(sandbox, lambda p: p.create_checkout(asked or request()))


def get(sandbox: SandboxServer, provider_ref: str) -> CheckoutSession:
    return with_provider(sandbox, lambda p: p.get_checkout(provider_ref))


def customer_pays(sandbox: SandboxServer, hpp_id: str, card: str) -> dict[str, Any]:
    """What the customer does on the Hosted Payments Page, headlessly."""
    answer = sandbox.control.request(
        "POST", "checkout-com/pay", json={"hpp_id": hpp_id, "card": card}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def control(sandbox: SandboxServer, path: str, body: dict[str, Any]) -> None:
    answer = sandbox.control.request("POST", f"{path}", json=body)
    assert answer.status_code == 200, answer.text


def test_create_then_get_a_checkout(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: CheckoutComProvider) -> tuple[CheckoutSession, CheckoutSession]:
        created = await provider.create_checkout(asked)
        return created, await provider.get_checkout(created.provider_ref)

    created, looked_up = with_provider(sandbox, body)
    assert created.provider_ref.startswith("hpp_")
    assert created.state is PaymentState.PENDING
    assert created.provider_status == "Payment Pending"
    assert created.amount == Money(1799, "GBP")
    assert created.reference == asked.reference
    assert created.hosted_url == f"{sandbox.base_url}/checkout-com/page/{created.provider_ref}"
    assert looked_up == created


def test_the_hosted_url_serves_the_customer_a_page(sandbox: SandboxServer) -> None:
    created = create(sandbox)
    assert created.hosted_url is not None
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "GBP 17.99" in page.text
    assert "One chocolate donut" in page.text
    # The cancel link goes back to our own URL, marked so the app can tell it apart.
    assert f'href="{SUCCESS_URL}?outcome=cancel"' in page.text


def test_approved_payment_is_captured_with_its_card(sandbox: SandboxServer) -> None:
    created = create(sandbox)
    paid = customer_pays(sandbox, created.provider_ref, "4242424242424242")
    assert paid["approved"] is True
    assert paid["redirect_url"].startswith(SUCCESS_URL + "?cko-session-id=")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.CAPTURED
    assert session.provider_status == "Payment Received"
    assert session.payment_ref == paid["payment_id"]
    assert session.card is not None
    assert (session.card.brand, session.card.last4) == ("VISA", "4242")
    assert session.decline is None


def test_payment_not_yet_captured_is_only_authorized(sandbox: SandboxServer) -> None:
    control(sandbox, "checkout-com/settle", {"auto_settle": False})
    created = create(sandbox)
    customer_pays(sandbox, created.provider_ref, "5436031030606378")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.AUTHORIZED
    assert session.card is not None
    assert session.card.brand == "MASTERCARD"
    control(sandbox, "checkout-com/settle", {})
    assert get(sandbox, created.provider_ref).state is PaymentState.CAPTURED


@pytest.mark.parametrize(
    ("card", "code", "provider_code"),
    [
        ("4544249167673670", DeclineCode.INSUFFICIENT_FUNDS, "20051"),
        ("4724117215951699", DeclineCode.EXPIRED_CARD, "20054"),
        ("4734868958733862", DeclineCode.INCORRECT_CVC, "200N7"),
        ("4485381577182090", DeclineCode.INVALID_CARD, "20014"),
        ("4897453568485113", DeclineCode.FRAUD_SUSPECTED, "20059"),
        ("4111111111111129", DeclineCode.DECLINED, "20001"),
    ],
)
def test_declines_come_back_as_data(
    sandbox: SandboxServer, card: str, code: DeclineCode, provider_code: str
) -> None:
    created = create(sandbox)
    paid = customer_pays(sandbox, created.provider_ref, card)
    assert paid["approved"] is False
    assert paid["redirect_url"].startswith(SUCCESS_URL + "?outcome=failure")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert (session.decline.code, session.decline.provider_code) == (code, provider_code)
    assert session.card is not None
    assert session.card.last4 == card[-4:]


def test_a_second_card_after_a_decline_pays_the_page(sandbox: SandboxServer) -> None:
    created = create(sandbox)
    customer_pays(sandbox, created.provider_ref, "4544249167673670")
    customer_pays(sandbox, created.provider_ref, "4242424242424242")
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.CAPTURED
    assert session.decline is None
    assert session.card is not None
    assert session.card.last4 == "4242"


def test_an_unpaid_page_expires(sandbox: SandboxServer) -> None:
    created = create(sandbox)
    control(sandbox, "clock/advance", {"seconds": 3 * 3600})
    session = get(sandbox, created.provider_ref)
    assert session.state is PaymentState.EXPIRED
    assert session.provider_status == "Expired"


def test_find_checkout_by_our_reference(sandbox: SandboxServer) -> None:
    asked = request()
    created = create(sandbox, asked)
    other = create(sandbox)
    customer_pays(sandbox, other.provider_ref, "4242424242424242")
    # Nothing was paid on our page yet: Checkout.com cannot list hosted pages.
    assert with_provider(sandbox, lambda p: p.find_checkout(asked.reference)) is None

    customer_pays(sandbox, created.provider_ref, "4544249167673670")
    paid = customer_pays(sandbox, created.provider_ref, "4242424242424242")

    async def body(provider: CheckoutComProvider) -> tuple[Any, CheckoutSession]:
        found = await provider.find_checkout(asked.reference)
        assert found is not None
        return found, await provider.get_checkout(found.provider_ref)

    found, again = with_provider(sandbox, body)
    assert found.provider_ref == paid["payment_id"]
    assert found.state is PaymentState.CAPTURED
    assert found.reference == asked.reference
    assert found.attempts == 2
    assert again == found
    assert with_provider(sandbox, lambda p: p.find_checkout("S-NOT-THERE")) is None


def test_find_checkout_reports_a_declined_only_attempt(sandbox: SandboxServer) -> None:
    asked = request()
    created = create(sandbox, asked)
    customer_pays(sandbox, created.provider_ref, "4544249167673670")
    found = with_provider(sandbox, lambda p: p.find_checkout(asked.reference))
    assert found is not None
    assert found.state is PaymentState.DECLINED
    assert found.decline is not None
    assert found.decline.code is DeclineCode.INSUFFICIENT_FUNDS


class Recorder(httpx.AsyncBaseTransport):
    """Real loopback HTTP, with every request kept for inspection."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def recording_http(sandbox: SandboxServer, recorder: Recorder) -> ProviderHttpClient:
    return ProviderHttpClient(
        f"{sandbox.base_url}/checkout-com",
        provider="checkout_com",
        idempotency_header="Cko-Idempotency-Key",
        transport=recorder,
    )


def test_a_page_create_is_sent_once_without_a_key_checkout_com_would_ignore(
    sandbox: SandboxServer,
) -> None:
    """Checkout.com honours Cko-Idempotency-Key only on /payments and payment actions, so a
    page create carries none and is never repeated blindly: a lost answer is for a lookup."""
    asked = request()
    recorder = Recorder()
    add_fault(sandbox, kind="reset_after", method="POST", path="/checkout-com/hosted-payments")

    async def body(provider: CheckoutComProvider) -> None:
        await provider.create_checkout(asked)

    with pytest.raises(OutcomeUnknownError):
        with_provider(sandbox, body, http=recording_http(sandbox, recorder))
    posts = [r for r in recorder.requests if r.method == "POST"]
    assert len(posts) == 1
    assert "Cko-Idempotency-Key" not in posts[0].headers
    assert posts[0].headers["Authorization"] == f"Bearer {SANDBOX_SECRET_KEY}"


def test_raw_key_auth_style_works(sandbox: SandboxServer) -> None:
    recorder = Recorder()
    created = with_provider(
        sandbox,
        lambda p: p.create_checkout(request()),
        http=recording_http(sandbox, recorder),
        auth_style="raw",
    )
    assert created.state is PaymentState.PENDING
    assert recorder.requests[0].headers["Authorization"] == SANDBOX_SECRET_KEY


def test_wrong_key_is_an_authentication_error(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthenticationError) as caught:
        with_provider(
            sandbox,
            lambda p: p.create_checkout(request()),
            secret_key="sk_sbox_aaaaaaaaaaaaaaaaaaaaaaaaaaa",
        )
    assert caught.value.status == 401


def test_provider_error_bodies_reach_the_caller(sandbox: SandboxServer) -> None:
    too_long = request(reference="S-" + "X" * 60)
    with pytest.raises(InvalidRequestError) as caught:
        create(sandbox, too_long)
    assert caught.value.status == 422
    assert caught.value.provider_code == "reference_invalid"
    with pytest.raises(NotFoundError):
        get(sandbox, "hpp_doesnotexist")
    with pytest.raises(NotFoundError):
        get(sandbox, "pay_doesnotexistdoesnotexistxx")


def test_sandbox_that_is_down_fails_cleanly(sandbox: SandboxServer) -> None:
    url = sandbox.base_url
    sandbox.stop()

    async def go() -> None:
        http = ProviderHttpClient(
            f"{url}/checkout-com",
            provider="checkout_com",
            idempotency_header="Cko-Idempotency-Key",
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )
        provider = CheckoutComProvider(
            CheckoutComConfig(f"{url}/checkout-com", SANDBOX_SECRET_KEY, "pc_x"), http
        )
        try:
            await provider.create_checkout(request())
        finally:
            await provider.aclose()

    with pytest.raises(ConnectionFailedError):
        asyncio.run(go())


def add_fault(sandbox: SandboxServer, **fault: Any) -> None:
    answer = sandbox.control.request("POST", "faults", json=fault)
    assert answer.status_code == 201, answer.text


def no_retry_http(sandbox: SandboxServer) -> ProviderHttpClient:
    return ProviderHttpClient(
        f"{sandbox.base_url}/checkout-com",
        provider="checkout_com",
        idempotency_header="Cko-Idempotency-Key",
        retry=RetryPolicy(max_attempts=1, base_delay=0.0),
    )


def test_server_error_to_a_create_is_an_unknown_outcome(sandbox: SandboxServer) -> None:
    add_fault(
        sandbox, method="POST", path="/checkout-com/hosted-payments", kind="status", status=502
    )
    with pytest.raises(OutcomeUnknownError) as caught:
        with_provider(sandbox, lambda p: p.create_checkout(request()), http=no_retry_http(sandbox))
    assert caught.value.maybe_applied
    assert caught.value.status == 502


def test_page_opened_but_not_read_back_is_an_unknown_outcome(sandbox: SandboxServer) -> None:
    add_fault(
        sandbox, method="GET", path="/checkout-com/hosted-payments/*", kind="status", status=503
    )
    with pytest.raises(OutcomeUnknownError, match="could not be read back"):
        with_provider(sandbox, lambda p: p.create_checkout(request()), http=no_retry_http(sandbox))


def test_server_error_to_a_lookup_is_unavailable_and_retried(sandbox: SandboxServer) -> None:
    created = create(sandbox)
    add_fault(
        sandbox, method="GET", path="/checkout-com/hosted-payments/*", kind="status", status=503
    )
    with pytest.raises(ProviderUnavailableError):
        with_provider(
            sandbox, lambda p: p.get_checkout(created.provider_ref), http=no_retry_http(sandbox)
        )
    # With the default retry rule a lookup (safe to repeat) rides over one 503.
    add_fault(
        sandbox, method="GET", path="/checkout-com/hosted-payments/*", kind="status", status=503
    )
    retrying = ProviderHttpClient(
        f"{sandbox.base_url}/checkout-com",
        provider="checkout_com",
        retry=RetryPolicy(max_attempts=3, base_delay=0.0),
    )
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref), http=retrying)
    assert session.state is PaymentState.PENDING


def test_the_adapter_is_a_payment_provider(sandbox: SandboxServer) -> None:
    async def body(provider: CheckoutComProvider) -> bool:
        return isinstance(provider, PaymentProvider)

    assert with_provider(sandbox, body)
