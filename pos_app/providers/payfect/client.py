"""Payfect requests: the ``Api-Key`` Authorization header and the error mapping.

Payfect takes no idempotency key, so a create is never retried blindly: the HTTP client is
built with ``idempotency_header=None`` and no key is passed, so a create that timed out raises
OutcomeUnknownError. Only GETs count as safe to repeat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.providers.http import ProviderHttpClient, payload_or_raise
from pos_app.providers.payfect import mapping

if TYPE_CHECKING:
    import httpx

CHECKOUTS_PATH = "/api/v1/checkouts/"


def checkout_path(checkout_id: str) -> str:
    """The path of one checkout (its id one URL path segment, never a way to another path)."""
    return f"{CHECKOUTS_PATH}{quote(checkout_id, safe='')}/"


class PayfectClient:
    def __init__(self, http: ProviderHttpClient, *, api_key: str) -> None:
        self._http = http
        self._api_key = api_key

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, *, json: Any = None) -> Any:
        """One API call's JSON; a non-2xx answer raises the mapped ProviderError."""
        response = await self._http.request(
            method,
            path,
            json=json,
            headers={"Authorization": f"Api-Key {self._api_key}"},
            safe_to_repeat=method == "GET",
        )
        return self.payload_or_raise(response, mutating=method != "GET")

    def payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=mapping.PROVIDER,
            name="Payfect",
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )
