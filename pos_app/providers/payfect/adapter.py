"""Payfect adapter: the I/O half. Payload shapes live in mapping.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from pos_app.providers.errors import (
    ConfigurationError,
    NotFoundError,
    NotSupportedError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, payload_or_raise
from pos_app.providers.payfect import SPEC, mapping
from pos_app.providers.payfect.limits import amount_limits
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

CHECKOUTS_PATH = "/api/v1/checkouts/"
# The nil UUID is never a checkout id: a 404 for it proves the key and URL work.
CONNECTION_PROBE = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class PayfectConfig:
    """A Payfect profile. ``api_base_url`` is the host part (``https://api.payfect.finance``,
    or the sandbox's ``…/payfect``); the adapter adds ``/api/v1/checkouts/``.

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
    raises OutcomeUnknownError. ``find_checkout`` cannot resolve that doubt (see there).
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
        self._http = http or ProviderHttpClient(
            config.api_base_url, provider=self.key, idempotency_header=None
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self._config.sale_currency:
            raise ConfigurationError(
                f"This Payfect profile sells in {self._config.sale_currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        body = mapping.build_checkout_body(
            request,
            crypto_currency=self._config.crypto_currency,
            network=self._config.network,
            callback_url=self._config.callback_url,
        )
        # Deliberately no idempotency_key: Payfect would ignore it, and passing one would let
        # the HTTP client repeat the create on a timeout or 5xx.
        payload = await self._call("POST", CHECKOUTS_PATH, json=body)
        session = mapping.parse_checkout(
            payload, crypto_currency=self._config.crypto_currency, expected=request.amount
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "Payfect returned a checkout for another sale", provider=self.key
            )
        if session.hosted_url is None:
            raise ResponseInvalidError(
                "Payfect returned a checkout without a url", provider=self.key
            )
        return session

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        payload = await self._call("GET", f"{CHECKOUTS_PATH}{quote(provider_ref, safe='')}/")
        session = mapping.parse_checkout(payload, crypto_currency=self._config.crypto_currency)
        if session.provider_ref != provider_ref:
            raise ResponseInvalidError("Payfect returned another checkout", provider=self.key)
        return session

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        """Always None: Payfect documents no list or search endpoint.

        The service must keep the checkout id: it records ``provider_ref`` from the create
        response. A create whose outcome is unknown (no response) therefore cannot be found
        here and stays ``in_doubt`` for a human to settle from the Payfect dashboard.
        """
        return None

    async def check_connection(self) -> None:
        """A GET for a checkout that cannot exist: 404 proves the key and URL work."""
        try:
            await self._call("GET", f"{CHECKOUTS_PATH}{CONNECTION_PROBE}/")
        except NotFoundError:
            return

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        raise self._not_supported("an embedded checkout component")

    # -- payments (the payment ref is the checkout id) -----------------------------

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        """The checkout ``payment_ref`` as a payment: PENDING while open, CAPTURED once paid."""
        payload = await self._call("GET", f"{CHECKOUTS_PATH}{quote(payment_ref, safe='')}/")
        payment = mapping.payment_from_checkout(
            payload, crypto_currency=self._config.crypto_currency
        )
        if payment.provider_ref != payment_ref:
            raise ResponseInvalidError("Payfect returned another checkout", provider=self.key)
        return payment

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

    # -- plumbing -----------------------------------------------------------------

    async def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        response = await self._http.request(
            method,
            path,
            json=json,
            headers={"Authorization": f"Api-Key {self._config.api_key}"},
            safe_to_repeat=method == "GET",
        )
        return self._payload_or_raise(response, mutating=method != "GET")

    def _payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=self.key,
            name=self.display_name,
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )
