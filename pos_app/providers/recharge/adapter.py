"""ReCharge adapter: the provider the services see. The work is done in ``client.py`` (the
headers, the 429 wait, the error mapping), ``checkouts.py`` (hosted checkouts) and
``charges.py`` (charging a checkout, and the checkout as a payment); payload shapes live in
``mapping/``.

Decisions (PROVIDERS.md §3, the sandbox's ``recharge`` dialect):

* ReCharge has **no idempotency header** and refuses a 429 before doing anything: see
  client.py for what that means for retries.
* ``find_checkout`` returns None: the Checkouts API has no list or search endpoint (see
  checkouts.py).
* **Charging** a checkout with a processor token (``charge``) is sent once; a charge whose
  answer is lost is settled by looking the checkout up (see charges.py).
* The payment ref is the checkout token (see mapping/charges.py). ReCharge's Checkouts API
  offers no authorization, capture, refund, void, search or embedded component: those raise
  NotSupportedError without sending anything.
* ReCharge will not charge a checkout without an email. ``RechargeConfig.receipt_email`` (the
  store's receipt address) is sent as that email; when it is None, the hosted page asks the
  customer for one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pos_app.providers.errors import ConfigurationError, NotFoundError
from pos_app.providers.http import ProviderHttpClient, Sleep
from pos_app.providers.recharge import SPEC, mapping
from pos_app.providers.recharge.charges import Charges, not_supported
from pos_app.providers.recharge.checkouts import Checkouts
from pos_app.providers.recharge.client import (
    MAX_RATE_LIMIT_WAIT_S,
    MAX_RATE_LIMIT_WAITS,
    RechargeClient,
)
from pos_app.providers.recharge.limits import amount_limits
from pos_app.providers.recharge.mapping import charges
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

LIVE_API_BASE_URL = "https://api.rechargeapps.com"
LIVE_HOSTED_BASE_URL = "https://checkout.rechargeapps.com"
# Never a checkout token (those are 32 hex digits): a 404 for it proves the credentials work.
CONNECTION_PROBE = "pos-app-connection-check"


@dataclass(frozen=True)
class RechargeConfig:
    """A ReCharge profile.

    ``hosted_base_url``: live ``https://checkout.rechargeapps.com``; the sandbox's is
    ``{sandbox}/recharge``. ``receipt_email``: see the module docstring.
    """

    api_base_url: str
    access_token: str
    api_version: str = "2021-11"
    currency: str = "USD"
    hosted_base_url: str = LIVE_HOSTED_BASE_URL
    receipt_email: str | None = None
    payment_processor: str = "stripe"
    payment_type: str = "CREDIT_CARD"

    def check(self) -> None:
        missing = [
            name
            for name in ("api_base_url", "access_token", "hosted_base_url", "currency")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"The ReCharge profile is missing: {', '.join(missing)}", provider=mapping.PROVIDER
            )
        if self.api_version not in mapping.API_VERSIONS:
            raise ConfigurationError(
                f"ReCharge API version {self.api_version!r} is not one of "
                f"{', '.join(mapping.API_VERSIONS)}",
                provider=mapping.PROVIDER,
            )
        if self.payment_processor not in charges.PROCESSORS:
            raise ConfigurationError(
                f"ReCharge payment processor {self.payment_processor!r} is not one of "
                f"{', '.join(charges.PROCESSORS)}",
                provider=mapping.PROVIDER,
            )
        if self.payment_type not in charges.PAYMENT_TYPES:
            raise ConfigurationError(
                f"ReCharge payment type {self.payment_type!r} is not one of "
                f"{', '.join(charges.PAYMENT_TYPES)}",
                provider=mapping.PROVIDER,
            )
        if self.receipt_email is not None and "@" not in self.receipt_email:
            raise ConfigurationError(
                f"The ReCharge receipt email {self.receipt_email!r} is not an email address",
                provider=mapping.PROVIDER,
            )


class RechargeProvider:
    key = SPEC.key
    display_name = SPEC.display_name
    capabilities = frozenset(
        {Capability.HOSTED_CHECKOUT, Capability.DIRECT_CHARGE, Capability.LOOKUP}
    )

    def __init__(
        self,
        config: RechargeConfig,
        http: ProviderHttpClient | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        max_rate_limit_waits: int = MAX_RATE_LIMIT_WAITS,
        max_rate_limit_wait_s: float = MAX_RATE_LIMIT_WAIT_S,
    ) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.currency)
        self._client = RechargeClient(
            http
            or ProviderHttpClient(
                config.api_base_url, provider=self.key, idempotency_header=None, sleep=sleep
            ),
            access_token=config.access_token,
            api_version=config.api_version,
            sleep=sleep,
            max_rate_limit_waits=max_rate_limit_waits,
            max_rate_limit_wait_s=max_rate_limit_wait_s,
        )
        self._checkouts = Checkouts(
            self._client,
            api_version=config.api_version,
            currency=config.currency,
            hosted_base_url=config.hosted_base_url,
            receipt_email=config.receipt_email,
        )
        self._charges = Charges(
            self._client,
            api_version=config.api_version,
            currency=config.currency,
            payment_processor=config.payment_processor,
            payment_type=config.payment_type,
        )

    @property
    def rate_limit(self) -> tuple[int, int] | None:
        """The last ``X-Recharge-Limit`` seen, as (calls used, bucket capacity)."""
        return self._client.rate_limit

    async def aclose(self) -> None:
        await self._client.aclose()

    def hosted_url(self, token: str) -> str:
        return self._checkouts.hosted_url(token)

    async def check_connection(self) -> None:
        """A GET for a token that cannot exist: 404 proves token, version and URL work."""
        try:
            await self._client.call("GET", f"/checkouts/{CONNECTION_PROBE}")
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
        raise not_supported("an embedded checkout component")

    # -- payments (the payment ref is the checkout token, see mapping/charges.py) ---------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        return await self._charges.charge(request)

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        return await self._charges.get(payment_ref)  # the service holds it to the sale

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        raise not_supported("searching payments by reference")

    async def capture(self, request: CaptureRequest) -> ActionResult:
        raise not_supported("capturing (a checkout charge is captured at once)")

    async def refund(self, request: RefundRequest) -> ActionResult:
        raise not_supported("refunds through the Checkouts API")

    async def void(self, request: VoidRequest) -> ActionResult:
        raise not_supported("voids (a checkout charge is captured at once)")
