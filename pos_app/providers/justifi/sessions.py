"""JustiFi's legacy hosted flow: a payment intent plus a checkout session page.

``POST /v1/payment_intents`` (Idempotency-Key, Sub-Account), then ``POST
/v1/checkout_sessions {payment_intent_id, after_payment_url}``; the customer pays on
``checkout.justifi.ai/r/{checkout_session_id}`` within 24 hours. The intent is what JustiFi
can look up, so it is the checkout's provider_ref. Removed from JustiFi's docs in 2024 but
still served; kept for accounts set up that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.providers.errors import InvalidRequestError, ResponseInvalidError
from pos_app.providers.justifi import mapping
from pos_app.providers.justifi.client import JustifiClient, list_items
from pos_app.providers.justifi.mapping import sessions as session_mapping
from pos_app.providers.types import CheckoutMode, CheckoutRequest, CheckoutSession

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

FIND_PAGES = 5
PAGE_SIZE = 100
# Sessions have no documented Idempotency-Key; we send one derived from the intent's anyway
# (a repeated session for the same intent is harmless: the intent is paid at most once).
SESSION_KEY_SUFFIX = ":session"


class LegacyCheckouts:
    def __init__(
        self, api: JustifiClient, session_base_url: str, clock: Callable[[], datetime]
    ) -> None:
        self._api = api
        self._session_base_url = session_base_url.rstrip("/")
        self._clock = clock

    def session_url(self, session_id: str) -> str:
        return f"{self._session_base_url}/{quote(session_id, safe='')}"

    async def create(self, request: CheckoutRequest) -> CheckoutSession:
        if request.mode is not CheckoutMode.HOSTED:
            raise InvalidRequestError(
                "JustiFi checkout sessions return to the till's page; they are not links",
                provider=mapping.PROVIDER,
            )
        if not request.success_url:
            # Checked before anything is sent: JustiFi requires after_payment_url.
            raise InvalidRequestError(
                "A JustiFi checkout session needs a success URL to return to",
                provider=mapping.PROVIDER,
            )
        payload = await self._api.call(
            "POST",
            "/v1/payment_intents",
            json=session_mapping.build_intent_body(request),
            idempotency_key=request.idempotency_key,
            sub_account=True,
        )
        intent = mapping.unwrap(payload, "payment_intent")
        intent_id = mapping.text_field(intent, "id")
        created = session_mapping.parse_intent(intent, None, now=self._clock())
        if created.reference != request.reference or created.amount != request.amount:
            raise ResponseInvalidError(
                "JustiFi returned a payment intent for another sale or amount",
                provider=mapping.PROVIDER,
            )
        session = await self._api.call(
            "POST",
            "/v1/checkout_sessions",
            json=session_mapping.build_session_body(intent_id, request.success_url),
            idempotency_key=request.idempotency_key + SESSION_KEY_SUFFIX,
        )
        session_id = session_mapping.session_id_of(mapping.unwrap(session, "checkout_session"))
        return session_mapping.parse_intent(
            intent, self.session_url(session_id), now=self._clock(), expected=request.amount
        )

    async def get(self, intent_id: str) -> CheckoutSession:
        path = f"/v1/payment_intents/{quote(intent_id, safe='')}"
        intent = mapping.unwrap(await self._api.call("GET", path), "payment_intent")
        if intent.get("id") != intent_id:
            raise ResponseInvalidError(
                "JustiFi returned another payment intent", provider=mapping.PROVIDER
            )
        return await self._parse(intent)

    async def find(self, reference: str) -> CheckoutSession | None:
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["after_cursor"] = cursor
            payload = await self._api.call(
                "GET", "/v1/payment_intents", params=params, sub_account=True
            )
            items, cursor = list_items(payload, "payment intent")
            for item in items:
                metadata = item.get("metadata")
                if (
                    isinstance(metadata, dict)
                    and metadata.get(mapping.REFERENCE_METADATA_KEY) == reference
                ):
                    return await self._parse(item)
            if cursor is None:
                return None
        return None

    async def _parse(self, intent: dict[str, Any]) -> CheckoutSession:
        payments = None
        if intent.get("status") == "requires_payment_method":
            # Still unpaid: a failed attempt shows only in the intent's payments.
            path = f"/v1/payment_intents/{quote(str(intent.get('id')), safe='')}/payments"
            payments, _ = list_items(await self._api.call("GET", path), "intent payment")
        return session_mapping.parse_intent(intent, None, now=self._clock(), payments=payments)
