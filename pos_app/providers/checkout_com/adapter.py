"""Checkout.com adapter: the I/O half. Payload shapes live in mapping.py.

Hosted checkout is Checkout.com's Hosted Payments Page (``POST /hosted-payments``).
Checkout.com offers no list of hosted pages, so a page is found by our reference only once a
payment was attempted on it (``GET /payments?reference=…``); ``find_checkout`` then answers
with that payment, whose ``pay_…`` id ``get_checkout`` also accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

from pos_app.domain.payment import PaymentState
from pos_app.providers.checkout_com import mapping
from pos_app.providers.checkout_com.limits import amount_limits
from pos_app.providers.errors import (
    ConfigurationError,
    OutcomeUnknownError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, payload_or_raise
from pos_app.providers.types import Capability, CheckoutRequest, CheckoutSession, Decline

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Cko-Idempotency-Key"
# How many payments a reference search reads (the API's page maximum).
FIND_LIMIT = 100

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
    key = "checkout_com"
    display_name = "Checkout.com"
    capabilities = frozenset({Capability.HOSTED_CHECKOUT, Capability.LOOKUP, Capability.LIST})

    def __init__(self, config: CheckoutComConfig, http: ProviderHttpClient | None = None) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.currency)
        self._http = http or ProviderHttpClient(
            config.api_base_url, provider=self.key, idempotency_header=IDEMPOTENCY_HEADER
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self.limits.currency:
            raise ConfigurationError(
                f"This Checkout.com account takes {self.limits.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        body = mapping.build_hosted_body(
            request,
            processing_channel_id=self._config.processing_channel_id,
            billing_country=self._config.billing_country,
        )
        # Checkout.com's idempotency docs do not list /hosted-payments (the sandbox ignores
        # the key there). We send it anyway; a repeat may open a second page, which holds
        # no money and simply expires unpaid.
        created = await self._call(
            "POST", "/hosted-payments", json=body, idempotency_key=request.idempotency_key
        )
        hpp_id, _ = mapping.parse_hosted_created(created)
        if isinstance(created, dict) and created.get("reference") not in (None, request.reference):
            raise ResponseInvalidError(
                "Checkout.com returned a page for another sale", provider=self.key
            )
        # The 201 carries no amount: read the page back to check it is for what we asked.
        try:
            session = mapping.parse_hosted(
                await self._call("GET", f"/hosted-payments/{quote(hpp_id, safe='')}"),
                expected=request.amount,
            )
        except ResponseInvalidError:
            raise
        except ProviderError as error:
            raise OutcomeUnknownError(
                f"Checkout.com opened page {hpp_id} but it could not be read back: {error.message}",
                provider=self.key,
                status=error.status,
            ) from error
        if session.provider_ref != hpp_id or session.reference != request.reference:
            raise ResponseInvalidError(
                "Checkout.com returned a page for another sale", provider=self.key
            )
        return session

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        """A hosted page (``hpp_…``) or a payment found by reference (``pay_…``), with the
        card, the decline and the number of payment attempts made for our reference."""
        if provider_ref.startswith("pay_"):
            payment = await self._payment(provider_ref)
            reference = payment.get("reference")
            tries = await self._payments_for(reference) if isinstance(reference, str) else []
            return mapping.parse_payment_session(
                payment, decline=await self._decline_of(payment), attempts=max(len(tries), 1)
            )
        hosted = await self._call("GET", f"/hosted-payments/{quote(provider_ref, safe='')}")
        if not isinstance(hosted, dict) or hosted.get("id") != provider_ref:
            raise ResponseInvalidError("Checkout.com returned another page", provider=self.key)
        reference = hosted.get("reference")
        # A declined attempt leaves the page open and names no payment: find the attempts
        # by our reference.
        attempts = await self._payments_for(reference) if isinstance(reference, str) else []
        payment_id = hosted.get("payment_id")
        if isinstance(payment_id, str) and payment_id:
            payment = await self._payment(payment_id)
            return mapping.parse_hosted(hosted, payment=payment, attempts=attempts)
        decline: Decline | None = None
        if hosted.get("status") == "Payment Pending" and attempts:
            decline = await self._decline_of(attempts[0])
        return mapping.parse_hosted(hosted, attempts=attempts, decline=decline)

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        payments = await self._payments_for(reference)
        if not payments:
            return None
        approved = [p for p in payments if p.get("approved") is True]
        chosen = approved[0] if approved else payments[0]
        return mapping.parse_payment_session(
            chosen, decline=await self._decline_of(chosen), attempts=len(payments)
        )

    # -- plumbing -----------------------------------------------------------------

    async def _payment(self, payment_id: str) -> dict[str, Any]:
        payment = await self._call("GET", f"/payments/{quote(payment_id, safe='')}")
        if not isinstance(payment, dict) or payment.get("id") != payment_id:
            raise ResponseInvalidError("Checkout.com returned another payment", provider=self.key)
        return payment

    async def _payments_for(self, reference: str) -> list[dict[str, Any]]:
        """Payments made for our reference, newest first."""
        if not reference:
            return []
        payload = await self._call(
            "GET", "/payments", params={"reference": reference, "limit": FIND_LIMIT}
        )
        return [p for p in mapping.parse_payment_list(payload) if p.get("reference") == reference]

    async def _decline_of(self, payment: dict[str, Any]) -> Decline | None:
        """Why a declined payment was declined: PaymentDetails carry no response code, its
        authorization action does."""
        if mapping.payment_status(payment) is not PaymentState.DECLINED:
            return None
        payment_id = mapping.required_string(payment, "id")
        actions = await self._call("GET", f"/payments/{quote(payment_id, safe='')}/actions")
        return mapping.decline_from_actions(actions)

    def _authorization(self) -> str:
        if self._config.auth_style == "raw":
            return self._config.secret_key
        return f"Bearer {self._config.secret_key}"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        response = await self._http.request(
            method,
            path,
            json=json,
            params=params,
            headers={"Authorization": self._authorization()},
            idempotency_key=idempotency_key,
            safe_to_repeat=method == "GET",
        )
        return self._payload_or_raise(response, mutating=method != "GET")

    def _payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=self.key,
            name=self.display_name,
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code,
                payload,
                mutating=mutating,
                request_id=r.headers.get("Cko-Request-Id"),
            ),
        )
