"""Webhooks the sandbox signs, as each of the four providers does, verify and name the object
to look up; tampered, foreign, unsigned or replayed ones do not get through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.fernet import Fernet

from pos_app.journal.webhook_events import KEEP_FOR, SeenWebhookEvents
from pos_app.providers.checkout_com.webhooks import verify_checkout_com
from pos_app.providers.justifi.webhooks import verify_justifi
from pos_app.providers.payfect.webhooks import verify_payfect
from pos_app.providers.recharge.webhooks import verify_recharge
from pos_app.providers.registry import parse_event
from pos_app.providers.webhooks import VerifiedEvent, WebhookEvent, WebhookSignatureError
from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY
from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from tests.sandbox.test_checkout_com import pay as checkout_com_payment
from tests.sandbox.test_payfect import request_body as payfect_body
from tests.sandbox.test_recharge import charge as recharge_charge
from tests.sandbox.test_recharge import create as recharge_checkout

if TYPE_CHECKING:
    from pathlib import Path

Verifier = Callable[[bytes, dict[str, str], str], VerifiedEvent]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # an injected clock; compared with nothing else


@dataclass(frozen=True)
class Sent:
    """One event the sandbox recorded, and what a receiver should make of it."""

    body: bytes
    headers: dict[str, str]
    event_type: str
    object_ref: str
    reference: str | None


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
    ) as http:
        yield http


def recorded(client: httpx.Client, provider: str, event_type: str) -> tuple[bytes, dict[str, str]]:
    events = client.get("/_sandbox/webhooks", params={"provider": provider}).json()["data"]
    matching = [e for e in events if e["event_type"] == event_type]
    assert matching, f"the sandbox recorded no {provider} {event_type} webhook"
    return matching[0]["body"].encode(), dict(matching[0]["headers"])


def justifi_event(client: httpx.Client) -> Sent:
    token = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    ).json()
    created = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "Donut", "metadata": {"pos_reference": "S-J1"}},
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Sub-Account": SANDBOX_SUB_ACCOUNT,
        },
    )
    assert created.status_code == 201, created.text
    body, headers = recorded(client, "justifi", "checkout.created")
    return Sent(body, headers, "checkout.created", created.json()["id"], "S-J1")


def checkout_com_event(client: httpx.Client) -> Sent:
    paid = checkout_com_payment(client)
    assert paid.status_code == 201, paid.text
    body, headers = recorded(client, "checkout_com", "payment_approved")
    return Sent(body, headers, "payment_approved", paid.json()["id"], "ORD-1")


def recharge_checkout_event(client: httpx.Client) -> Sent:
    checkout = recharge_checkout(
        client, note_attributes=[{"name": "pos_reference", "value": "S-R1"}]
    )
    body, headers = recorded(client, "recharge", "checkout/created")
    return Sent(body, headers, "checkout/created", checkout["token"], "S-R1")


def recharge_charge_event(client: httpx.Client) -> Sent:
    gum = {"title": "Gum", "price": "0.10", "quantity": 1, "requires_shipping": False}
    token = recharge_checkout(client, email="till@shop.example", line_items=[gum])["token"]
    assert recharge_charge(client, token, "tok_visa").status_code == 200
    body, headers = recorded(client, "recharge", "charge/paid")
    # A charge names the checkout it paid (the ReCharge payment ref), not our reference.
    return Sent(body, headers, "charge/paid", token, None)


def payfect_event(client: httpx.Client) -> Sent:
    created = client.post(
        "/payfect/api/v1/checkouts/",
        json=payfect_body(client_reference_id="S-P1"),
        headers={"Authorization": f"Api-Key {SANDBOX_PAYFECT_API_KEY}"},
    )
    assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    assert client.post("/_sandbox/payfect/pay", json={"id": checkout_id}).is_success
    body, headers = recorded(client, "payfect", "checkout.completed")
    return Sent(body, headers, "succeeded", checkout_id, "S-P1")


@dataclass(frozen=True)
class Scheme:
    provider: str
    make: Callable[[httpx.Client], Sent]
    verify: Verifier
    foreign_secret: str  # a well-formed secret that is not the sandbox's


CASES = [
    Scheme("justifi", justifi_event, verify_justifi, "another-justifi-secret"),
    Scheme("checkout_com", checkout_com_event, verify_checkout_com, "another-cko-key"),
    Scheme("recharge", recharge_checkout_event, verify_recharge, "another-client-secret"),
    Scheme("recharge", recharge_charge_event, verify_recharge, "another-client-secret"),
    Scheme("payfect", payfect_event, verify_payfect, Fernet.generate_key().decode()),
]
IDS = ["justifi", "checkout_com", "recharge-checkout", "recharge-charge", "payfect"]


@pytest.mark.parametrize("scheme", CASES, ids=IDS)
def test_real_events_verify_and_name_what_to_look_up(client: httpx.Client, scheme: Scheme) -> None:
    sent = scheme.make(client)
    verified = scheme.verify(sent.body, sent.headers, WEBHOOK_SECRETS[scheme.provider])
    assert verified.provider == scheme.provider
    assert verified.event_id

    event = parse_event(verified)
    assert event == WebhookEvent(
        provider=scheme.provider,
        event_id=verified.event_id,
        event_type=sent.event_type,
        object_ref=sent.object_ref,
        reference=sent.reference,
    )


@pytest.mark.parametrize("scheme", CASES, ids=IDS)
def test_tampered_foreign_and_unsigned_events_are_refused(
    client: httpx.Client, scheme: Scheme
) -> None:
    sent = scheme.make(client)
    secret = WEBHOOK_SECRETS[scheme.provider]
    with pytest.raises(WebhookSignatureError):
        scheme.verify(sent.body.replace(b"1", b"2", 1) + b" ", sent.headers, secret)
    with pytest.raises(WebhookSignatureError):
        scheme.verify(sent.body, sent.headers, scheme.foreign_secret)
    with pytest.raises(WebhookSignatureError):
        scheme.verify(sent.body, {"Content-Type": "application/json"}, secret)


@pytest.mark.parametrize("scheme", CASES, ids=IDS)
def test_a_redelivered_event_is_recognised_as_a_replay_even_after_a_restart(
    client: httpx.Client, scheme: Scheme, tmp_path: Path
) -> None:
    sent = scheme.make(client)
    secret = WEBHOOK_SECRETS[scheme.provider]
    first = parse_event(scheme.verify(sent.body, sent.headers, secret))
    assert first.object_ref == sent.object_ref
    seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
    assert seen.admit(first.provider, first.event_id, now=NOW)
    assert not seen.admit(first.provider, first.event_id, now=NOW)
    seen.close()
    again = parse_event(scheme.verify(sent.body, sent.headers, secret))
    reopened = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
    assert not reopened.admit(again.provider, again.event_id, now=NOW + timedelta(days=1))
    reopened.close()


def test_payfect_callbacks_can_be_held_to_a_maximum_age(client: httpx.Client) -> None:
    sent = payfect_event(client)
    key = WEBHOOK_SECRETS["payfect"]
    signed_at = Fernet(key.encode()).extract_timestamp(sent.headers["X-Payfect-Signature"].encode())
    verify_payfect(sent.body, sent.headers, key, max_age_s=300, now=signed_at + 60)
    with pytest.raises(WebhookSignatureError, match="too old"):
        verify_payfect(sent.body, sent.headers, key, max_age_s=300, now=signed_at + 3600)


def test_justifi_timestamps_can_be_held_to_a_tolerance(client: httpx.Client) -> None:
    sent = justifi_event(client)
    body, headers = sent.body, sent.headers
    secret = WEBHOOK_SECRETS["justifi"]
    at = datetime.fromisoformat(headers["JUSTIFI-TIMESTAMP"].replace("Z", "+00:00"))
    verify_justifi(
        body, headers, secret, now=at + timedelta(minutes=1), tolerance=timedelta(minutes=5)
    )
    with pytest.raises(WebhookSignatureError, match="too old"):
        verify_justifi(
            body, headers, secret, now=at + timedelta(hours=1), tolerance=timedelta(minutes=5)
        )
    # The signature covers the timestamp: moving it breaks the signature.
    moved = {**headers, "JUSTIFI-TIMESTAMP": (at + timedelta(seconds=1)).isoformat()}
    with pytest.raises(WebhookSignatureError):
        verify_justifi(body, moved, secret)


@pytest.mark.parametrize(
    ("provider", "event_type", "payload", "object_ref", "reference"),
    [
        # A completion points at its checkout, whose metadata carries our reference.
        (
            "justifi",
            "checkout.completion.succeeded",
            {
                "data": {
                    "id": "chc_1",
                    "checkout_id": "cho_1",
                    "checkout": {"metadata": {"pos_reference": "S-1"}},
                }
            },
            "cho_1",
            "S-1",
        ),
        # A refund points at the payment it refunds.
        (
            "justifi",
            "payment.refunded",
            {"data": {"id": "re_1", "payment_id": "py_1"}},
            "py_1",
            None,
        ),
        ("justifi", "payment.succeeded", {"data": {"id": "py_1", "metadata": None}}, "py_1", None),
        (
            "recharge",
            "checkout/updated",
            {
                "checkout": {
                    "token": "t1",
                    "order_attributes": [{"name": "pos_reference", "value": "S-2"}],
                }
            },
            "t1",
            "S-2",
        ),
        ("checkout_com", "payment_captured", {"data": {"id": "pay_1"}}, "pay_1", None),
    ],
)
def test_each_scheme_names_the_object_to_look_up(
    provider: str, event_type: str, payload: dict[str, Any], object_ref: str, reference: str | None
) -> None:
    event = parse_event(VerifiedEvent(provider, "evt_1", event_type, payload))
    assert (event.object_ref, event.reference) == (object_ref, reference)


@pytest.mark.parametrize(
    ("provider", "payload"),
    [
        ("justifi", {"id": "evt_1", "event_name": "checkout.created", "data": "cho_1"}),
        ("checkout_com", {"id": "evt_1", "type": "payment_approved", "data": {"amount": 1}}),
        ("recharge", {"subscription": {"id": 1}}),
        ("payfect", {"status": "succeeded"}),
        ("paypal", {"id": "x"}),
    ],
)
def test_signed_events_that_name_no_object_are_refused(
    provider: str, payload: dict[str, Any]
) -> None:
    with pytest.raises(WebhookSignatureError):
        parse_event(VerifiedEvent(provider, "evt_1", "t", payload))


def test_seen_events_are_forgotten_only_after_every_redelivery_window(tmp_path: Path) -> None:
    seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
    assert seen.admit("justifi", "evt_1", now=NOW)
    assert not seen.admit("justifi", "evt_1", now=NOW + KEEP_FOR - timedelta(seconds=1))
    # The same id from another provider is another event.
    assert seen.admit("checkout_com", "evt_1", now=NOW)
    # Far past any redelivery (and any signed time's tolerance) the id is let go.
    assert seen.admit("recharge", "evt_9", now=NOW + KEEP_FOR + timedelta(seconds=1))
    assert seen.admit("justifi", "evt_1", now=NOW + KEEP_FOR + timedelta(seconds=2))
    seen.close()
