"""Adapters on the sandbox with a client the batteries control: short timeouts, no real
waits between retries, and a transport that records every attempt the adapter makes.

The provider configuration and the customer's side come from the conformance harness; only
the HTTP client differs, which is why the adapters are built here and not by ``Harness.build``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from pos_app.providers.checkout_com.adapter import (
    IDEMPOTENCY_HEADER as CKO_IDEMPOTENCY_HEADER,
)
from pos_app.providers.checkout_com.adapter import CheckoutComConfig, CheckoutComProvider
from pos_app.providers.http import ProviderHttpClient, RetryPolicy, Sleep
from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider
from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider
from pos_app.providers.recharge.adapter import RechargeConfig, RechargeProvider
from pos_sandbox.checkout_com.api import SANDBOX_PROCESSING_CHANNEL, SANDBOX_SECRET_KEY
from pos_sandbox.payfect.api import SANDBOX_PAYFECT_API_KEY
from pos_sandbox.recharge.api import SANDBOX_RECHARGE_TOKEN
from pos_sandbox.server import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_SUB_ACCOUNT

if TYPE_CHECKING:
    from collections.abc import Callable

    from pos_app.providers.base import PaymentProvider
    from pos_sandbox.control import SandboxControl

RETRY = RetryPolicy()  # the production rule: what the batteries hold the adapters to
IDEMPOTENCY_HEADERS = {
    "justifi": "Idempotency-Key",
    "checkout_com": CKO_IDEMPOTENCY_HEADER,
    "recharge": None,
    "payfect": None,
}
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that change nothing a customer pays for: sign-in.
SAFE_POSTS = ("/justifi/oauth/token",)


@dataclass(frozen=True)
class Attempt:
    """One request the adapter put on the wire (or tried to), and how it ended."""

    method: str
    path: str
    key: str | None
    body_hash: str
    ended: str  # "status:NNN", "not_sent" or "maybe_sent"

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING and not self.path.endswith(SAFE_POSTS)


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and notes every attempt, in order."""

    key_header: str | None
    attempts: list[Attempt] = field(default_factory=list)
    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get(self.key_header) if self.key_header else None
        body = hashlib.sha256(request.content).hexdigest()[:16]

        def note(ended: str) -> None:
            self.attempts.append(Attempt(request.method, request.url.path, key, body, ended))

        try:
            response = await self.inner.handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            note("not_sent")
            raise
        except httpx.TransportError:
            note("maybe_sent")
            raise
        note(f"status:{response.status_code}")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _no_wait(_: float) -> None:
    """Backoff without the wait: the batteries count attempts, not seconds."""
    await asyncio.sleep(0)


def sandbox_time(sandbox: SandboxControl) -> Sleep:
    """A sleep that lets the time pass on the sandbox's clock instead of the wall clock.

    ReCharge's real rate limit (a bucket leaking 2 calls a second on the sandbox clock) is
    waited out this way: thousands of sales run in minutes, as if spread over hours.
    """

    async def wait(seconds: float) -> None:
        await asyncio.to_thread(sandbox.advance_clock, seconds)

    return wait


def _configs(
    name: str, base: str, wait: Sleep
) -> tuple[str, Callable[[ProviderHttpClient], PaymentProvider]]:
    """(API base URL, adapter factory) for one provider on the sandbox at ``base``."""
    if name == "justifi":
        api = f"{base}/justifi"
        config = JustifiConfig(
            api_base_url=api,
            hosted_checkout_base_url=f"{api}/hosted-checkout",
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            sub_account=SANDBOX_SUB_ACCOUNT,
        )
        return api, lambda http: JustifiProvider(config, http)
    if name == "checkout_com":
        cko = CheckoutComConfig(
            api_base_url=f"{base}/checkout-com",
            secret_key=SANDBOX_SECRET_KEY,
            processing_channel_id=SANDBOX_PROCESSING_CHANNEL,
            currency="USD",
        )
        return cko.api_base_url, lambda http: CheckoutComProvider(cko, http)
    if name == "recharge":
        api = f"{base}/recharge"
        rc = RechargeConfig(
            api_base_url=api,
            access_token=SANDBOX_RECHARGE_TOKEN,
            hosted_base_url=api,
            receipt_email="receipts@shop.example",
        )
        return api, lambda http: RechargeProvider(rc, http, sleep=wait)
    if name == "payfect":
        pf = PayfectConfig(f"{base}/payfect", SANDBOX_PAYFECT_API_KEY)
        return pf.api_base_url, lambda http: PayfectProvider(pf, http)
    raise ValueError(name)


@dataclass
class Built:
    provider: PaymentProvider
    http: ProviderHttpClient
    transport: RecordingTransport


def build(
    name: str, base: str, *, read_timeout: float = 10.0, sandbox: SandboxControl | None = None
) -> Built:
    """The adapter for ``name`` at ``base`` (the sandbox, or a dead address) with a
    recording, fast client; ReCharge's rate limit is waited out on ``sandbox``'s clock."""
    if name == "recharge" and sandbox is None:
        raise ValueError("ReCharge's rate limit is waited out on the sandbox clock: pass it")
    wait = sandbox_time(sandbox) if name == "recharge" and sandbox else _no_wait
    api, factory = _configs(name, base, wait)
    header = IDEMPOTENCY_HEADERS[name]
    transport = RecordingTransport(header)
    http = ProviderHttpClient(
        api,
        provider=name,
        idempotency_header=header,
        timeout=httpx.Timeout(connect=2.0, read=read_timeout, write=2.0, pool=2.0),
        retry=RETRY,
        sleep=_no_wait,
        transport=transport,
    )
    return Built(factory(http), http, transport)
