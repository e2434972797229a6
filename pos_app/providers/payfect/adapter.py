"""Payfect adapter: the provider the services see. The work is done in ``client.py`` (the
API key header, the error mapping), ``checkouts.py`` (hosted checkouts and links) and
``payments.py`` (the checkout as a payment); payload shapes live in ``mapping/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_app.providers.errors import ConfigurationError, NotFoundError, NotSupportedError
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.payfect import SPEC, mapping
from pos_app.providers.payfect.checkouts import Checkouts
from pos_app.providers.payfect.client import CHECKOUTS_PATH, PayfectClient
from pos_app.providers.payfect.limits import amount_limits
from pos_app.providers.payfect.payments import Payments
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

# The nil UUID is never a checkout id: a 404 for it proves the key and URL work.
CONNECTION_PROBE = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class PayfectConfig:
    """A Payfect profile. ``api_base_url`` is the host part (``https://api.payfect.finance``,
    or the sandbox's ``…/payfect``); client.py adds ``/api/v1/checkouts/``.

    The store sells in ``sale_currency`` (USD only) and Payfect invoices the same number in
    ``crypto_currency`` (a USD stablecoin), see mapping.py. ``callback_url`` overrides the
    dashboard's webhook URL when set.
    """

    api_base_url: str
    api_key: str
    network: str = "tron"
    crypto_currency: str = "usdt"
    sale_currency: str = "USD"
    callback_url: str | None = None

    def check(self) -> None:
        missing = [
            name
            for name in ("api_base_url", "api_key", "network", "crypto_currency")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"The Payfect profile is missing: {', '.join(missing)}", provider=mapping.PROVIDER
            )
        if self.sale_currency != mapping.SALE_CURRENCY:
            raise ConfigurationError(
                f"Payfect prices sales 1:1 in a USD stablecoin; a {self.sale_currency} "
                "store cannot use it",
                provider=mapping.PROVIDER,
            )
        if self.crypto_currency not in mapping.USD_STABLECOINS:
            raise ConfigurationError(
                f"{self.crypto_currency!r} is not a USD stablecoin this app prices 1:1 "
                f"(supported: {', '.join(sorted(mapping.USD_STABLECOINS))})",
                provider=mapping.PROVIDER,
            )


class PayfectProvider:
    """Payfect crypto checkouts: the customer pushes USDT to a hosted page or a link.

    Capabilities are hosted checkout, pay-by-link (the same hosted ``url`` as a QR code) and
    lookup (``get_checkout``, and ``get_payment`` whose ref is the checkout id, see
    mapping.py). Payfect has no direct charge, refund, capture or void (a crypto push payment
    cannot be pulled, pulled back or held), no embedded component, no list and no search:
    those raise NotSupportedError without sending anything.

    Payfect takes no idempotency key, so a create is never retried blindly: the HTTP client
    is built with ``idempotency_header=None`` and no key is passed, so a create that timed out
    raises OutcomeUnknownError. ``find_checkout`` cannot resolve that doubt (see
    checkouts.py).
    """

    key = SPEC.key
    display_name = SPEC.display_name
    capabilities = frozenset(
        {Capability.HOSTED_CHECKOUT, Capability.PAY_BY_LINK, Capability.LOOKUP}
    )

    def __init__(self, config: PayfectConfig, http: ProviderHttpClient | None = None) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.sale_currency)
        self._client = PayfectClient(
            http
            or ProviderHttpClient(config.api_base_url, provider=self.key, idempotency_header=None),
            api_key=config.api_key,
        )
        self._checkouts = Checkouts(
            self._client,
            sale_currency=config.sale_currency,
            crypto_currency=config.crypto_currency,
            network=config.network,
            callback_url=config.callback_url,
        )
        self._payments = Payments(self._client, crypto_currency=config.crypto_currency)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def check_connection(self) -> None:
        """A GET for a checkout that cannot exist: 404 proves the key and URL work."""
        try:
            await self._client.call("GET", f"{CHECKOUTS_PATH}{CONNECTION_PROBE}/")
        except NotFoundError:
            return

    # -- checkouts ------------------------------------------------------------------------

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        return await self._checkouts.create(request)

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        return await self._checkouts.get(provider_ref)

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        return await self._checkouts.find(reference)

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        raise self._not_supported("an embedded checkout component")

    # -- payments (the payment ref is the checkout id) ------------------------------------

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        return await self._payments.get(payment_ref)

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        raise self._not_supported("direct charges (the customer pushes crypto to a checkout)")

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        raise self._not_supported("searching payments by reference")

    async def capture(self, request: CaptureRequest) -> ActionResult:
        raise self._not_supported("captures (a crypto payment is final when it arrives)")

    async def refund(self, request: RefundRequest) -> ActionResult:
        raise self._not_supported("refunds (a crypto push payment cannot be pulled back)")

    async def void(self, request: VoidRequest) -> ActionResult:
        raise self._not_supported("voids (a crypto payment is final when it arrives)")

    def _not_supported(self, what: str) -> NotSupportedError:
        return NotSupportedError(f"Payfect does not offer {what}", provider=self.key)
