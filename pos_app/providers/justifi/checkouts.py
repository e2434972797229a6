"""JustiFi checkouts (the current API): create, look up, find, and web component tokens.

The customer pays on ``components.justifi.ai/hosted-checkout/{checkout_id}``. The same URL
serves as a pay-by-link: JustiFi's own ``<justifi-checkout-qr-code>`` renders exactly it. A
link for the customer's phone carries no ``success_redirect_url``, because our success URL
is one only the till's web view intercepts; the phone stays on JustiFi's "Checkout
Complete" page, and the till learns the outcome by looking the checkout up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.providers.errors import InvalidRequestError, ResponseInvalidError
from pos_app.providers.justifi import mapping
from pos_app.providers.justifi.client import JustifiClient, list_items
from pos_app.providers.types import CheckoutMode, CheckoutRequest, CheckoutSession, EmbeddedCheckout

if TYPE_CHECKING:
    from collections.abc import Callable

# How far back a reference search reads (checkouts are listed newest first).
FIND_PAGES = 5
PAGE_SIZE = 100


def component_resources(checkout_id: str, account_id: str) -> list[str]:
    """Exactly what ``<justifi-checkout>`` needs: complete this checkout, tokenize for this
    account (PROVIDERS.md §1.2). Nothing broader, so a leaked token can do little else."""
    return [f"write:checkout:{checkout_id}", f"write:tokenize:{account_id}"]


class HostedCheckouts:
    def __init__(
        self, api: JustifiClient, hosted_base_url: str, clock: Callable[[], datetime]
    ) -> None:
        self._api = api
        self._hosted_base_url = hosted_base_url.rstrip("/")
        self._clock = clock

    def hosted_url(self, checkout_id: str, success_url: str | None = None) -> str:
        url = f"{self._hosted_base_url}/{quote(checkout_id, safe='')}"
        if success_url:
            url += f"?success_redirect_url={quote(success_url, safe='')}"
        return url

    async def create(self, request: CheckoutRequest) -> CheckoutSession:
        payload = await self._api.call(
            "POST",
            "/v1/checkouts",
            json=mapping.build_checkout_body(request),
            idempotency_key=request.idempotency_key,
            sub_account=True,
        )
        data = mapping.unwrap(payload, "checkout")
        redirect = request.success_url if request.mode is CheckoutMode.HOSTED else None
        session = mapping.parse_checkout(
            data, self.hosted_url(str(data.get("id")), redirect), expected=request.amount
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "JustiFi returned a checkout for another sale", provider=mapping.PROVIDER
            )
        return session

    async def _data(self, checkout_id: str) -> dict[str, Any]:
        payload = await self._api.call("GET", f"/v1/checkouts/{quote(checkout_id, safe='')}")
        data = mapping.unwrap(payload, "checkout")
        if data.get("id") != checkout_id:
            raise ResponseInvalidError(
                "JustiFi returned another checkout", provider=mapping.PROVIDER
            )
        return data

    async def get(self, checkout_id: str) -> CheckoutSession:
        return mapping.parse_checkout(await self._data(checkout_id), self.hosted_url(checkout_id))

    async def find(self, reference: str) -> CheckoutSession | None:
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["after_cursor"] = cursor
            payload = await self._api.call("GET", "/v1/checkouts", params=params, sub_account=True)
            items, cursor = list_items(payload, "checkout")
            for item in items:
                metadata = item.get("metadata")
                if (
                    isinstance(metadata, dict)
                    and metadata.get(mapping.REFERENCE_METADATA_KEY) == reference
                ):
                    return mapping.parse_checkout(item, self.hosted_url(str(item.get("id"))))
            if cursor is None:
                return None
        return None

    async def embedded(self, checkout_id: str) -> EmbeddedCheckout:
        """A web component token for ``<justifi-checkout>`` on this checkout only."""
        data = await self._data(checkout_id)
        session = mapping.parse_checkout(data, None)
        if session.provider_status in ("completed", "expired"):
            raise InvalidRequestError(
                f"JustiFi checkout {checkout_id} is {session.provider_status}; "
                "there is nothing left to pay",
                provider=mapping.PROVIDER,
            )
        account = data.get("account_id")
        if not isinstance(account, str) or not account:
            raise ResponseInvalidError(
                "JustiFi checkout has no account_id", provider=mapping.PROVIDER
            )
        asked_at = self._clock()
        payload = await self._api.call(
            "POST",
            "/v1/web_component_tokens",
            json={"resources": component_resources(checkout_id, account)},
            # A second token is harmless (it moves no money), so a lost answer may be re-asked.
            safe_to_repeat=True,
        )
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseInvalidError(
                "JustiFi web component token response has no access_token",
                provider=mapping.PROVIDER,
            )
        lifetime = payload.get("expires_in")
        expires_at = None
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
            # Counted from before the request, so we never think it lives longer than it does.
            expires_at = asked_at + timedelta(seconds=lifetime)
        return EmbeddedCheckout(
            checkout_ref=checkout_id, account_ref=account, token=token, expires_at=expires_at
        )
