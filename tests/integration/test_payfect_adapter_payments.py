"""Payfect lookups as payments, the connection check, and what Payfect does not offer,
against the sandbox over real loopback HTTP.

A Payfect checkout is paid at most once and Payfect has no payment lookup, so the payment ref
is the checkout id (pos_app/providers/payfect/mapping/__init__.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    NotFoundError,
    NotSupportedError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider
from pos_app.providers.types import (
    CaptureRequest,
    ChargeRequest,
    PaymentSource,
    RefundRequest,
    SourceKind,
    VoidRequest,
)
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY
from tests.integration.test_payfect_adapter import DAY, control, created, request, with_provider

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_sandbox.server import SandboxServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payfect"
RETRIEVED = json.loads((FIXTURES / "checkout-retrieve.response.example.json").read_text())


def counted(
    sandbox: SandboxServer,
    call: Callable[[PayfectProvider], Awaitable[Any]],
    api_key: str = SANDBOX_PAYFECT_API_KEY,
) -> tuple[Any, int]:
    """``call``'s result (or the exception it raised) and how many requests it sent."""

    async def go() -> tuple[Any, int]:
        base = f"{sandbox.base_url}/payfect"
        http = ProviderHttpClient(
            base, provider="payfect", idempotency_header=None, retry=RetryPolicy(base_delay=0)
        )
        provider = PayfectProvider(PayfectConfig(base, api_key), http)
        try:
            return await call(provider), http.attempts_made
        except Exception as exc:  # noqa: BLE001 - the test compares what was raised
            return exc, http.attempts_made
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_a_paid_checkout_is_a_captured_payment(sandbox: SandboxServer) -> None:
    asked = request(1799)
    made = created(sandbox, asked)
    pending = with_provider(sandbox, lambda p: p.get_payment(made.provider_ref))
    assert pending.state is PaymentState.PENDING
    assert pending.captured == Money(0, "USD")
    assert pending.actions == ()

    control(sandbox, "/_sandbox/payfect/pay", {"id": made.provider_ref})
    session = with_provider(sandbox, lambda p: p.get_checkout(made.provider_ref))
    assert session.payment_ref is not None
    paid = with_provider(sandbox, lambda p: p.get_payment(session.payment_ref or ""))
    assert paid.state is PaymentState.CAPTURED
    assert paid.provider_ref == made.provider_ref
    assert paid.amount == paid.captured == Money(1799, "USD")
    assert paid.refunded == Money(0, "USD")
    assert paid.reference == asked.reference
    [action] = paid.actions
    assert action.approved
    assert action.amount == Money(1799, "USD")


def test_an_unpaid_checkout_expires_as_a_payment_too(sandbox: SandboxServer) -> None:
    made = created(sandbox)
    control(sandbox, "/_sandbox/clock/advance", {"seconds": DAY})
    expired = with_provider(sandbox, lambda p: p.get_payment(made.provider_ref))
    assert expired.state is PaymentState.EXPIRED
    assert expired.captured == Money(0, "USD")


def test_get_payment_of_an_unknown_checkout_is_not_found(sandbox: SandboxServer) -> None:
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_payment("ed8d24aa-a860-426b-8e56-87cb9f55a081"))


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "ed8d24aa-a860-426b-8e56-87cb9f55a081", "status": "paid"},  # unknown status
        {**RETRIEVED, "id": "someone-else"},  # a whole, valid checkout, but not ours
        ["not", "a", "checkout"],
    ],
)
def test_a_lookup_answered_with_garbage_is_response_invalid(answer: Any) -> None:
    ref = "ed8d24aa-a860-426b-8e56-87cb9f55a081"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    async def go() -> None:
        http = ProviderHttpClient(
            "http://payfect.invalid",
            provider="payfect",
            idempotency_header=None,
            transport=httpx.MockTransport(handler),
        )
        provider = PayfectProvider(PayfectConfig("http://payfect.invalid", "k.k"), http)
        try:
            await provider.get_payment(ref)
        finally:
            await provider.aclose()

    with pytest.raises(ResponseInvalidError):
        asyncio.run(go())


def test_check_connection_proves_the_key_and_changes_nothing(sandbox: SandboxServer) -> None:
    result, sent = counted(sandbox, lambda p: p.check_connection())
    assert result is None
    assert sent == 1
    events = sandbox.control.request("GET", "webhooks", params={"provider": "payfect"})
    assert events.json()["data"] == []
    refused, _ = counted(sandbox, lambda p: p.check_connection(), api_key="nope.nope")
    assert isinstance(refused, AuthenticationError)
    assert refused.status == 403


def unsupported() -> list[tuple[str, Callable[[PayfectProvider], Awaitable[Any]]]]:
    money = Money(100, "USD")
    charge = ChargeRequest("S-1", money, "x", "k", PaymentSource(SourceKind.TOKEN, "tok"))
    return [
        ("charge", lambda p: p.charge(charge)),
        ("capture", lambda p: p.capture(CaptureRequest("c", "k"))),
        ("refund", lambda p: p.refund(RefundRequest("c", money, "r", "k", "R-1"))),
        ("void", lambda p: p.void(VoidRequest("c", "k"))),
        ("find_payment", lambda p: p.find_payment("S-1")),
        ("embedded", lambda p: p.embedded_checkout("c")),
    ]


@pytest.mark.parametrize(("name", "call"), unsupported(), ids=[c[0] for c in unsupported()])
def test_what_payfect_does_not_offer_is_refused_without_sending(
    sandbox: SandboxServer, name: str, call: Callable[[PayfectProvider], Awaitable[Any]]
) -> None:
    result, sent = counted(sandbox, call)
    assert isinstance(result, NotSupportedError), result
    assert sent == 0
