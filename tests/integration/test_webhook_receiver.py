"""Webhooks from the sandbox reach the till's loopback receiver and update payments by lookup."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

import httpx
import pytest

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore
from pos_app.providers.webhooks import WebhookEvent
from pos_app.sandbox.server import SandboxServer
from pos_app.sandbox.webhooks import DEFAULT_SECRETS
from pos_app.services.events import PaymentChange
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_app.services.webhook_receiver import WebhookReceiver
from tests.conformance.harness import APPROVED_CARD, HARNESSES, Harness

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

        receiver = WebhookReceiver({harness.name: DEFAULT_SECRETS[harness.name]}, on_event)
        receiver.start()
        try:
            async with httpx.AsyncClient(base_url=f"{sandbox.base_url}/_sandbox") as control:
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
            payment = journal.get(opened.payment.reference)
            assert payment is not None
            return payment.state, operations
        finally:
            receiver.stop()
            await asyncio.gather(*lookups)  # let every triggered lookup finish first
            await provider.aclose()

    state, operations = asyncio.run(scenario())
    assert state is PaymentState.CAPTURED
    # The event only triggered lookups, each published as coming from a webhook.
    assert "webhook" in operations and set(operations) <= {"lookup", "webhook"}
    journal.close()


def _justifi_delivery(body: bytes, secret: str = DEFAULT_SECRETS["justifi"]) -> dict[str, str]:
    stamp = "2026-11-22T09:00:00Z"
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return {"JUSTIFI-TIMESTAMP": stamp, "JUSTIFI-SIGNATURE": signature.hexdigest()}


BODY = (
    b'{"id":"evt_1","event_name":"checkout.completed",'
    b'"data":{"id":"cho_1","metadata":{"pos_reference":"S-20261122-AAAAAA"}}}'
)


def test_forged_repeated_and_unknown_deliveries_are_answered_and_not_passed_on() -> None:
    events: list[WebhookEvent] = []
    receiver = WebhookReceiver({"justifi": DEFAULT_SECRETS["justifi"]}, events.append)
    receiver.start()
    try:
        url = receiver.url_for("justifi")
        assert httpx.post(url, content=BODY, headers=_justifi_delivery(BODY)).status_code == 200
        assert httpx.post(url, content=BODY, headers=_justifi_delivery(BODY)).status_code == 200
        forged = _justifi_delivery(BODY, secret="not-the-secret")
        assert httpx.post(url, content=BODY, headers=forged).status_code == 401
        assert httpx.post(url, content=BODY).status_code == 401
        other = receiver.url_for("checkout_com")
        assert httpx.post(other, content=BODY).status_code == 404
        big = b"x" * (300 * 1024)
        assert httpx.post(url, content=big).status_code == 413
    finally:
        receiver.stop()
    assert [(e.event_id, e.object_ref, e.reference) for e in events] == [
        ("evt_1", "cho_1", "S-20261122-AAAAAA")
    ]
