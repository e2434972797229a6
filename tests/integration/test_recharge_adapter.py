"""The ReCharge adapter against the sandbox over real loopback HTTP.

A declined card is answered 402 to the charge and leaves the checkout open, with neither
``completed_at`` nor ``charge_id``: a lookup therefore reports it PENDING (the customer may
still pay with another card), not DECLINED.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.recharge.adapter import RechargeConfig, RechargeProvider
from pos_app.providers.types import Capability, CheckoutRequest
from pos_sandbox.recharge.api import SANDBOX_RECHARGE_TOKEN

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_sandbox.server import SandboxServer

T = TypeVar("T")
VERSIONS = ["2021-01", "2021-11"]
RECEIPTS = "receipts@shop.example"


def config_for(sandbox: SandboxServer, **overrides: Any) -> RechargeConfig:
    base = f"{sandbox.base_url}/recharge"
    values: dict[str, Any] = {
        "api_base_url": base,
        "access_token": SANDBOX_RECHARGE_TOKEN,
        "hosted_base_url": base,
        "receipt_email": RECEIPTS,
    }
    values.update(overrides)
    return RechargeConfig(**values)


def with_provider(
    sandbox: SandboxServer,
    body: Callable[[RechargeProvider], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    max_rate_limit_waits: int = 5,
    **overrides: Any,
) -> T:
    async def go() -> T:
        provider = RechargeProvider(
            config_for(sandbox, **overrides),
            sleep=sleep or asyncio.sleep,
            max_rate_limit_waits=max_rate_limit_waits,
        )
        try:
            return await body(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def request(minor: int = 1799, description: str = "One chocolate donut") -> CheckoutRequest:
    return CheckoutRequest(
        reference=new_reference(),
        amount=Money(minor, "USD"),
        description=description,
        idempotency_key=new_idempotency_key(),
    )


def customer_pays(sandbox: SandboxServer, token: str, card: str) -> httpx.Response:
    """What the hosted page does for the customer, headlessly."""
    return sandbox.control.request("POST", "recharge/pay", json={"token": token, "card": card})


def test_capabilities_are_what_the_class_implements(sandbox: SandboxServer) -> None:
    provider = RechargeProvider(config_for(sandbox))
    assert isinstance(provider, PaymentProvider)
    assert provider.capabilities == {
        Capability.HOSTED_CHECKOUT,
        Capability.DIRECT_CHARGE,
        Capability.LOOKUP,
    }
    assert provider.limits.check(Money(1, "USD")) is None
    asyncio.run(provider.aclose())


@pytest.mark.parametrize("version", VERSIONS)
def test_create_then_get_a_checkout(sandbox: SandboxServer, version: str) -> None:
    asked = request(minor=123456)

    async def body(provider: RechargeProvider) -> tuple[Any, Any]:
        created = await provider.create_checkout(asked)
        return created, await provider.get_checkout(created.provider_ref)

    created, looked_up = with_provider(sandbox, body, api_version=version)
    assert created.state is PaymentState.PENDING
    assert created.amount == Money(123456, "USD")
    assert created.reference == asked.reference
    assert created.hosted_url == (f"{sandbox.base_url}/recharge/r/checkout/{created.provider_ref}")
    assert looked_up == created


def test_the_hosted_page_serves_the_checkout(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request(minor=10)))
    assert created.hosted_url is not None
    page = httpx.get(created.hosted_url)
    assert page.status_code == 200
    assert "0.10" in page.text
    assert "One chocolate donut" in page.text


@pytest.mark.parametrize("version", VERSIONS)
def test_paid_checkout_is_captured_on_lookup(sandbox: SandboxServer, version: str) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()), api_version=version)
    paid = customer_pays(sandbox, created.provider_ref, "4242424242424242")
    assert paid.status_code == 200, paid.text
    session = with_provider(
        sandbox, lambda p: p.get_checkout(created.provider_ref), api_version=version
    )
    assert session.state is PaymentState.CAPTURED
    assert session.payment_ref == created.provider_ref  # the paid checkout is the payment
    assert session.amount == Money(1799, "USD")
    payment = with_provider(sandbox, lambda p: p.get_payment(created.provider_ref))
    assert payment.state is PaymentState.CAPTURED
    assert [a.provider_ref for a in payment.actions] == [
        str(paid.json()["checkout_charge"]["charge_id"])
    ]
    assert session.card is None  # ReCharge's checkout does not tell the card


def test_a_declined_card_leaves_the_checkout_open_for_another(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    declined = customer_pays(sandbox, created.provider_ref, "4000000000000002")
    assert declined.status_code == 402
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.PENDING
    assert session.decline is None
    assert session.payment_ref is None
    assert customer_pays(sandbox, created.provider_ref, "5555555555554444").status_code == 200
    session = with_provider(sandbox, lambda p: p.get_checkout(created.provider_ref))
    assert session.state is PaymentState.CAPTURED


def rate_limited(sandbox: SandboxServer, method: str, path: str, times: int | None = 1) -> None:
    """The next ``times`` matching calls answer 429 with ``Retry-After: 1``, as a full bucket
    does. (Filling the sandbox's real bucket races its 2-per-second leak on a busy machine.)"""
    added = sandbox.control.request(
        "POST",
        "faults",
        json={
            "method": method,
            "path": f"/recharge{path}",
            "kind": "status",
            "status": 429,
            "retry_after": 1,
            "times": times,
        },
    )
    assert added.status_code == 201, added.text


def clock_advancing_sleep(sandbox: SandboxServer, slept: list[float]) -> Any:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        async with httpx.AsyncClient(headers=sandbox.control_headers) as control:
            moved = await control.post(
                f"{sandbox.base_url}/_sandbox/clock/advance", json={"seconds": seconds}
            )
        assert moved.status_code == 200

    return sleep


def test_a_full_rate_limit_bucket_is_waited_out_then_the_create_succeeds(
    sandbox: SandboxServer,
) -> None:
    rate_limited(sandbox, "POST", "/checkouts")
    slept: list[float] = []

    async def body(provider: RechargeProvider) -> Any:
        session = await provider.create_checkout(request())
        return session, provider.rate_limit

    session, limit = with_provider(sandbox, body, sleep=clock_advancing_sleep(sandbox, slept))
    assert session.state is PaymentState.PENDING
    assert slept == [1.0]  # the 429's Retry-After
    assert limit is not None
    assert limit[1] == 40


def test_a_lookup_waits_out_the_rate_limit_too(sandbox: SandboxServer) -> None:
    created = with_provider(sandbox, lambda p: p.create_checkout(request()))
    rate_limited(sandbox, "GET", f"/checkouts/{created.provider_ref}")
    slept: list[float] = []
    session = with_provider(
        sandbox,
        lambda p: p.get_checkout(created.provider_ref),
        sleep=clock_advancing_sleep(sandbox, slept),
    )
    assert session.provider_ref == created.provider_ref
    assert slept
    assert all(s >= 1.0 for s in slept)


def test_a_rate_limit_that_does_not_clear_gives_up_after_bounded_waits(
    sandbox: SandboxServer,
) -> None:
    rate_limited(sandbox, "POST", "/checkouts", times=None)
    slept: list[float] = []

    async def no_time_passes(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(RateLimitedError) as caught:
        with_provider(
            sandbox,
            lambda p: p.create_checkout(request()),
            sleep=no_time_passes,
            max_rate_limit_waits=2,
        )
    assert caught.value.status == 429
    assert not caught.value.maybe_applied
    assert slept == [1.0, 1.0]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503},  # answered 5xx: may or may not have been applied
        {"kind": "reset_after"},  # applied, then the connection dropped
    ],
)
def test_a_create_without_an_answer_is_outcome_unknown_and_not_repeated(
    sandbox: SandboxServer, fault: dict[str, Any]
) -> None:
    added = sandbox.control.request(
        "POST",
        "faults",
        json={"path": "/recharge/checkouts", "method": "POST", "times": 1, **fault},
    )
    assert added.status_code == 201, added.text
    config = config_for(sandbox)

    async def go() -> int:
        http = ProviderHttpClient(
            config.api_base_url,
            provider="recharge",
            idempotency_header=None,
            retry=RetryPolicy(base_delay=0.0),
        )
        provider = RechargeProvider(config, http)
        try:
            with pytest.raises(OutcomeUnknownError):
                await provider.create_checkout(request())
        finally:
            await provider.aclose()
        return http.attempts_made

    assert asyncio.run(go()) == 1  # no idempotency key exists: sent once, never repeated


