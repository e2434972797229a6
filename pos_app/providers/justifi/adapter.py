"""JustiFi adapter: the PaymentProvider the services see. Payload shapes live in the
*_mapping modules; checkouts, legacy sessions and payments each have their own module."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pos_app.providers.errors import ConfigurationError, NotSupportedError
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.justifi import SPEC, mapping
from pos_app.providers.justifi.checkouts import HostedCheckouts
from pos_app.providers.justifi.client import JustifiClient
from pos_app.providers.justifi.limits import amount_limits
from pos_app.providers.justifi.payments import Payments
from pos_app.providers.justifi.sessions import LegacyCheckouts
from pos_app.providers.types import (
    ActionResult,
    Capability,
    CaptureRequest,
    ChargeRequest,
    CheckoutMode,
    CheckoutRequest,
    CheckoutSession,
    EmbeddedCheckout,
    PaymentAction,
    ProviderPayment,
    RefundRequest,
    VoidRequest,
)

if TYPE_CHECKING:
    from collections.abc import Callable

LEGACY_SESSION_BASE_URL = "https://checkout.justifi.ai/r"
HostedFlow = Literal["checkout", "checkout_session"]

# What works end to end whichever hosted flow the profile uses. JustiFi's capture takes no
# amount, so there is no PARTIAL_CAPTURE.
_PAYMENT_CAPABILITIES = frozenset(
    {
        Capability.HOSTED_CHECKOUT,
        Capability.DIRECT_CHARGE,
        Capability.AUTHORIZE_CAPTURE,
        Capability.VOID,
        Capability.REFUND,
        Capability.PARTIAL_REFUND,
        Capability.LOOKUP,
        Capability.LIST,
    }
)
# Only a checkout (cho_) has a web component and a URL a phone can use as a link.
_CHECKOUT_ONLY = frozenset({Capability.EMBEDDED_COMPONENT, Capability.PAY_BY_LINK})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JustifiConfig:
    api_base_url: str
    hosted_checkout_base_url: str
    client_id: str
    client_secret: str
    sub_account: str
    currency: str = "USD"
    # "checkout_session": the legacy payment intent + checkout session page.
    hosted_flow: HostedFlow = "checkout"
    legacy_session_base_url: str = LEGACY_SESSION_BASE_URL

    def check(self) -> None:
        missing = [
            name
            for name in (
                "api_base_url",
                "hosted_checkout_base_url",
                "client_id",
                "client_secret",
                "sub_account",
            )
            if not getattr(self, name)
        ]
        if self.hosted_flow == "checkout_session" and not self.legacy_session_base_url:
            missing.append("legacy_session_base_url")
        if missing:
            raise ConfigurationError(
                f"The JustiFi profile is missing: {', '.join(missing)}", provider=mapping.PROVIDER
            )
        if self.hosted_flow not in ("checkout", "checkout_session"):
            raise ConfigurationError(
                f"Unknown JustiFi hosted flow {self.hosted_flow!r}", provider=mapping.PROVIDER
            )

    def capabilities(self) -> frozenset[Capability]:
        if self.hosted_flow == "checkout":
            return _PAYMENT_CAPABILITIES | _CHECKOUT_ONLY
        return _PAYMENT_CAPABILITIES


class JustifiProvider:
    key = SPEC.key
    display_name = SPEC.display_name

    def __init__(
        self,
        config: JustifiConfig,
        http: ProviderHttpClient | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        config.check()
        self._config = config
        self.capabilities = config.capabilities()
        self.limits = amount_limits(config.currency)
        self._http = http or ProviderHttpClient(config.api_base_url, provider=self.key)
        self._api = JustifiClient(
            self._http,
            client_id=config.client_id,
            client_secret=config.client_secret,
            sub_account=config.sub_account,
            monotonic=monotonic,
        )
        self._checkouts = HostedCheckouts(self._api, config.hosted_checkout_base_url, clock)
        self._sessions = LegacyCheckouts(self._api, config.legacy_session_base_url, clock)
        self._payments = Payments(self._api, config.currency)

    async def aclose(self) -> None:
        await self._api.aclose()

    def hosted_url(self, checkout_id: str, success_url: str | None = None) -> str:
        return self._checkouts.hosted_url(checkout_id, success_url)

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise NotSupportedError(
                f"This JustiFi profile does not offer {capability.value}", provider=self.key
            )

    async def check_connection(self) -> None:
        # Signs in, then one list read scoped to the profile's sub-account.
        await self._api.call("GET", "/v1/checkouts", params={"limit": 1}, sub_account=True)

    # -- checkouts -------------------------------------------------------------------------

    @property
    def _legacy(self) -> bool:
        return self._config.hosted_flow == "checkout_session"

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        self._require(Capability.HOSTED_CHECKOUT)
        if request.mode is CheckoutMode.LINK:
            self._require(Capability.PAY_BY_LINK)
        if request.amount.currency != self._config.currency:
            raise ConfigurationError(
                f"This JustiFi account takes {self._config.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        if self._legacy:
            return await self._sessions.create(request)
        return await self._checkouts.create(request)

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        self._require(Capability.LOOKUP)
        if self._legacy:
            return await self._sessions.get(provider_ref)
        return await self._checkouts.get(provider_ref)

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        self._require(Capability.LIST)
        if self._legacy:
            return await self._sessions.find(reference)
        return await self._checkouts.find(reference)

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        self._require(Capability.EMBEDDED_COMPONENT)
        return await self._checkouts.embedded(provider_ref)

    # -- payments --------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        self._require(Capability.DIRECT_CHARGE)
        if not request.capture:
            self._require(Capability.AUTHORIZE_CAPTURE)
        return await self._payments.charge(request)

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        self._require(Capability.LOOKUP)
        return await self._payments.get(payment_ref)

    async def balance_transactions(self, payment_ref: str) -> tuple[PaymentAction, ...]:
        """JustiFi's own ledger of the payment (not part of PaymentProvider): read only when
        someone looks at the payment's history, so lookups and confirmations stay one GET."""
        self._require(Capability.LOOKUP)
        return await self._payments.balance_transactions(payment_ref)

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        self._require(Capability.LIST)
        return await self._payments.find(reference)

    async def capture(self, request: CaptureRequest) -> ActionResult:
        self._require(Capability.AUTHORIZE_CAPTURE)
        return await self._payments.capture(request)

    async def refund(self, request: RefundRequest) -> ActionResult:
        self._require(Capability.REFUND)
        return await self._payments.refund(request)

    async def void(self, request: VoidRequest) -> ActionResult:
        self._require(Capability.VOID)
        return await self._payments.void(request)
