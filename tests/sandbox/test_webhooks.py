"""Webhook delivery from the sandbox to a registered loopback endpoint, as the receiver sees it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.fernet import Fernet

from pos_sandbox.credentials import WEBHOOK_SECRETS
from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    RetryPolicy,
    SandboxServer,
)
from tests.sandbox.test_payfect import AUTH, V1, request_body

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP endpoint that records what it is sent and answers scripted statuses."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False  # if set, each request waits for ``release`` before answering
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.requests) >= count, timeout), (
                f"got {len(self.requests)} webhook(s), expected {count}"
            )
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with me.changed:
                me.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = me.statuses.pop(0) if me.statuses else 200
                me.changed.notify_all()
            if me.hold:
                me.release.wait(10)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        state["receiver"].release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def auth_headers(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}


def create_checkout(client: httpx.Client) -> str:
    response = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 1799, "description": "One Chocolate Donut"},
        headers=auth_headers(client),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def register(client: httpx.Client, url: str | None, provider: str = "justifi") -> httpx.Response:
    return client.post("/_sandbox/webhooks/endpoints", json={"provider": provider, "url": url})


def events(client: httpx.Client, event_type: str | None = None) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/webhooks", params={"provider": "justifi"})
    assert response.status_code == 200
    records = response.json()["data"]
    return [r for r in records if event_type is None or r["event_type"] == event_type]


def flush(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.post("/_sandbox/webhooks/flush")
    assert response.status_code == 200
    return list(response.json()["attempts"])


def signature_ok(received: Received, secret: str) -> bool:
    headers = {k.lower(): v for k, v in received.headers.items()}
    expected = hmac.new(
        secret.encode(),
        headers["justifi-timestamp"].encode() + b"." + received.body,
        hashlib.sha256,
    ).hexdigest()
    return hmac.compare_digest(expected, headers["justifi-signature"])


def checkout_created(requests: list[Received], checkout_id: str) -> Received:
    [match] = [r for r in requests if f'"id":"{checkout_id}"'.encode() in r.body]
    return match


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "http://10.0.0.1/hook",
        "ftp://127.0.0.1/hook",
        "127.0.0.1:8000/hook",
        "http://127.0.0.1:99999/hook",
        "http:///hook",
        42,
    ],
)
def test_only_loopback_endpoints_are_accepted(client: httpx.Client, url: Any) -> None:
    response = register(client, url)
    assert response.status_code == 400
    assert "loopback" in response.json()["error"]


def test_unknown_provider_is_refused(client: httpx.Client, receiver: Receiver) -> None:
    assert register(client, receiver.url, provider="paypal").status_code == 400


def test_flush_delivers_recorded_events_with_their_body_and_signature(
    client: httpx.Client, receiver: Receiver
) -> None:
    assert register(client, receiver.url).status_code == 200
    checkout_id = create_checkout(client)
    flush(client)
    received = checkout_created(receiver.requests, checkout_id)
    assert received.path == "/hook"
    assert signature_ok(received, WEBHOOK_SECRETS["justifi"])
    [record] = [r for r in events(client, "checkout.created") if checkout_id in r["body"]]
    assert received.body == record["body"].encode()
    assert record["delivered"] is True
    [attempt] = record["deliveries"]
    assert attempt["status"] == 200
    assert attempt["url"] == receiver.url
    assert attempt["at"]
    # Nothing is pending any more: another flush sends nothing.
    count = len(receiver.requests)
    assert flush(client) == []
    assert len(receiver.requests) == count


def test_events_are_delivered_in_the_background(client: httpx.Client, receiver: Receiver) -> None:
    register(client, receiver.url)
    checkout_id = create_checkout(client)
    requests = receiver.wait_for(1)
    assert checkout_created(requests, checkout_id)


def test_events_recorded_before_registration_wait_for_an_endpoint(
    client: httpx.Client, receiver: Receiver
) -> None:
    checkout_id = create_checkout(client)
    assert flush(client) == []
    [record] = events(client, "checkout.created")
    assert record["deliveries"] == []
    register(client, receiver.url)
    flush(client)
    assert checkout_created(receiver.requests, checkout_id)


def test_a_new_secret_signs_later_events(client: httpx.Client, receiver: Receiver) -> None:
    register(client, receiver.url)
    response = client.post(
        "/_sandbox/webhooks/secret", json={"provider": "justifi", "secret": "s3cret"}
    )
    assert response.status_code == 200
    checkout_id = create_checkout(client)
    flush(client)
    received = checkout_created(receiver.requests, checkout_id)
    assert signature_ok(received, "s3cret")
    assert not signature_ok(received, WEBHOOK_SECRETS["justifi"])


def test_failed_delivery_is_recorded_and_retried(client: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [500]
    register(client, receiver.url)
    checkout_id = create_checkout(client)
    # The first attempt (background or flush) gets the 500; a flush retries at once, ignoring
    # the backoff; once delivered, further flushes send nothing.
    for _ in range(3):
        flush(client)
    deliveries = [r for r in receiver.requests if f'"id":"{checkout_id}"'.encode() in r.body]
    assert len(deliveries) == 2
    assert deliveries[0].body == deliveries[1].body
    [record] = [r for r in events(client, "checkout.created") if checkout_id in r["body"]]
    assert [a["status"] for a in record["deliveries"]] == [500, 200]
    assert record["delivered"] is True


def test_an_unreachable_endpoint_is_an_attempt_with_an_error(
    client: httpx.Client, receiver: Receiver
) -> None:
    with socketless_port() as port:
        register(client, f"http://127.0.0.1:{port}/hook")
        create_checkout(client)
        [attempt] = [a for a in flush(client) if a["url"].endswith(f":{port}/hook")][:1]
    assert attempt["status"] is None
    assert attempt["error"]
    [record] = events(client, "checkout.created")
    assert record["delivered"] is False
    assert record["deliveries"][0]["error"]


def test_redeliver_sends_an_event_again(client: httpx.Client, receiver: Receiver) -> None:
    register(client, receiver.url)
    checkout_id = create_checkout(client)
    flush(client)
    [record] = [r for r in events(client, "checkout.created") if checkout_id in r["body"]]
    before = len(receiver.requests)
    response = client.post(f"/_sandbox/webhooks/{record['id']}/redeliver")
    assert response.status_code == 200
    assert response.json()["status"] == 200
    assert len(receiver.requests) == before + 1
    assert receiver.requests[-1].body == record["body"].encode()
    [again] = [r for r in events(client, "checkout.created") if checkout_id in r["body"]]
    assert len(again["deliveries"]) == 2
    assert client.post("/_sandbox/webhooks/whk_nope/redeliver").status_code == 404


def test_background_retries_back_off_and_stop_after_max_attempts(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [503] * 100
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
    with (
        SandboxServer(tmp_path / "state", webhook_retry=policy) as server,
        httpx.Client(
            base_url=server.base_url, headers=server.control_headers, timeout=10
        ) as client,
    ):
        create_checkout(client)  # recorded before registration: one event pending
        [record] = events(client)
        register(client, receiver.url)
        receiver.wait_for(3)
        deadline = time.monotonic() + 10
        while len(events(client)[0]["deliveries"]) < 3:
            assert time.monotonic() < deadline
        [record] = events(client)
        assert [a["status"] for a in record["deliveries"]] == [503, 503, 503]
        assert record["delivered"] is False
        assert flush(client) == []  # attempts used up
        assert len(receiver.requests) == 3


def test_stop_does_not_wait_for_a_hanging_endpoint(tmp_path: Path, receiver: Receiver) -> None:
    receiver.hold = True
    server = SandboxServer(tmp_path / "state")
    server.start()
    try:
        with httpx.Client(
            base_url=server.base_url, headers=server.control_headers, timeout=10
        ) as client:
            register(client, receiver.url)
            create_checkout(client)
            receiver.wait_for(1)  # the delivery is now waiting for the endpoint's answer
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 3


def test_registrations_and_undelivered_events_survive_a_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    state = tmp_path / "state"
    with (
        SandboxServer(state) as first,
        httpx.Client(base_url=first.base_url, headers=first.control_headers, timeout=10) as client,
    ):
        register(client, receiver.url)
        checkout_id = create_checkout(client)
        flush(client)  # fails once
    with (
        SandboxServer(state) as second,
        httpx.Client(
            base_url=second.base_url, headers=second.control_headers, timeout=10
        ) as client,
    ):
        flush(client)
        [record] = [r for r in events(client, "checkout.created") if checkout_id in r["body"]]
        assert [a["status"] for a in record["deliveries"]][-1] == 200


class socketless_port:
    """A loopback port with nothing listening on it (bound, never listened, then closed)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def test_payfect_callbacks_go_to_each_checkouts_own_callback_url(
    client: httpx.Client, receiver: Receiver
) -> None:
    target = receiver.url.replace("/hook", "/payfect-callback")
    created = client.post(V1, json=request_body(callback_url=target), headers=AUTH)
    assert created.status_code == 201, created.text
    checkout_id = created.json()["id"]
    paid = client.post("/_sandbox/payfect/pay", json={"id": checkout_id})
    assert paid.status_code == 200, paid.text
    client.post("/_sandbox/webhooks/flush")

    [received] = receiver.wait_for(1)
    assert received.path == "/payfect-callback"
    body = json.loads(received.body)
    assert (body["id"], body["status"]) == (checkout_id, "succeeded")
    token = received.headers["X-Payfect-Signature"].encode()
    assert Fernet(WEBHOOK_SECRETS["payfect"].encode()).decrypt(token) == received.body
    # A callback_url off this machine is never called (the sandbox stays on loopback).
    outside = client.post(V1, json=request_body(), headers=AUTH).json()["id"]
    client.post("/_sandbox/payfect/pay", json={"id": outside})
    client.post("/_sandbox/webhooks/flush")
    events = client.get("/_sandbox/webhooks", params={"provider": "payfect"}).json()["data"]
    [outside_event] = [e for e in events if json.loads(e["body"])["id"] == outside]
    assert outside_event["deliveries"] == []
    assert len(receiver.requests) == 1
