"""Webhooks the sandbox signs, as each provider does, verify; tampered or replayed ones do not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pos_app.providers.webhooks import (
    DuplicateEventError,
    ReplayGuard,
    VerifiedEvent,
    WebhookSignatureError,
    verify_checkout_com,
    verify_justifi,
    verify_recharge,
)
from pos_app.sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from pos_app.sandbox.webhooks import DEFAULT_SECRETS
from tests.integration.test_sandbox_checkout_com import pay as checkout_com_payment
from tests.integration.test_sandbox_recharge import create as recharge_checkout

Verifier = Callable[[bytes, dict[str, str], str], VerifiedEvent]


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
        yield http


def recorded(client: httpx.Client, provider: str) -> dict[str, Any]:
    events = client.get("/_sandbox/webhooks", params={"provider": provider}).json()["data"]
    assert events, f"the sandbox recorded no {provider} webhook"
    return dict(events[0])


def justifi_event(client: httpx.Client) -> dict[str, Any]:
    token = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    ).json()
    created = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "Donut"},
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Sub-Account": SANDBOX_SUB_ACCOUNT,
        },
    )
    assert created.status_code == 201
    return recorded(client, "justifi")


def checkout_com_event(client: httpx.Client) -> dict[str, Any]:
    assert checkout_com_payment(client).status_code == 201
    return recorded(client, "checkout_com")


def recharge_event(client: httpx.Client) -> dict[str, Any]:
    recharge_checkout(client)
    return recorded(client, "recharge")


CASES: list[tuple[str, Callable[[httpx.Client], dict[str, Any]], Verifier]] = [
    ("justifi", justifi_event, verify_justifi),
    ("checkout_com", checkout_com_event, verify_checkout_com),
    ("recharge", recharge_event, verify_recharge),
]


@pytest.mark.parametrize(("provider", "make_event", "verify"), CASES, ids=[c[0] for c in CASES])
def test_real_events_verify_and_tampering_is_refused(
    client: httpx.Client,
    provider: str,
    make_event: Callable[[httpx.Client], dict[str, Any]],
    verify: Verifier,
) -> None:
    event = make_event(client)
    body, headers = event["body"].encode(), dict(event["headers"])
    secret = DEFAULT_SECRETS[provider]

    verified = verify(body, headers, secret)
    assert verified.provider == provider
    assert verified.payload
    assert verified.event_id

    with pytest.raises(WebhookSignatureError):
        verify(body.replace(b"1", b"2", 1) + b" ", headers, secret)  # body changed
    with pytest.raises(WebhookSignatureError):
        verify(body, headers, secret + "x")  # someone else's secret
    with pytest.raises(WebhookSignatureError):
        verify(body, {"Content-Type": "application/json"}, secret)  # unsigned

    guard = ReplayGuard()
    guard.admit(verified)
    with pytest.raises(DuplicateEventError):
        guard.admit(verify(body, headers, secret))  # the same event delivered twice


def test_justifi_timestamps_can_be_held_to_a_tolerance(client: httpx.Client) -> None:
    event = justifi_event(client)
    body, headers = event["body"].encode(), dict(event["headers"])
    secret = DEFAULT_SECRETS["justifi"]
    sent = datetime.fromisoformat(headers["JUSTIFI-TIMESTAMP"].replace("Z", "+00:00"))
    verify_justifi(
        body, headers, secret, now=sent + timedelta(minutes=1), tolerance=timedelta(minutes=5)
    )
    with pytest.raises(WebhookSignatureError, match="too old"):
        verify_justifi(
            body, headers, secret, now=sent + timedelta(hours=1), tolerance=timedelta(minutes=5)
        )
    # The signature covers the timestamp: moving it breaks the signature.
    moved = {**headers, "JUSTIFI-TIMESTAMP": datetime.now(UTC).isoformat()}
    with pytest.raises(WebhookSignatureError):
        verify_justifi(body, moved, secret)


def test_the_replay_guard_forgets_only_the_oldest() -> None:
    guard = ReplayGuard(capacity=2)
    events = [VerifiedEvent("justifi", f"evt_{n}", "payment.succeeded", {}) for n in range(3)]
    for event in events:
        guard.admit(event)
    guard.admit(events[0])  # pushed out by the third, so admitted again
    with pytest.raises(DuplicateEventError):
        guard.admit(events[2])
