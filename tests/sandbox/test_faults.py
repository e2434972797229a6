"""Fault injection (/_sandbox/faults), as a client of the faulted provider API notices it."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)

if TYPE_CHECKING:
    from pathlib import Path

CHECKOUTS = "/justifi/v1/checkouts"


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    response = client.post(
        "/justifi/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT}


def add_fault(client: httpx.Client, **fault: Any) -> dict[str, Any]:
    response = client.post("/_sandbox/faults", json=fault)
    assert response.status_code == 201, response.text
    return dict(response.json())


def faults(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/_sandbox/faults")
    assert response.status_code == 200
    return list(response.json()["faults"])


def create(client: httpx.Client, auth: dict[str, str], key: str, **kwargs: Any) -> httpx.Response:
    return client.post(
        CHECKOUTS,
        json={"amount": 1799, "description": f"sale {key}"},
        headers={**auth, "Idempotency-Key": key},
        **kwargs,
    )


def descriptions(client: httpx.Client, auth: dict[str, str]) -> list[str]:
    response = client.get(CHECKOUTS, headers=auth, params={"limit": 100})
    assert response.status_code == 200
    return [c["description"] for c in response.json()["data"]]


def test_a_fault_can_be_added_listed_and_cleared(client: httpx.Client) -> None:
    added = add_fault(client, method="post", path=CHECKOUTS, kind="status", status=503)
    assert added["method"] == "POST"
    assert added["times"] == 1
    assert added["fired"] == 0
    assert [f["id"] for f in faults(client)] == [added["id"]]
    assert client.delete("/_sandbox/faults").status_code == 200
    assert faults(client) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"path": CHECKOUTS, "kind": "explode"},
        {"path": "justifi", "kind": "status", "status": 503},
        {"path": "/_sandbox/health", "kind": "status", "status": 503},
        {"path": CHECKOUTS, "kind": "status", "status": 404},
        {"path": CHECKOUTS, "kind": "status"},
        {"path": CHECKOUTS, "kind": "latency"},
        {"path": CHECKOUTS, "kind": "latency", "latency_ms": -1},
        {"path": CHECKOUTS, "kind": "reset_before", "times": 0},
        {"path": CHECKOUTS, "kind": "reset_before", "times": "2"},
    ],
)
def test_invalid_faults_are_refused(client: httpx.Client, fault: dict[str, Any]) -> None:
    response = client.post("/_sandbox/faults", json=fault)
    assert response.status_code == 400
    assert response.json()["error"]
    assert faults(client) == []


def test_status_fault_answers_in_the_dialect_format_and_applies_nothing(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, method="POST", path=CHECKOUTS, kind="status", status=503, times=2)
    for attempt in ("a", "b"):
        response = create(client, auth, attempt)
        assert response.status_code == 503
        assert set(response.json()["error"]) >= {"code", "message"}
    assert descriptions(client, auth) == []
    # Used up: the next request goes through, and the counter says it fired twice.
    assert create(client, auth, "c").status_code == 201
    assert descriptions(client, auth) == ["sale c"]
    [fault] = faults(client)
    assert fault["fired"] == 2
    assert fault["remaining"] == 0


def test_429_carries_retry_after(client: httpx.Client, auth: dict[str, str]) -> None:
    add_fault(client, path=CHECKOUTS, kind="status", status=429, retry_after=7)
    response = create(client, auth, "k")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert "error" in response.json()


def test_a_fault_only_matches_its_method_and_path(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, method="GET", path=CHECKOUTS, kind="status", status=500, times=None)
    assert create(client, auth, "post-is-fine").status_code == 201
    assert client.get(f"{CHECKOUTS}/cho_unknown", headers=auth).status_code == 404
    assert client.get(CHECKOUTS, headers=auth).status_code == 500
    assert client.get(CHECKOUTS, headers=auth).status_code == 500  # times=null: until cleared
    assert faults(client)[0]["fired"] == 2
    client.delete("/_sandbox/faults")
    assert client.get(CHECKOUTS, headers=auth).status_code == 200


def test_glob_paths_match_any_checkout(client: httpx.Client, auth: dict[str, str]) -> None:
    add_fault(client, path="/justifi/v1/checkouts/*", kind="status", status=502, times=None)
    assert client.get(f"{CHECKOUTS}/cho_a", headers=auth).status_code == 502
    assert client.get(f"{CHECKOUTS}/cho_b/anything", headers=auth).status_code == 502
    assert client.get(CHECKOUTS, headers=auth).status_code == 200


def test_latency_delays_then_answers_normally(client: httpx.Client, auth: dict[str, str]) -> None:
    add_fault(client, path=CHECKOUTS, method="POST", kind="latency", latency_ms=300)
    started = time.monotonic()
    response = create(client, auth, "slow")
    assert response.status_code == 201
    assert time.monotonic() - started >= 0.3
    assert descriptions(client, auth) == ["sale slow"]


def test_latency_longer_than_the_client_timeout_is_a_timeout(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, path=CHECKOUTS, method="GET", kind="latency", latency_ms=5000)
    with pytest.raises(httpx.ReadTimeout):
        client.get(CHECKOUTS, headers=auth, timeout=0.2)


def test_reset_before_resets_the_connection_and_applies_nothing(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, method="POST", path=CHECKOUTS, kind="reset_before")
    with pytest.raises(httpx.ReadError) as caught:
        create(client, auth, "lost")
    assert "Connection reset by peer" in str(caught.value)  # a TCP RST, not a clean close
    assert descriptions(client, auth) == []
    # The same key is free: the retry is the first request the provider sees.
    retry = create(client, auth, "lost")
    assert retry.status_code == 201
    assert descriptions(client, auth) == ["sale lost"]
    assert faults(client)[0]["fired"] == 1


def test_reset_after_applies_the_request_but_the_client_never_hears(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, method="POST", path=CHECKOUTS, kind="reset_after")
    with pytest.raises(httpx.ReadError):
        create(client, auth, "unknown-outcome")
    # It did happen: the checkout exists, and a retry with the same key replays it.
    assert descriptions(client, auth) == ["sale unknown-outcome"]
    retry = create(client, auth, "unknown-outcome")
    assert retry.status_code == 201
    assert descriptions(client, auth) == ["sale unknown-outcome"]


def test_dropped_response_applies_and_times_out_without_blocking_others(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    add_fault(client, method="POST", path=CHECKOUTS, kind="drop_response")
    outcome: list[BaseException] = []

    def dropped() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=1) as other:
            try:
                create(other, auth, "dropped")
            except httpx.HTTPError as exc:
                outcome.append(exc)

    thread = threading.Thread(target=dropped)
    thread.start()
    try:
        # While that request hangs, the server keeps answering others; the change is there.
        deadline = time.monotonic() + 5
        while descriptions(client, auth) != ["sale dropped"]:
            assert time.monotonic() < deadline, "the dropped request was never applied"
        assert thread.is_alive()
        assert client.get("/_sandbox/health").status_code == 200
    finally:
        thread.join()
    [error] = outcome
    assert isinstance(error, httpx.ReadTimeout)


def test_stop_does_not_wait_for_parked_requests(tmp_path: Path) -> None:
    """A dropped response and a long latency both end promptly when the server stops."""
    server = SandboxServer(tmp_path / "state")
    server.start()
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            httpx.post(f"{server.base_url}/justifi/oauth/token", json={}, timeout=30)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    threads = [threading.Thread(target=hang) for _ in range(2)]
    try:
        with httpx.Client(
            base_url=server.base_url, headers=server.control_headers, timeout=10
        ) as client:
            add_fault(client, path="/justifi/*", kind="drop_response")
            add_fault(client, path="/justifi/*", kind="latency", latency_ms=60_000)
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 5
            while [f["fired"] for f in faults(client)] != [1, 1]:
                assert time.monotonic() < deadline
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 3
    for thread in threads:
        thread.join()
    assert len(outcome) == 2
    assert all(isinstance(e, httpx.ReadError | httpx.RemoteProtocolError) for e in outcome)
