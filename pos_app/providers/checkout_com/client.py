"""Checkout.com requests: the Authorization header, the retry rule and the error mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.providers.checkout_com import mapping
from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.http import ProviderHttpClient, payload_or_raise

if TYPE_CHECKING:
    import httpx

# How many payments a reference search reads (the API's page maximum).
FIND_LIMIT = 100


def segment(identifier: str) -> str:
    """An id as one URL path segment (never a way to reach another path)."""
    return quote(identifier, safe="")


class CkoClient:
    def __init__(self, http: ProviderHttpClient, authorization: str) -> None:
        self._http = http
        self._authorization = authorization

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        return (
            await self.send(method, path, json=json, params=params, idempotency_key=idempotency_key)
        )[1]

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any]:
        """The HTTP status and JSON of a 2xx answer; anything else mapped onto the error tree.

        Only GETs count as safe to repeat: a POST is retried only with its idempotency key.
        """
        response = await self._http.request(
            method,
            path,
            json=json,
            params=params,
            headers={"Authorization": self._authorization},
            idempotency_key=idempotency_key,
            safe_to_repeat=method == "GET",
        )
        return response.status_code, self._payload_or_raise(response, mutating=method != "GET")

    async def payment(self, payment_id: str) -> dict[str, Any]:
        """PaymentDetails of a ``pay_`` id (or of the payment a ``sid_`` session belongs to)."""
        payment = await self.call("GET", f"/payments/{segment(payment_id)}")
        if not isinstance(payment, dict):
            raise ResponseInvalidError(
                "Checkout.com payment is not an object", provider=mapping.PROVIDER
            )
        found = payment.get("id")
        if found != payment_id and not (
            payment_id.startswith("sid_") and isinstance(found, str) and found.startswith("pay_")
        ):
            raise ResponseInvalidError(
                "Checkout.com returned another payment", provider=mapping.PROVIDER
            )
        return payment

    async def actions(self, payment_id: str) -> Any:
        return await self.call("GET", f"/payments/{segment(payment_id)}/actions")

    async def payments_for(self, reference: str) -> list[dict[str, Any]]:
        """Payments made for our reference, newest first."""
        if not reference:
            return []
        payload = await self.call(
            "GET", "/payments", params={"reference": reference, "limit": FIND_LIMIT}
        )
        return [p for p in mapping.parse_payment_list(payload) if p.get("reference") == reference]

    def _payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=mapping.PROVIDER,
            name="Checkout.com",
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code,
                payload,
                mutating=mutating,
                request_id=r.headers.get("Cko-Request-Id"),
            ),
        )
