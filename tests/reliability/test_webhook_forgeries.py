"""Forged, tampered, expired and replayed webhook deliveries never reach the till; a valid
event delivered ten times, shuffled among others, reaches it once.

Deliveries are signed here exactly as each provider signs them (PROVIDERS.md §5), with the
sandbox's published test secrets, then spoiled one way at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

from pos_app.journal.webhook_events import SeenWebhookEvents
from pos_app.providers.webhooks import WebhookEvent
from pos_app.services.webhook_receiver import WebhookReceiver
from pos_sandbox.credentials import WEBHOOK_SECRETS

if TYPE_CHECKING:
    from pathlib import Path

Headers = dict[str, str]
# Every delivery here is signed at the receiver's injected clock, never at today's date.
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
STAMP = "2026-11-22T09:00:00Z"


def body_for(provider: str, n: int) -> bytes:
    """The n-th event body in the provider's own shape, about sale S-…-n."""
    reference = f"S-20261122-WEBH{n:02d}"
    payload: dict[str, object]
    if provider == "justifi":
        payload = {
            "id": f"evt_{n}",
            "event_name": "checkout.completed",
            "data": {"id": f"cho_{n}", "metadata": {"pos_reference": reference}},
        }
    elif provider == "checkout_com":
        payload = {
            "id": f"evt_{n}",
            "type": "payment_captured",
            "data": {"id": f"pay_{n}", "reference": reference, "amount": 2050},
        }
    elif provider == "recharge":
        payload = {
            "checkout": {
                "token": f"tok{n}",
                "order_attributes": [{"name": "pos_reference", "value": reference}],
                "total_price": "20.50",
            }
        }
    else:
        payload = {"id": f"pf-{n}", "status": "paid", "client_reference_id": reference}
    return json.dumps(payload).encode()


def sign(
    provider: str, body: bytes, secret: str | None = None, *, at: int | None = None
) -> Headers:
    key = secret if secret is not None else WEBHOOK_SECRETS[provider]
    if provider == "justifi":
        mac = hmac.new(key.encode(), STAMP.encode() + b"." + body, hashlib.sha256)
        return {"JUSTIFI-TIMESTAMP": STAMP, "JUSTIFI-SIGNATURE": mac.hexdigest()}
    if provider == "checkout_com":
        return {"Cko-Signature": hmac.new(key.encode(), body, hashlib.sha256).hexdigest()}
    if provider == "recharge":
        digest = hashlib.sha256(key.encode() + body).hexdigest()
        return {"X-Recharge-Hmac-Sha256": digest, "X-Recharge-Topic": "checkout/processed"}
    fernet = Fernet(key.encode())
    token = fernet.encrypt_at_time(body, at if at is not None else int(NOW.timestamp()))
    return {"X-Payfect-Signature": token.decode()}


SIGNATURE_HEADER = {
    "justifi": "JUSTIFI-SIGNATURE",
    "checkout_com": "Cko-Signature",
    "recharge": "X-Recharge-Hmac-Sha256",
    "payfect": "X-Payfect-Signature",
}
OTHER_KEY = {
    p: (Fernet.generate_key().decode() if p == "payfect" else "not-the-secret")
    for p in SIGNATURE_HEADER
}


@dataclass(frozen=True)
class Forgery:
    name: str
    make: Callable[[str], tuple[bytes, Headers]]  # provider -> (body, headers)

    def __str__(self) -> str:
        return self.name


def _tampered(provider: str) -> tuple[bytes, Headers]:
    body = body_for(provider, 1)
    return body.replace(b"WEBH01", b"WEBH99"), sign(provider, body)


def _other_body(provider: str) -> tuple[bytes, Headers]:
    return body_for(provider, 1), sign(provider, body_for(provider, 2))


def _truncated(provider: str) -> tuple[bytes, Headers]:
    body = body_for(provider, 1)
    headers = sign(provider, body)
    name = SIGNATURE_HEADER[provider]
    headers[name] = headers[name][:-6]
    return body, headers


def _flipped(provider: str) -> tuple[bytes, Headers]:
    body = body_for(provider, 1)
    headers = sign(provider, body)
    name = SIGNATURE_HEADER[provider]
    # In the middle: a Fernet token's last base64 characters may carry only padding bits.
    middle = len(headers[name]) // 2
    swapped = "0" if headers[name][middle] != "0" else "1"
    headers[name] = headers[name][:middle] + swapped + headers[name][middle + 1 :]
    return body, headers


def _wrong_scheme(provider: str) -> tuple[bytes, Headers]:
    """Signed correctly, but with another provider's scheme and header."""
    other = "checkout_com" if provider != "checkout_com" else "justifi"
    body = body_for(provider, 1)
    return body, sign(other, body, WEBHOOK_SECRETS[provider])


def _body_appended(provider: str) -> tuple[bytes, Headers]:
    body = body_for(provider, 1)
    return body + b" ", sign(provider, body)


