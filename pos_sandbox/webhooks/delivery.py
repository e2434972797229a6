"""Delivers recorded webhooks to the endpoints registered for each provider.

Dialects record signed events with ``outbox.record_webhook``. A background task
on the server's loop POSTs each undelivered event, with its recorded body and headers, to the
provider's registered endpoint (loopback URLs only), retrying with bounded exponential backoff.
Every attempt is recorded in the event's ``deliveries`` as ``{"at", "url", "status", "error"}``;
an event counts as delivered once an endpoint answers 2xx.

Control API (``/_sandbox/webhooks...``):

* ``POST /endpoints {"provider", "url"}`` — where ``provider``'s events go (``url: null`` stops).
* ``POST /secret {"provider", "secret"}`` — the signing secret for events recorded from now on.
* ``GET /_sandbox/webhooks?provider=...`` — the events, oldest first, with their deliveries.
* ``POST /flush`` — attempt every pending event now (ignoring backoff); answers when done.
* ``POST /{id}/redeliver`` — send one event again now, delivered or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..credentials import WEBHOOK_SECRETS
from ..dialects import all_dialects
from ..state import Sandbox, iso
from ..web import control_body, control_error
from . import outbox

if TYPE_CHECKING:
    from starlette.requests import Request


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt ``n`` (1-based) waits ``min(base_delay * 2**(n-1), max_delay)`` after the last."""

    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 60.0
    timeout: float = 5.0

    def delay_after(self, attempts: int) -> float:
        return float(min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay))


def endpoint_key(provider: str) -> str:
    return f"webhook_endpoint:{provider}"


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def known_providers() -> set[str]:
    return set(WEBHOOK_SECRETS) | {d.name for d in all_dialects()}


