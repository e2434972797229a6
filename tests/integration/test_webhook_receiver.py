"""Webhooks from the sandbox reach the till's loopback receiver and update payments by lookup."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore, utc_now
from pos_app.journal.webhook_events import SeenWebhookEvents
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_app.services.webhook_receiver import WebhookReceiver
from pos_sandbox.credentials import WEBHOOK_SECRETS
from tests.conformance.harness import APPROVED_CARD, HARNESSES, Harness

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pos_app.providers.webhooks import WebhookEvent
    from pos_app.services.events import PaymentChange
    from pos_sandbox.server import SandboxServer

SALE = Sale(Money(1250, "USD"), "Sourdough loaf")


@pytest.mark.parametrize("harness", HARNESSES, ids=str)
def test_a_paid_checkout_is_recorded_from_its_webhook_without_polling(
    sandbox: SandboxServer, tmp_path: Path, harness: Harness
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")

    async def scenario() -> tuple[PaymentState, list[str]]:
        loop = asyncio.get_running_loop()
        provider = harness.build(sandbox.base_url)
        service = PaymentService(journal, {"Till": provider})
        captured = asyncio.Event()
        operations: list[str] = []

        def changed(change: PaymentChange) -> None:
            operations.append(change.operation)
            if change.state is PaymentState.CAPTURED:
                captured.set()

        service.subscribe(changed)

        lookups: list[asyncio.Task[object]] = []

        def on_event(event: WebhookEvent) -> None:  # called on the receiver's thread
            loop.call_soon_threadsafe(
                lambda: lookups.append(loop.create_task(service.on_webhook(event)))
            )

        seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
        # The receiver judges signed times by the clock the sandbox signs them with.
        receiver = WebhookReceiver(
            {harness.name: WEBHOOK_SECRETS[harness.name]},
            on_event,
            seen=seen,
            clock=utc_now,  # the clock the sandbox signs with (its default: the system clock)
        )
        receiver.start()
        try:
            async with httpx.AsyncClient(
                base_url=f"{sandbox.base_url}/_sandbox", headers=sandbox.control_headers
            ) as control:
                answer = await control.post(
                    "/webhooks/endpoints",
                    json={"provider": harness.name, "url": receiver.url_for(harness.name)},
                )
                assert answer.is_success, answer.text
                opened = await service.open_checkout(
                    "Till", SALE, success_url="https://pos.invalid/done"
                )
                operations.clear()
                await asyncio.to_thread(
                    harness.pay, sandbox, opened.session.provider_ref, APPROVED_CARD
                )
                await control.post("/webhooks/flush")
                await asyncio.wait_for(captured.wait(), timeout=30)
                # Every event still due goes out while the receiver listens, so none is
                # being sent when the sandbox stops.
                await control.post("/webhooks/flush")
            payment = journal.get(opened.payment.reference)
            assert payment is not None
            return payment.state, operations
        finally:
            receiver.stop()
            seen.close()
            await asyncio.gather(*lookups)  # let every triggered lookup finish first
            await provider.aclose()

    state, operations = asyncio.run(scenario())
    assert state is PaymentState.CAPTURED
    # The event only triggered lookups, each published as coming from a webhook.
    assert "webhook" in operations
    assert set(operations) <= {"lookup", "webhook"}
    journal.close()


NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the receiver's injected clock


def _justifi_delivery(body: bytes, secret: str = WEBHOOK_SECRETS["justifi"]) -> dict[str, str]:
    stamp = "2026-11-22T09:00:00Z"  # NOW, as JustiFi writes it
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return {"JUSTIFI-TIMESTAMP": stamp, "JUSTIFI-SIGNATURE": signature.hexdigest()}


BODY = (
    b'{"id":"evt_1","event_name":"checkout.completed",'
    b'"data":{"id":"cho_1","metadata":{"pos_reference":"S-20261122-AAAAAA"}}}'
)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, list[WebhookEvent]]]:
    events: list[WebhookEvent] = []
    seen = SeenWebhookEvents.open(tmp_path / "journal.sqlite3")
    made = WebhookReceiver(
        {"justifi": WEBHOOK_SECRETS["justifi"]}, events.append, seen=seen, clock=lambda: NOW
    )
    made.start()
    yield made, events
    made.stop()
    seen.close()


def test_forged_repeated_and_unknown_deliveries_are_answered_and_not_passed_on(
    receiver: tuple[WebhookReceiver, list[WebhookEvent]],
) -> None:
    server, events = receiver
    url = server.url_for("justifi")
    assert httpx.post(url, content=BODY, headers=_justifi_delivery(BODY)).status_code == 200
    assert httpx.post(url, content=BODY, headers=_justifi_delivery(BODY)).status_code == 200
    forged = _justifi_delivery(BODY, secret="not-the-secret")
    assert httpx.post(url, content=BODY, headers=forged).status_code == 401
    assert httpx.post(url, content=BODY).status_code == 401
    other = server.url_for("checkout_com")
    assert httpx.post(other, content=BODY).status_code == 404
    big = b"x" * (300 * 1024)
    assert httpx.post(url, content=big).status_code == 413
    assert [(e.event_id, e.object_ref, e.reference) for e in events] == [
        ("evt_1", "cho_1", "S-20261122-AAAAAA")
    ]


def _raw(server: WebhookReceiver, head: bytes, body: bytes = b"") -> int:
    """Send bytes as they are (httpx would correct the headers); the status answered."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + b"\r\n\r\n" + body)
        if body == b"" and b"Content-Length: 10" in head:
            conn.shutdown(socket.SHUT_WR)  # the announced body never comes
        answer = conn.recv(1024)
    return int(answer.split(b" ", 2)[1])


POST = b"POST /webhooks/justifi HTTP/1.1\r\nHost: 127.0.0.1"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        (POST + b"\r\nContent-Length: -1", BODY),  # would read past any cap
        (POST + b"\r\nContent-Length: lots", BODY),
        (POST + b"\r\nContent-Length: 1e3", BODY),
        (POST + b"\r\nContent-Length: 10\r\nContent-Length: 20", BODY[:20]),
        (POST + b"\r\nTransfer-Encoding: chunked", b"5\r\nhello\r\n0\r\n\r\n"),
        (POST, BODY),  # no length at all
        (POST + b"\r\nContent-Length: 10", b""),  # the body stops short
    ],
    ids=["negative", "not a number", "exponent", "twice", "chunked", "missing", "short"],
)
def test_malformed_requests_are_answered_400_and_never_read_past_the_cap(
    receiver: tuple[WebhookReceiver, list[WebhookEvent]], head: bytes, body: bytes
) -> None:
    server, events = receiver
    assert _raw(server, head, body) == 400
    assert events == []
    # The receiver still serves the next, genuine delivery.
    url = server.url_for("justifi")
    assert httpx.post(url, content=BODY, headers=_justifi_delivery(BODY)).status_code == 200


def test_a_signature_that_is_not_ascii_is_refused_not_a_crash(
    receiver: tuple[WebhookReceiver, list[WebhookEvent]],
) -> None:
    server, events = receiver
    headers = {**_justifi_delivery(BODY), "JUSTIFI-SIGNATURE": "é" * 64}
    assert server.receive("justifi", BODY, headers) == 401
    stamp = {**_justifi_delivery(BODY), "JUSTIFI-TIMESTAMP": "yesterday"}
    assert server.receive("justifi", BODY, stamp) == 401
    assert events == []