FORGERIES = [
    Forgery("unsigned", lambda p: (body_for(p, 1), {})),
    Forgery("empty signature", lambda p: (body_for(p, 1), {SIGNATURE_HEADER[p]: ""})),
    Forgery(
        "signed with another key", lambda p: (body_for(p, 1), sign(p, body_for(p, 1), OTHER_KEY[p]))
    ),
    Forgery("body tampered after signing", _tampered),
    Forgery("signature of another event", _other_body),
    Forgery("signature cut short", _truncated),
    Forgery("one signature character changed", _flipped),
    Forgery("another provider's scheme", _wrong_scheme),
    Forgery("a byte added to the body", _body_appended),
    Forgery("not JSON, correctly signed", lambda p: (b"<xml/>", sign(p, b"<xml/>"))),
]


Receivers = Callable[[str, list[WebhookEvent]], WebhookReceiver]


@pytest.fixture
def receiver_for(tmp_path: Path) -> Iterator[Receivers]:
    """Receivers (not serving: deliveries are handed to ``receive``) on one journal, with the
    clock at NOW; closed after the test."""
    made: list[WebhookReceiver] = []
    seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")

    def make(provider: str, events: list[WebhookEvent]) -> WebhookReceiver:
        made.append(
            WebhookReceiver(
                {provider: WEBHOOK_SECRETS[provider]}, events.append, seen=seen, clock=lambda: NOW
            )
        )
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()
    seen.close()


@pytest.mark.parametrize("forgery", FORGERIES, ids=str)
@pytest.mark.parametrize("provider", list(SIGNATURE_HEADER))
def test_a_forged_or_tampered_delivery_is_refused(
    receiver_for: Receivers, provider: str, forgery: Forgery
) -> None:
    events: list[WebhookEvent] = []
    receiver = receiver_for(provider, events)
    body, headers = forgery.make(provider)
    assert receiver.receive(provider, body, headers) == 401
    assert events == []
    # The genuine delivery still goes through afterwards: the refusal poisoned nothing.
    genuine = body_for(provider, 1)
    assert receiver.receive(provider, genuine, sign(provider, genuine)) == 200
    assert len(events) == 1


@pytest.mark.parametrize("provider", list(SIGNATURE_HEADER))
def test_a_replayed_delivery_is_acknowledged_but_not_passed_on(
    receiver_for: Receivers, provider: str
) -> None:
    events: list[WebhookEvent] = []
    receiver = receiver_for(provider, events)
    body = body_for(provider, 1)
    assert receiver.receive(provider, body, sign(provider, body)) == 200
    # Re-signed later (a new timestamp or token): still the same event.
    assert receiver.receive(provider, body, sign(provider, body)) == 200
    assert [e.reference for e in events] == ["S-20261122-WEBH01"]


def _signed_at(provider: str, body: bytes, moment: datetime) -> Headers:
    if provider == "justifi":
        stamp = moment.isoformat()
        digest = hmac.new(
            WEBHOOK_SECRETS[provider].encode(), stamp.encode() + b"." + body, hashlib.sha256
        )
        return {"JUSTIFI-TIMESTAMP": stamp, "JUSTIFI-SIGNATURE": digest.hexdigest()}
    return sign(provider, body, at=int(moment.timestamp()))


@pytest.mark.parametrize(
    "offset",
    [timedelta(days=-2000), timedelta(minutes=-6), timedelta(minutes=6)],
    ids=["years ago", "six minutes ago", "six minutes ahead"],
)
@pytest.mark.parametrize("provider", ["justifi", "payfect"])
def test_a_delivery_signed_outside_five_minutes_is_refused(
    receiver_for: Receivers, provider: str, offset: timedelta
) -> None:
    events: list[WebhookEvent] = []
    receiver = receiver_for(provider, events)
    body = body_for(provider, 1)
    assert receiver.receive(provider, body, _signed_at(provider, body, NOW + offset)) == 401
    assert events == []
    # Four minutes ago is inside the tolerance.
    headers = _signed_at(provider, body, NOW - timedelta(minutes=4))
    assert receiver.receive(provider, body, headers) == 200
    assert len(events) == 1


@pytest.mark.parametrize("provider", list(SIGNATURE_HEADER))
def test_a_replay_after_a_restart_is_still_a_replay(tmp_path: Path, provider: str) -> None:
    events: list[WebhookEvent] = []
    body = body_for(provider, 1)
    for _ in range(2):  # two runs of the till on one journal
        seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
        receiver = WebhookReceiver(
            {provider: WEBHOOK_SECRETS[provider]}, events.append, seen=seen, clock=lambda: NOW
        )
        assert receiver.receive(provider, body, sign(provider, body)) == 200
        receiver.stop()
        seen.close()
    assert len(events) == 1


@pytest.mark.parametrize("provider", list(SIGNATURE_HEADER))
def test_each_event_delivered_ten_times_shuffled_is_passed_on_once(
    receiver_for: Receivers, provider: str
) -> None:
    events: list[WebhookEvent] = []
    receiver = receiver_for(provider, events)
    deliveries = [(n, body_for(provider, n)) for n in range(1, 4) for _ in range(10)]
    random.Random(7).shuffle(deliveries)
    for _, body in deliveries:
        assert receiver.receive(provider, body, sign(provider, body)) == 200
    assert sorted(e.reference or "" for e in events) == [
        "S-20261122-WEBH01",
        "S-20261122-WEBH02",
        "S-20261122-WEBH03",
    ]
