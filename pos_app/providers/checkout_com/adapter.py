"""Checkout.com adapter: the provider the services see. The work is done in
``checkouts.py`` (Hosted Payments Page, Payment Links) and ``payments.py`` (direct charges,
lookups, captures, refunds, voids); payload shapes live in the two mapping modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pos_app.providers.checkout_com import SPEC, mapping
from pos_app.providers.checkout_com.checkouts import Checkouts
from pos_app.providers.checkout_com.client import CkoClient
from pos_app.providers.checkout_com.limits import amount_limits
from pos_app.providers.checkout_com.payments import Payments
from pos_app.providers.errors import ConfigurationError, NotSupportedError
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.types import (
    ActionResult,
    Capability,
    CaptureRequest,
    ChargeRequest,
    CheckoutRequest,
    CheckoutSession,
    EmbeddedCheckout,
    ProviderPayment,
    RefundRequest,
    VoidRequest,
)

IDEMPOTENCY_HEADER = "Cko-Idempotency-Key"
CONNECTION_CHECK_REFERENCE = "pos-app-connection-check"

AuthStyle = Literal["bearer", "raw"]


@dataclass(frozen=True)
class CheckoutComConfig:
    """A Checkout.com profile.

    ``auth_style`` "bearer" sends ``Authorization: Bearer sk_…`` (NAS accounts); "raw" sends
    the key as it is (ABC/"Previous" accounts). ``billing_country`` fills the billing address
    country the Hosted Payments Page requires (the shop's country; the customer never sees it).
    """

    api_base_url: str
    secret_key: str
    processing_channel_id: str
    currency: str = "GBP"
    auth_style: AuthStyle = "bearer"
    billing_country: str = "GB"

    def check(self) -> None:
        missing = [
            name
            for name in (
                "api_base_url",
                "secret_key",
                "processing_channel_id",
                "currency",
                "billing_country",
            )
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"The Checkout.com profile is missing: {', '.join(missing)}",
                provider=mapping.PROVIDER,
            )
        if self.auth_style not in ("bearer", "raw"):
            raise ConfigurationError(
                f"Checkout.com auth_style must be 'bearer' or 'raw', not {self.auth_style!r}",
                provider=mapping.PROVIDER,
            )
        country = self.billing_country
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise ConfigurationError(
                f"Checkout.com billing_country must be a two-letter ISO code, not {country!r}",
                provider=mapping.PROVIDER,
            )


class CheckoutComProvider:
    key = SPEC.key
    display_name = SPEC.display_name
    # Everything here works end to end against the sandbox. No embedded component: Checkout.com's
    # Frames / Flow need a public key and a web page this app does not ship.
    capabilities = frozenset(
        {
            Capability.HOSTED_CHECKOUT,
            Capability.PAY_BY_LINK,
            Capability.DIRECT_CHARGE,
            Capability.AUTHORIZE_CAPTURE,
            Capability.PARTIAL_CAPTURE,
            Capability.VOID,
            Capability.REFUND,
            Capability.PARTIAL_REFUND,
            Capability.LOOKUP,
            Capability.LIST,
        }
    )

    def __init__(self, config: CheckoutComConfig, http: ProviderHttpClient | None = None) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.currency)
        self._client = CkoClient(
            http
            or ProviderHttpClient(
                config.api_base_url, provider=self.key, idempotency_header=IDEMPOTENCY_HEADER
            ),
            config.secret_key if config.auth_style == "raw" else f"Bearer {config.secret_key}",
        )
        self._checkouts = Checkouts(
            self._client,
            processing_channel_id=config.processing_channel_id,
            billing_country=config.billing_country,
        )
        self._payments = Payments(
            self._client, processing_channel_id=config.processing_channel_id, limits=self.limits
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check_connection(self) -> None:
        """The cheapest authenticated read Checkout.com has: a payment list for a reference no
        sale has (the docs make ``reference`` required on ``GET /payments``)."""
        await self._client.call(
            "GET", "/payments", params={"reference": CONNECTION_CHECK_REFERENCE, "limit": 1}
        )

    # -- checkouts ------------------------------------------------------------------------

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self.limits.currency:
            raise ConfigurationError(
                f"This Checkout.com account takes {self.limits.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        return await self._checkouts.create(request)

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        return await self._checkouts.get(provider_ref)

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        return await self._checkouts.find(reference)

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        raise NotSupportedError(
            "Checkout.com has no embedded checkout in this app", provider=self.key
        )

    # -- payments -------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        return await self._payments.charge(request)

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        return await self._payments.get(payment_ref)

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        return await self._payments.find(reference)

    async def capture(self, request: CaptureRequest) -> ActionResult:
        return await self._payments.capture(request)

    async def refund(self, request: RefundRequest) -> ActionResult:
        return await self._payments.refund(request)

    async def void(self, request: VoidRequest) -> ActionResult:
        return await self._payments.void(request)