def test_wrong_token_is_an_authentication_error(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthenticationError):
        with_provider(sandbox, lambda p: p.create_checkout(request()), access_token="nope")


def test_provider_error_bodies_reach_the_caller(sandbox: SandboxServer) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        with_provider(sandbox, lambda p: p.create_checkout(request(minor=100_000_001)))
    assert caught.value.status == 422
    assert caught.value.provider_code == "line_items[0].price"
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_checkout("0" * 32))


def test_find_checkout_is_not_offered_by_recharge(sandbox: SandboxServer) -> None:
    asked = request()

    async def body(provider: RechargeProvider) -> Any:
        await provider.create_checkout(asked)
        return await provider.find_checkout(asked.reference)

    assert with_provider(sandbox, body) is None


def test_sandbox_that_is_down_fails_cleanly(sandbox: SandboxServer) -> None:
    config = config_for(sandbox)
    sandbox.stop()

    async def go() -> None:
        http = ProviderHttpClient(
            config.api_base_url,
            provider="recharge",
            idempotency_header=None,
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )
        provider = RechargeProvider(config, http)
        try:
            await provider.create_checkout(request())
        finally:
            await provider.aclose()

    with pytest.raises(ConnectionFailedError):
        asyncio.run(go())


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"access_token": ""}, "access_token"),
        ({"api_version": "2019"}, "2019"),
        ({"receipt_email": "nobody"}, "email"),
    ],
)
def test_incomplete_profile_is_a_configuration_error(overrides: dict[str, Any], match: str) -> None:
    values: dict[str, Any] = {"api_base_url": "http://x", "access_token": "t", **overrides}
    with pytest.raises(ConfigurationError, match=match):
        RechargeProvider(RechargeConfig(**values))