class WebhookDelivery:
    """The delivery task and the control API around it; lives on the server's loop."""

    def __init__(self, sandbox: Sandbox, policy: RetryPolicy | None = None) -> None:
        self.sandbox = sandbox
        self.policy = policy or RetryPolicy()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        # Undelivered events with attempts left: record id -> provider. Kept in memory (loaded
        # at start, fed by record_webhook) so a new event costs no scan of the outbox.
        # event id -> (provider, the event's own target URL if it has one)
        self._pending_ids: dict[str, tuple[str, str | None]] = {}
        self._endpoints: dict[str, str] = {}
        self._next_due: dict[str, float] = {}  # record id -> monotonic time of next attempt
        self._in_flight: dict[str, asyncio.Task[dict[str, Any] | None]] = {}

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        for provider in known_providers():
            url = self.sandbox.store.get_meta(endpoint_key(provider))
            if url:
                self._endpoints[provider] = url
        for record in outbox.list_webhooks(self.sandbox):
            if not record.get("delivered") and (
                len(record.get("deliveries", [])) < self.policy.max_attempts
            ):
                self._pending_ids[record["id"]] = (record["provider"], record.get("url"))
        outbox.set_listener(self.sandbox, self._recorded)
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook-delivery")

    async def stop(self) -> None:
        outbox.set_listener(self.sandbox, None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        in_flight = list(self._in_flight.values())
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            await self.deliver_pending(force=False)
            wait = self._seconds_to_next_due()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _recorded(self, record: dict[str, Any]) -> None:
        self._pending_ids[record["id"]] = (record["provider"], record.get("url"))
        if self._wake is not None:
            self._wake.set()

    def _seconds_to_next_due(self) -> float | None:
        due = [
            self._next_due.get(record_id, 0.0)
            for record_id, target in self._pending_ids.items()
            if self._deliverable(*target)
        ]
        if not due:
            return None
        return max(min(due) - time.monotonic(), 0.0)

    # -- delivery ------------------------------------------------------------------------

    def endpoint(self, provider: str) -> str | None:
        return self._endpoints.get(provider)

    def _deliverable(self, provider: str, own_url: str | None) -> bool:
        """An event's own URL is used only on loopback: the sandbox never calls out."""
        if own_url is not None:
            return is_loopback_url(own_url)
        return provider in self._endpoints

    def _due(self, force: bool) -> list[str]:
        now = time.monotonic()
        return [
            record_id
            for record_id, target in self._pending_ids.items()
            if self._deliverable(*target) and (force or self._next_due.get(record_id, 0.0) <= now)
        ]

    async def deliver_pending(self, *, force: bool) -> list[dict[str, Any]]:
        """One attempt for each pending event (all of them if ``force``); their outcomes."""
        outcomes = await asyncio.gather(*(self.attempt(i) for i in self._due(force)))
        return [outcome for outcome in outcomes if outcome is not None]

    async def attempt(self, record_id: str) -> dict[str, Any] | None:
        """One delivery attempt of one event (joins an attempt already under way)."""
        task = self._in_flight.get(record_id)
        if task is None:
            task = asyncio.create_task(self._attempt(record_id))
            self._in_flight[record_id] = task
            task.add_done_callback(lambda _: self._in_flight.pop(record_id, None))
        return await asyncio.shield(task)

    async def _attempt(self, record_id: str) -> dict[str, Any] | None:
        """None if the event does not exist (its recording transaction rolled back)."""
        record = outbox.get_webhook(self.sandbox, record_id)
        if record is None:
            self._pending_ids.pop(record_id, None)
            self._next_due.pop(record_id, None)
            return None
        # An event with its own target (e.g. Payfect's per-checkout callback_url) goes there.
        url = record.get("url") or self.endpoint(record["provider"])
        attempt: dict[str, Any] = {"at": iso(self.sandbox.now()), "url": url}
        if url is None:
            attempt.update(status=None, error="no endpoint registered")
        elif not is_loopback_url(url):
            attempt.update(status=None, error="not delivered: the sandbox only calls loopback URLs")
        else:
            if self._client is None:
                # Made on first use: building its TLS context costs ~0.1 s at server start.
                self._client = httpx.AsyncClient(timeout=self.policy.timeout, trust_env=False)
            headers = {"Content-Type": "application/json", **record["headers"]}
            try:
                response = await self._client.post(
                    url, content=record["body"].encode("utf-8"), headers=headers
                )
            except httpx.HTTPError as exc:
                attempt.update(status=None, error=f"{type(exc).__name__}: {exc}".strip(": "))
            else:
                attempt.update(status=response.status_code, error=None)
        ok = attempt["status"] is not None and 200 <= attempt["status"] < 300
        with self.sandbox.store.transaction():
            current = outbox.get_webhook(self.sandbox, record_id) or record
            current.setdefault("deliveries", []).append(attempt)
            current["delivered"] = bool(current.get("delivered")) or ok
            self.sandbox.store.put("webhook", record_id, current)
        if current["delivered"] or len(current["deliveries"]) >= self.policy.max_attempts:
            self._next_due.pop(record_id, None)
            self._pending_ids.pop(record_id, None)
        else:
            delay = self.policy.delay_after(len(current["deliveries"]))
            self._next_due[record_id] = time.monotonic() + delay
        return {"id": record_id, **attempt, "delivered": current["delivered"]}

    # -- control API ---------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/webhooks", self.list_events, methods=["GET"]),
            Route("/_sandbox/webhooks/endpoints", self.set_endpoint, methods=["POST"]),
            Route("/_sandbox/webhooks/secret", self.set_secret, methods=["POST"]),
            Route("/_sandbox/webhooks/flush", self.flush, methods=["POST"]),
            Route("/_sandbox/webhooks/{record_id}/redeliver", self.redeliver, methods=["POST"]),
        ]

    async def list_events(self, request: Request) -> Response:
        provider = request.query_params.get("provider") or None
        return JSONResponse({"data": outbox.list_webhooks(self.sandbox, provider)})

    async def set_endpoint(self, request: Request) -> Response:
        body = await control_body(request)
        provider, url = body.get("provider"), body.get("url")
        if provider not in known_providers():
            return _unknown_provider()
        if url is not None and (not isinstance(url, str) or not is_loopback_url(url)):
            return control_error("'url' must be an http(s) URL on a loopback address, or null")
        with self.sandbox.store.transaction():
            self.sandbox.store.set_meta(endpoint_key(provider), url or "")
        if url:
            self._endpoints[provider] = url
        else:
            self._endpoints.pop(provider, None)
        if self._wake is not None:
            self._wake.set()
        return JSONResponse({"provider": provider, "url": url})

    async def set_secret(self, request: Request) -> Response:
        body = await control_body(request)
        provider, secret = body.get("provider"), body.get("secret")
        if provider not in known_providers():
            return _unknown_provider()
        if not isinstance(secret, str) or not secret:
            return control_error("'secret' must be a non-empty string")
        with self.sandbox.store.transaction():
            self.sandbox.store.set_meta(f"webhook_secret:{provider}", secret)
        return JSONResponse({"provider": provider})

    async def flush(self, request: Request) -> Response:
        return JSONResponse({"attempts": await self.deliver_pending(force=True)})

    async def redeliver(self, request: Request) -> Response:
        record_id = request.path_params["record_id"]
        outcome = await self.attempt(record_id)
        if outcome is None:
            return JSONResponse({"error": "no such webhook"}, status_code=404)
        return JSONResponse(outcome)


def _unknown_provider() -> Response:
    return control_error(f"'provider' must be one of {', '.join(sorted(known_providers()))}")
