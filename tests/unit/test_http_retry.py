"""The shared HTTP client retries only when repeating cannot double a payment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from pos_app.providers.errors import ConnectionFailedError, OutcomeUnknownError
from pos_app.providers.http import ProviderHttpClient, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, int)
        return httpx.Response(outcome, json={"ok": outcome < 400})

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def send(recorder: Recorder, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        client = ProviderHttpClient(
            "http://provider.test",
            provider="test",
            transport=httpx.MockTransport(recorder.handler),
            sleep=recorder.sleep,
            retry=RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0),
        )
        try:
            return await client.request("POST", "/v1/things", json={"a": 1}, **kwargs)  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_request_never_sent_is_retried_even_without_a_key() -> None:
    recorder = Recorder([httpx.ConnectError("refused"), httpx.ConnectError("refused"), 201])
    assert send(recorder).status_code == 201
    assert len(recorder.requests) == 3
    assert len(recorder.sleeps) == 2


def test_never_sent_after_all_attempts_is_connection_failed() -> None:
    recorder = Recorder([httpx.ConnectError("refused")])
    with pytest.raises(ConnectionFailedError):
        send(recorder, idempotency_key="k1")
    assert len(recorder.requests) == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 409])
def test_retryable_statuses_are_retried_with_a_key(status: int) -> None:
    recorder = Recorder([status, status, 201])
    response = send(recorder, idempotency_key="key-1")
    assert response.status_code == 201
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["key-1"] * 3


@pytest.mark.parametrize("status", [500, 503, 429, 409])
def test_retryable_statuses_are_not_retried_without_a_key(status: int) -> None:
    recorder = Recorder([status, 201])
    assert send(recorder).status_code == status
    assert len(recorder.requests) == 1


def test_timeout_without_a_key_is_outcome_unknown_and_not_repeated() -> None:
    recorder = Recorder([httpx.ReadTimeout("slow"), 201])
    with pytest.raises(OutcomeUnknownError):
        send(recorder)
    assert len(recorder.requests) == 1


def test_timeout_with_a_key_is_repeated_with_the_same_key() -> None:
    recorder = Recorder([httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset"), 201])
    assert send(recorder, idempotency_key="same").status_code == 201
    assert {r.headers["Idempotency-Key"] for r in recorder.requests} == {"same"}


def test_timeouts_exhausting_attempts_stay_outcome_unknown() -> None:
    recorder = Recorder([httpx.ReadTimeout("slow")])
    with pytest.raises(OutcomeUnknownError):
        send(recorder, idempotency_key="k")
    assert len(recorder.requests) == 4


def test_client_errors_are_never_retried() -> None:
    recorder = Recorder([422, 201])
    assert send(recorder, idempotency_key="k").status_code == 422
    assert len(recorder.requests) == 1


def test_backoff_is_bounded_and_grows() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0)

    class Top:
        def uniform(self, low: float, high: float) -> float:
            return high

    ceilings = [policy.delay(n, Top()) for n in range(1, 8)]  # type: ignore[arg-type]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_default_timeout_allows_slow_authorizations() -> None:
    from pos_app.providers.http import DEFAULT_TIMEOUT

    assert DEFAULT_TIMEOUT.read is not None
    assert DEFAULT_TIMEOUT.read >= 30
