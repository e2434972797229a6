"""The one HTTP client every adapter uses: timeouts, the retry rule, idempotency, redaction.

Retry rule (DESIGN §3):
* a request that never left this machine (connect failure) may always be retried;
* 5xx, 429, 409 and read timeouts are retried only when the request carries an
  idempotency key, because only then can the provider recognise the repeat;
* backoff is bounded exponential with full jitter; the sleep is injectable for tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from pos_app.platform.redaction import redact, redact_headers
from pos_app.providers.errors import (
    ConnectionFailedError,
    OutcomeUnknownError,
    ProviderError,
    ResponseInvalidError,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Authorizations can take tens of seconds at a card network; httpx's 5 s default is far too short.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=30.0, pool=5.0)
RETRYABLE_STATUSES = frozenset({409, 429, 500, 502, 503, 504})

# Failures where the request provably never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures after the request may have been (partly) delivered.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt that just failed."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


class ProviderHttpClient:
    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        idempotency_header: str | None = "Idempotency-Key",
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.provider = provider
        self._idempotency_header = idempotency_header
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "pos_app", "Accept": "application/json"},
            # Provider traffic ignores the environment: no proxy, CA bundle or netrc a
            # variable names can intercept it; TLS trusts certifi's bundle (httpx's default).
            trust_env=False,
        )
        self.attempts_made = 0  # for the reliability batteries: how many sends in total

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        safe_to_repeat: bool = False,
    ) -> httpx.Response:
        """Send with the retry rule; return the last response (the caller maps its status).

        ``safe_to_repeat`` marks requests that change nothing (lookups, token requests),
        which may be retried like keyed ones.
        """
        all_headers = dict(headers or {})
        if idempotency_key is not None and self._idempotency_header:
            all_headers[self._idempotency_header] = idempotency_key
        repeatable = safe_to_repeat or idempotency_key is not None
        attempt = 0
        while True:
            attempt += 1
            self.attempts_made += 1
            self._log_request(method, path, all_headers, json)
            try:
                response = await self._client.request(
                    method, path, json=json, params=params, headers=all_headers
                )
            except _NOT_SENT as exc:
                if attempt < self._retry.max_attempts:
                    await self._backoff(attempt, f"not sent: {exc!r}")
                    continue
                raise ConnectionFailedError(
                    f"Could not reach {self.provider}: {exc}", provider=self.provider
                ) from exc
            except _MAYBE_SENT as exc:
                if repeatable and attempt < self._retry.max_attempts:
                    await self._backoff(attempt, f"no answer: {exc!r}")
                    continue
                raise OutcomeUnknownError(
                    f"{self.provider} did not answer {method} {path}: {exc!r}",
                    provider=self.provider,
                ) from exc
            if log.isEnabledFor(logging.DEBUG):  # redacting a body is not free
                log.debug(
                    "%s %s %s -> %s %s",
                    self.provider,
                    method,
                    path,
                    response.status_code,
                    redact(response.text[:2000]),
                )
            if (
                response.status_code in RETRYABLE_STATUSES
                and repeatable
                and attempt < self._retry.max_attempts
            ):
                await self._backoff(
                    attempt,
                    f"HTTP {response.status_code}",
                    retry_after=response.headers.get("Retry-After"),
                )
                continue
            return response

    async def _backoff(self, attempt: int, why: str, retry_after: str | None = None) -> None:
        delay = self._retry.delay(attempt, self._rng)
        if retry_after is not None and retry_after.isdigit():
            delay = min(max(delay, float(retry_after)), self._retry.max_delay * 4)
        log.info(
            "%s: retrying after %s (attempt %d, wait %.2fs)", self.provider, why, attempt, delay
        )
        await self._sleep(delay)

    def _log_request(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s %s headers=%s body=%s",
                self.provider,
                method,
                path,
                redact_headers(headers),
                redact(repr(body)),
            )


ErrorMapper = Callable[[httpx.Response, Any], ProviderError]


def payload_or_raise(
    response: httpx.Response, *, provider: str, name: str, to_error: ErrorMapper
) -> Any:
    """The JSON of a 2xx answer, or the provider's error mapped onto the error tree.

    A 2xx without JSON is never a success: it is "response invalid".
    """
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    if response.is_success:
        if payload is None:
            raise ResponseInvalidError(
                f"{name} answered HTTP {response.status_code} with no JSON",
                provider=provider,
                status=response.status_code,
            )
        return payload
    raise to_error(response, payload)
