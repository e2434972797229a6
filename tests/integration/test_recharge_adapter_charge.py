"""ReCharge charges, lookups, connection checks and what ReCharge does not offer, against
the sandbox over real loopback HTTP.

ReCharge has no idempotency header, so a charge whose answer is lost is settled by looking
the checkout up; these tests count the charges the sandbox really made (its ``charge/*``
webhooks) to prove nothing was ever charged twice.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    OutcomeUnknownError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, RetryPolicy
from pos_app.providers.recharge.adapter import RechargeConfig, RechargeProvider
from pos_app.providers.types import (
    CaptureRequest,
    ChargeRequest,
    CheckoutRequest,
    CheckoutSession,
    DeclineCode,
    PaymentSource,
    ProviderPayment,
    RefundRequest,
    SourceKind,
    VoidRequest,
)
from tests.integration.test_recharge_adapter import (
    VERSIONS,
    clock_advancing_sleep,
    config_for,
    rate_limited,
    with_provider,
)
from tests.unit.test_recharge_mapping import CHARGED, OPEN_2021_11

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pos_sandbox.server import SandboxServer

T = TypeVar("T")


def open_checkout(sandbox: SandboxServer, minor: int = 1799, **overrides: Any) -> CheckoutSession:
    asked = CheckoutRequest(
        reference=new_reference(),
        amount=Money(minor, "USD"),
        description="One chocolate donut",
        idempotency_key=new_idempotency_key(),
    )
    return with_provider(sandbox, lambda p: p.create_checkout(asked), **overrides)


def charge_request(
    session: CheckoutSession,
    token: str = "tok_visa",
    *,
    kind: SourceKind = SourceKind.TOKEN,
    minor: int | None = None,
    reference: str | None = None,
    capture: bool = True,
) -> ChargeRequest:
    return ChargeRequest(
        reference=reference or session.reference or "",
        amount=Money(minor, "USD") if minor is not None else session.amount,
        description="One chocolate donut",
        idempotency_key=new_idempotency_key(),
        source=PaymentSource(kind, token),
        capture=capture,
        checkout_ref=session.provider_ref,
    )


def charges_made(sandbox: SandboxServer, token: str) -> list[str]:
    """The charge events the sandbox recorded for this checkout: one per charge it made."""
    events = sandbox.control.request("GET", "webhooks", params={"provider": "recharge"})
    return [
        e["event_type"]
        for e in events.json()["data"]
        if e["event_type"].startswith("charge/")
        and json.loads(e["body"])["charge"]["checkout_token"] == token
    ]


def add_fault(sandbox: SandboxServer, **fault: Any) -> None:
    added = sandbox.control.request("POST", "faults", json=fault)
    assert added.status_code == 201, added.text


def with_counting_provider(
    sandbox: SandboxServer, body: Callable[[RechargeProvider], Awaitable[T]]
) -> tuple[T | BaseException, int]:
    """Run ``body`` with an HTTP client whose sends are counted; backoff does not wait."""

    async def go() -> tuple[T | BaseException, int]:
        config = config_for(sandbox)
        http = ProviderHttpClient(
            config.api_base_url,
            provider="recharge",
            idempotency_header=None,
            retry=RetryPolicy(base_delay=0.0),
        )
        provider = RechargeProvider(config, http)
        try:
            return await body(provider), http.attempts_made
        except Exception as exc:  # noqa: BLE001 - the test compares what was raised
            return exc, http.attempts_made
        finally:
            await provider.aclose()

    return asyncio.run(go())


# -- charge ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_an_approved_charge_is_captured_and_confirmed_by_lookup(
    sandbox: SandboxServer, version: str
) -> None:
    session = open_checkout(sandbox, 123456, api_version=version)

    async def body(provider: RechargeProvider) -> tuple[ProviderPayment, ProviderPayment]:
        charged = await provider.charge(charge_request(session))
        return charged, await provider.get_payment(charged.provider_ref)

    charged, looked_up = with_provider(sandbox, body, api_version=version)
    assert charged.state is PaymentState.CAPTURED
    assert charged.provider_ref == session.provider_ref
    assert charged.amount == charged.captured == Money(123456, "USD")
    assert charged.reference == session.reference
    assert charged.decline is None
    [action] = charged.actions
    assert action.kind == "charge"
    assert action.approved
    assert looked_up == charged
    assert charges_made(sandbox, session.provider_ref) == ["charge/paid"]


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        ("tok_chargeDeclined", DeclineCode.DECLINED, "Your card was declined."),
        (
            "tok_chargeDeclinedInsufficientFunds",
            DeclineCode.INSUFFICIENT_FUNDS,
            "Your card has insufficient funds.",
        ),
        ("fake-processor-declined-visa-nonce", DeclineCode.DECLINED, "Your card was declined."),
    ],
)
def test_a_declined_charge_is_data_and_the_checkout_stays_open(
    sandbox: SandboxServer, token: str, code: DeclineCode, message: str
) -> None:
    session = open_checkout(sandbox)
    declined = with_provider(sandbox, lambda p: p.charge(charge_request(session, token)))
    assert declined.state is PaymentState.DECLINED
    assert declined.captured == Money(0, "USD")
    assert declined.decline is not None
    assert declined.decline.code is code
    assert declined.decline.provider_message == message
    looked_up = with_provider(sandbox, lambda p: p.get_payment(session.provider_ref))
    assert looked_up.state is PaymentState.PENDING  # another card may still pay
    again = with_provider(sandbox, lambda p: p.charge(charge_request(session, "tok_mastercard")))
    assert again.state is PaymentState.CAPTURED
    assert charges_made(sandbox, session.provider_ref) == ["charge/failed", "charge/paid"]


def test_a_charge_whose_answer_is_lost_after_it_applied_is_found_by_lookup(
    sandbox: SandboxServer,
) -> None:
    session = open_checkout(sandbox)
    path = f"/recharge/checkouts/{session.provider_ref}/charge"
    add_fault(sandbox, method="POST", path=path, kind="reset_after", times=1)
    result, _ = with_counting_provider(sandbox, lambda p: p.charge(charge_request(session)))
    assert isinstance(result, ProviderPayment), result
    assert result.state is PaymentState.CAPTURED
    assert result.amount == result.captured == session.amount
    assert charges_made(sandbox, session.provider_ref) == ["charge/paid"]  # exactly one


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reset_before"},  # the request never reached the handler
        {"kind": "status", "status": 503},  # answered 5xx without applying it
    ],
)
def test_a_charge_whose_answer_is_lost_before_it_applied_reads_as_unpaid(
    sandbox: SandboxServer, fault: dict[str, Any]
) -> None:
    session = open_checkout(sandbox)
    path = f"/recharge/checkouts/{session.provider_ref}/charge"
    add_fault(sandbox, method="POST", path=path, times=1, **fault)
    result, _ = with_counting_provider(sandbox, lambda p: p.charge(charge_request(session)))
    assert isinstance(result, ProviderPayment), result
    assert result.state is PaymentState.PENDING  # no money taken; the checkout is still open
    assert result.captured == Money(0, "USD")
    assert charges_made(sandbox, session.provider_ref) == []  # and it was not sent again


def test_a_lost_charge_whose_lookup_fails_too_is_outcome_unknown(sandbox: SandboxServer) -> None:
    session = open_checkout(sandbox)
    lookups = f"/recharge/checkouts/{session.provider_ref}"
    # The lookup before the charge passes; every lookup after it fails.
    add_fault(sandbox, method="GET", path=lookups, kind="latency", latency_ms=0, times=1)
    add_fault(sandbox, method="GET", path=lookups, kind="status", status=503, times=None)
    add_fault(sandbox, method="POST", path=f"{lookups}/charge", kind="reset_after", times=1)
    result, _ = with_counting_provider(sandbox, lambda p: p.charge(charge_request(session)))
    assert isinstance(result, OutcomeUnknownError), result
    assert result.maybe_applied
    assert charges_made(sandbox, session.provider_ref) == ["charge/paid"]  # never repeated


def test_a_rate_limited_charge_is_waited_out_then_charged_once(sandbox: SandboxServer) -> None:
    session = open_checkout(sandbox)
    rate_limited(sandbox, "POST", f"/checkouts/{session.provider_ref}/charge")
    slept: list[float] = []
    charged = with_provider(
        sandbox,
        lambda p: p.charge(charge_request(session)),
        sleep=clock_advancing_sleep(sandbox, slept),
    )
    assert charged.state is PaymentState.CAPTURED
    assert slept == [1.0]  # refused before anything happened, so safe to send again
    assert charges_made(sandbox, session.provider_ref) == ["charge/paid"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"minor": 1800}, "not the 18.00"),
        ({"reference": "S-someone-else"}, "another sale"),
    ],
)
def test_a_charge_that_disagrees_with_the_checkout_is_refused_before_sending(
    sandbox: SandboxServer, change: dict[str, Any], match: str
) -> None:
    session = open_checkout(sandbox)
    with pytest.raises(ResponseInvalidError, match=match):
        with_provider(sandbox, lambda p: p.charge(charge_request(session, **change)))
    assert charges_made(sandbox, session.provider_ref) == []


def test_a_paid_checkout_is_not_charged_again(sandbox: SandboxServer) -> None:
    session = open_checkout(sandbox)
    with_provider(sandbox, lambda p: p.charge(charge_request(session)))
    with pytest.raises(InvalidRequestError, match="already paid"):
        with_provider(sandbox, lambda p: p.charge(charge_request(session, "tok_amex")))
    assert charges_made(sandbox, session.provider_ref) == ["charge/paid"]


def test_an_unknown_processor_token_is_an_invalid_request(sandbox: SandboxServer) -> None:
    session = open_checkout(sandbox)
    with pytest.raises(InvalidRequestError) as caught:
        with_provider(sandbox, lambda p: p.charge(charge_request(session, "tok_nope")))
    assert caught.value.status == 422
    assert caught.value.provider_code == "payment_token"


# -- lookups and the connection check ------------------------------------------------------


def test_get_payment_of_an_unknown_checkout_is_not_found(sandbox: SandboxServer) -> None:
    with pytest.raises(NotFoundError):
        with_provider(sandbox, lambda p: p.get_payment("0" * 32))


def test_check_connection_proves_the_token_and_changes_nothing(sandbox: SandboxServer) -> None:
    result, sent = with_counting_provider(sandbox, lambda p: p.check_connection())
    assert result is None
    assert sent == 1
    events = sandbox.control.request("GET", "webhooks", params={"provider": "recharge"})
    assert events.json()["data"] == []
    with pytest.raises(AuthenticationError):
        with_provider(sandbox, lambda p: p.check_connection(), access_token="nope")


# -- what ReCharge does not offer ----------------------------------------------------------


def unsupported_calls() -> list[tuple[str, Callable[[RechargeProvider], Awaitable[Any]]]]:
    session = CheckoutSession(
        provider_ref="0" * 32,
        state=PaymentState.PENDING,
        provider_status="open",
        amount=Money(100, "USD"),
        reference="S-1",
        hosted_url=None,
        expires_at=None,
    )
    money = Money(100, "USD")
    return [
        ("authorize only", lambda p: p.charge(charge_request(session, capture=False))),
        (
            "stored source",
            lambda p: p.charge(charge_request(session, "src_1", kind=SourceKind.STORED_SOURCE)),
        ),
        ("capture", lambda p: p.capture(CaptureRequest("0" * 32, "k"))),
        ("refund", lambda p: p.refund(RefundRequest("0" * 32, money, "r", "k", "R-1"))),
        ("void", lambda p: p.void(VoidRequest("0" * 32, "k"))),
        ("find_payment", lambda p: p.find_payment("S-1")),
        ("embedded", lambda p: p.embedded_checkout("0" * 32)),
    ]


@pytest.mark.parametrize(
    ("name", "call"), unsupported_calls(), ids=[c[0] for c in unsupported_calls()]
)
def test_what_recharge_does_not_offer_is_refused_without_sending(
    sandbox: SandboxServer, name: str, call: Callable[[RechargeProvider], Awaitable[Any]]
) -> None:
    result, sent = with_counting_provider(sandbox, call)
    assert isinstance(result, NotSupportedError), result
    assert sent == 0


# -- answers that cannot be trusted (a stand-in ReCharge, no sandbox) -----------------------


def stand_in(checkout: dict[str, Any], charge: httpx.Response) -> RechargeProvider:
    """A provider whose ReCharge answers lookups with ``checkout`` and the charge with
    ``charge``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=checkout)
        return charge

    config = RechargeConfig(api_base_url="http://recharge.invalid", access_token="t")
    http = ProviderHttpClient(
        config.api_base_url,
        provider="recharge",
        idempotency_header=None,
        transport=httpx.MockTransport(handler),
    )
    return RechargeProvider(config, http)


def stand_in_request() -> ChargeRequest:
    data = OPEN_2021_11["checkout"]
    session = CheckoutSession(
        provider_ref=data["token"],
        state=PaymentState.PENDING,
        provider_status="open",
        amount=Money(1799, "USD"),
        reference="S-1",
        hosted_url=None,
        expires_at=None,
    )
    return charge_request(session)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(
            200, json={"checkout_charge": {**CHARGED["checkout_charge"], "status": "?"}}
        ),
        httpx.Response(200, json={"checkout": OPEN_2021_11["checkout"]}),
        httpx.Response(200, text="<html>ok</html>"),
        # Accepted, yet the checkout does not show the charge: never a success.
        httpx.Response(200, json=CHARGED),
    ],
    ids=["unknown-status", "wrong-object", "not-json", "charge-not-on-checkout"],
)
def test_a_charge_answer_that_cannot_be_trusted_is_response_invalid(answer: httpx.Response) -> None:
    async def go() -> None:
        provider = stand_in(copy.deepcopy(OPEN_2021_11), answer)
        try:
            await provider.charge(stand_in_request())
        finally:
            await provider.aclose()

    with pytest.raises(ResponseInvalidError):
        asyncio.run(go())
