"""ReCharge requests: the access-token and version headers, the 429 wait and the error mapping.

ReCharge has **no idempotency header**: the HTTP client is built with
``idempotency_header=None`` and no key is ever passed, so a create that times out or gets a
5xx is an OutcomeUnknownError, never blindly repeated.

A **429 is the one exception**: ReCharge refuses it before doing anything, so ``send`` waits
(``Retry-After``, else what ``X-Recharge-Limit`` implies) and sends again, at most
``max_rate_limit_waits`` times, through an injectable ``sleep``. Lookups (GET) are also retried
by the shared client's own rule, which honours ``Retry-After`` too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pos_app.providers.errors import ResponseInvalidError
from pos_app.providers.http import ProviderHttpClient, Sleep, payload_or_raise
from pos_app.providers.recharge import mapping

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAITS = 5
MAX_RATE_LIMIT_WAIT_S = 30.0


def segment(identifier: str) -> str:
    """An id as one URL path segment (never a way to reach another path)."""
    return quote(identifier, safe="")


class RechargeClient:
    def __init__(
        self,
        http: ProviderHttpClient,
        *,
        access_token: str,
        api_version: str,
        sleep: Sleep = asyncio.sleep,
        max_rate_limit_waits: int = MAX_RATE_LIMIT_WAITS,
        max_rate_limit_wait_s: float = MAX_RATE_LIMIT_WAIT_S,
    ) -> None:
        self._http = http
        self._access_token = access_token
        self._api_version = api_version
        self._sleep = sleep
        self._max_waits = max_rate_limit_waits
        self._max_wait_s = max_rate_limit_wait_s
        self._rate_limit: tuple[int, int] | None = None

    @property
    def rate_limit(self) -> tuple[int, int] | None:
        """The last ``X-Recharge-Limit`` seen, as (calls used, bucket capacity)."""
        return self._rate_limit

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, *, json: Any = None) -> Any:
        """One API call's JSON; a non-2xx answer raises the mapped ProviderError."""
        response = await self.send(method, path, json=json)
        return self.payload_or_raise(response, mutating=method != "GET")

    async def send(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        """One API call; a 429 (refused before anything happened) is waited out and resent."""
        waits = 0
        while True:
            response = await self._http.request(
                method,
                path,
                json=json,
                headers=self._headers(),
                safe_to_repeat=method == "GET",
            )
            limit = mapping.parse_rate_limit(response.headers.get("X-Recharge-Limit"))
            if limit is not None:
                self._rate_limit = limit
            if response.status_code != 429 or waits >= self._max_waits:
                return response
            waits += 1
            delay = min(
                mapping.rate_limit_delay(response.headers.get("Retry-After"), limit),
                self._max_wait_s,
            )
            log.info(
                "ReCharge rate limit reached (%s); waiting %.1fs before sending %s %s again",
                response.headers.get("X-Recharge-Limit"),
                delay,
                method,
                path,
            )
            await self._sleep(delay)

    def payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=mapping.PROVIDER,
            name="ReCharge",
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )

    async def checkout(self, token: str) -> dict[str, Any]:
        """The checkout ``token``'s data, unwrapped; one with another token is refused."""
        payload = await self.call("GET", f"/checkouts/{segment(token)}")
        data = mapping.unwrap(payload)
        if data.get("token") != token:
            raise ResponseInvalidError(
                "ReCharge returned another checkout", provider=mapping.PROVIDER
            )
        return data

    def _headers(self) -> dict[str, str]:
        return {
            "X-Recharge-Access-Token": self._access_token,
            "X-Recharge-Version": self._api_version,
        }
