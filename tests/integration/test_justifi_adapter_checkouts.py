"""JustiFi connection check, web component tokens, pay-by-link and the legacy session flow."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
)
from pos_app.providers.types import Capability, CheckoutMode, CheckoutSession, DeclineCode
from pos_sandbox.server import SANDBOX_SUB_ACCOUNT, SandboxServer
from tests.integration.test_justifi_adapter import (
    Recorder,
    card_token,
    platform_headers,
    recording_http,
    request,
    with_provider,
)

if TYPE_CHECKING:
    from pos_app.providers.justifi.adapter import JustifiProvider

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def legacy(sandbox: SandboxServer) -> dict[str, str]:
    return {
        "hosted_flow": "checkout_session",
        "legacy_session_base_url": f"{sandbox.base_url}/justifi/r",
    }


def pay_on_page(sandbox: SandboxServer, checkout_id: str, card: str) -> dict[str, Any]:
    answer = sandbox.control.request(
        "POST", "justifi/pay", json={"checkout_id": checkout_id, "card": card}
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def pay_session_page(url: str, card: str) -> httpx.Response:
    """What the customer does on the legacy session page: fill in the card form, submit."""
    return httpx.post(
        f"{url}/pay",
        data={
            "cardholder_name": "Ann Perkins",
            "card_number": card,
            "card_expiry": "12/39",
            "card_cvc": "123",
            "postal_code": "10001",
        },
    )


# -- check_connection --------------------------------------------------------------------------


def test_check_connection_proves_the_credentials_and_changes_nothing(
    sandbox: SandboxServer,
) -> None:
    recorder = Recorder()
    with_provider(sandbox, lambda p: p.check_connection(), http=recording_http(sandbox, recorder))
    assert [r.method for r in recorder.requests] == ["POST", "GET"]  # token, one read
    assert recorder.requests[0].url.path.endswith("/oauth/token")
    assert recorder.posts() == []


@pytest.mark.parametrize("client_id", ["live_not_in_the_sandbox", "not_a_key"])
def test_check_connection_with_bad_credentials_is_an_authentication_error(
    sandbox: SandboxServer, client_id: str
) -> None:
    with pytest.raises(AuthenticationError):
        with_provider(sandbox, lambda p: p.check_connection(), client_id=client_id)


# -- the web component token -------------------------------------------------------------------


def test_web_component_token_holds_exactly_the_checkout_roles(sandbox: SandboxServer) -> None:
    recorder = Recorder()

    async def body(provider: JustifiProvider) -> tuple[CheckoutSession, Any]:
        created = await provider.create_checkout(request())
        return created, await provider.embedded_checkout(created.provider_ref)

    created, embedded = with_provider(
        sandbox, body, http=recording_http(sandbox, recorder), clock=lambda: NOON
    )
    [asked] = [r for r in recorder.requests if r.url.path.endswith("/web_component_tokens")]
    assert json.loads(asked.content) == {
        "resources": [
            f"write:checkout:{created.provider_ref}",
            f"write:tokenize:{SANDBOX_SUB_ACCOUNT}",
        ]
    }
    assert embedded.checkout_ref == created.provider_ref
    assert embedded.account_ref == SANDBOX_SUB_ACCOUNT
    assert embedded.expires_at == NOON + timedelta(minutes=60)

    api = f"{sandbox.base_url}/justifi/v1"
    component = {"Authorization": f"Bearer {embedded.token}"}
    # What the component needs works ...
    assert httpx.get(f"{api}/checkouts/{created.provider_ref}", headers=component).is_success
    # ... and nothing else: another checkout, payments, a token for more.
    other = with_provider(sandbox, lambda p: p.create_checkout(request()))
    assert httpx.get(f"{api}/checkouts/{other.provider_ref}", headers=component).status_code == 403
    listed = httpx.get(f"{api}/checkouts", headers={**component, "Account": SANDBOX_SUB_ACCOUNT})
    assert listed.status_code == 403
    paid = httpx.post(
        f"{api}/payments",
        headers={
            **component,
            "Sub-Account": SANDBOX_SUB_ACCOUNT,
            "Idempotency-Key": new_idempotency_key(),
        },
        json={"amount": 100, "currency": "usd", "capture_strategy": "automatic"},
    )
    assert paid.status_code in (401, 403)


def test_the_component_token_completes_its_checkout(sandbox: SandboxServer) -> None:
    async def body(provider: JustifiProvider) -> tuple[CheckoutSession, Any]:
        created = await provider.create_checkout(request())
        return created, await provider.embedded_checkout(created.provider_ref)

    created, embedded = with_provider(sandbox, body)
    completed = httpx.post(
        f"{sandbox.base_url}/justifi/v1/checkouts/{created.provider_ref}/complete",
        headers={
            "Authorization": f"Bearer {embedded.token}",
            "Idempotency-Key": new_idempotency_key(),
        },
        json={"payment_token": card_token(sandbox), "payment_mode": "ecom"},
    )
    assert completed.status_code == 201, completed.text
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.CAPTURED


def test_no_component_token_for_a_paid_or_unknown_checkout(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    pay_on_page(sandbox, created.provider_ref, "4242424242424242")
    recorder = Recorder()
    with pytest.raises(InvalidRequestError, match="completed"):
        with_provider(
            sandbox,
            lambda p: p.embedded_checkout(created.provider_ref),
            http=recording_http(sandbox, recorder),
        )
    assert recorder.posts("/web_component_tokens") == []
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.embedded_checkout("cho_doesnotexist"))


# -- pay by link -------------------------------------------------------------------------------


def test_a_checkout_link_is_paid_on_the_customers_phone(sandbox: SandboxServer) -> None:
    asked = replace(request(), mode=CheckoutMode.LINK)

    async def body(provider: JustifiProvider) -> CheckoutSession:
        assert Capability.PAY_BY_LINK in provider.capabilities
        return await provider.create_checkout(asked)

    created = with_provider(sandbox, body)
    # The phone cannot reach the till's success URL, so the link does not redirect there.
    assert created.hosted_url == (
        f"{sandbox.base_url}/justifi/hosted-checkout/{created.provider_ref}"
    )
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "$17.99" in page.text
    pay_on_page(sandbox, created.provider_ref, "4242424242424242")
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.CAPTURED


# -- the legacy flow: payment intent + checkout session --------------------------------------


def test_legacy_session_is_paid_on_its_page_and_looked_up(sandbox: SandboxServer) -> None:
    asked = request()
    created = with_provider(sandbox, lambda p: p.create_checkout(asked), **legacy(sandbox))
    assert created.provider_ref.startswith("pi_")
    assert created.state is PaymentState.PENDING
    assert created.amount == Money(1799, "USD")
    assert created.reference == asked.reference
    assert created.hosted_url is not None
    assert re.fullmatch(
        re.escape(f"{sandbox.base_url}/justifi/r/") + "[0-9a-f]{64}", created.hosted_url
    )
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "17.99" in page.text

    paid = pay_session_page(created.hosted_url, "4242424242424242")
    assert paid.status_code == 303
    assert paid.headers["location"] == asked.success_url

    session = with_provider(
        sandbox, lambda p: p.get_checkout(created.provider_ref), **legacy(sandbox)
    )
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref is not None
    assert session.payment_ref.startswith("py_")
    assert session.reference == asked.reference
    found = with_provider(sandbox, lambda p: p.find_checkout(asked.reference), **legacy(sandbox))
    assert found is not None
    assert found.provider_ref == created.provider_ref
    payment = with_provider(sandbox, lambda p: p.get_payment(session.payment_ref or ""))
    assert payment.state is PaymentState.CAPTURED
    assert payment.captured == Money(1799, "USD")


def test_legacy_decline_shows_on_lookup(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()), **legacy(sandbox))
    assert created.hosted_url is not None
    assert pay_session_page(created.hosted_url, "4000000000000002").status_code == 402
    session = with_provider(
        sandbox, lambda p: p.get_checkout(created.provider_ref), **legacy(sandbox)
    )
    assert session.state is PaymentState.DECLINED
    assert session.decline is not None
    assert session.decline.code is DeclineCode.DECLINED
    assert session.attempts == 1


def test_legacy_session_expires_after_a_day(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()), **legacy(sandbox))
    assert created.expires_at is not None
    later = created.expires_at + timedelta(seconds=1)
    session = with_provider(
        sandbox,
        lambda p: p.get_checkout(created.provider_ref),
        clock=lambda: later,
        **legacy(sandbox),
    )
    assert session.state is PaymentState.EXPIRED


def test_legacy_create_retried_with_the_same_key_makes_one_intent(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: JustifiProvider) -> tuple[str, str]:
        first = await provider.create_checkout(asked)
        again = await provider.create_checkout(asked)
        return first.provider_ref, again.provider_ref

    first, again = with_provider(sandbox, body, **legacy(sandbox))
    assert first == again
    intents = httpx.get(
        f"{sandbox.base_url}/justifi/v1/payment_intents", headers=platform_headers(sandbox)
    ).json()["data"]
    assert [i["id"] for i in intents] == [first]


def test_legacy_flow_offers_no_component_and_no_link(sandbox: SandboxServer) -> None:
    recorder = Recorder()

    async def body(provider: JustifiProvider) -> None:
        assert Capability.EMBEDDED_COMPONENT not in provider.capabilities
        assert Capability.PAY_BY_LINK not in provider.capabilities
        assert Capability.HOSTED_CHECKOUT in provider.capabilities
        with pytest.raises(NotSupportedError):
            await provider.embedded_checkout("pi_whatever")
        with pytest.raises(NotSupportedError):
            await provider.create_checkout(replace(request(), mode=CheckoutMode.LINK))
        with pytest.raises(InvalidRequestError, match="success URL"):
            await provider.create_checkout(replace(request(), success_url=None))

    with_provider(sandbox, body, http=recording_http(sandbox, recorder), **legacy(sandbox))
    assert recorder.requests == []
