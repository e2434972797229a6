"""ReCharge checkouts: created through the API, paid on ReCharge's hosted page.

``find`` returns None: the Checkouts API has no list or search endpoint. A create whose
outcome is unknown may therefore leave an orphan checkout behind; it is harmless, because
nobody is ever sent to its page, so it is never paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pos_app.providers.errors import ConfigurationError, ResponseInvalidError
from pos_app.providers.recharge import mapping
from pos_app.providers.recharge.client import RechargeClient, segment

if TYPE_CHECKING:
    from pos_app.providers.types import CheckoutRequest, CheckoutSession


class Checkouts:
    def __init__(
        self,
        client: RechargeClient,
        *,
        api_version: str,
        currency: str,
        hosted_base_url: str,
        receipt_email: str | None,
    ) -> None:
        self._client = client
        self._version = api_version
        self._currency = currency
        self._hosted_base_url = hosted_base_url
        self._email = receipt_email

    def hosted_url(self, token: str) -> str:
        return f"{self._hosted_base_url.rstrip('/')}/r/checkout/{segment(token)}"

    async def create(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self._currency:
            raise ConfigurationError(
                f"This ReCharge account takes {self._currency}, not {request.amount.currency}",
                provider=mapping.PROVIDER,
            )
        body = mapping.build_checkout_body(request, version=self._version, email=self._email)
        # No idempotency key exists: sent once (429s aside), never blindly repeated.
        payload = await self._client.call("POST", "/checkouts", json=body)
        data = mapping.unwrap(payload)
        session = mapping.parse_checkout(
            data,
            version=self._version,
            currency=self._currency,
            hosted_url=self.hosted_url(str(data.get("token"))),
            expected=request.amount,
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "ReCharge returned a checkout for another sale", provider=mapping.PROVIDER
            )
        return session

    async def get(self, provider_ref: str) -> CheckoutSession:
        data = await self._client.checkout(provider_ref)
        return mapping.parse_checkout(
            data,
            version=self._version,
            currency=self._currency,
            hosted_url=self.hosted_url(provider_ref),
        )  # reported as it is: PaymentService holds it against the sale

    async def find(self, reference: str) -> CheckoutSession | None:
        """Always None: ReCharge's Checkouts API cannot list or search checkouts."""
        return None
