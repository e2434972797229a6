"""JustiFi's API plumbing: OAuth access tokens, the Sub-Account header, error mapping.

Every call goes through ``ProviderHttpClient`` (retry rule, idempotency header, redaction);
this module adds JustiFi's sign-in and re-signs once when a token is refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pos_app.providers.errors import (
    AuthenticationError,
    ConnectionFailedError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, payload_or_raise
from pos_app.providers.justifi import mapping

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# JustiFi access tokens live 24 h; refresh a little early, and on any 401.
TOKEN_LIFETIME_S = 24 * 3600
TOKEN_MARGIN_S = 300

Params = Mapping[str, str | int]


class JustifiClient:
    def __init__(
        self,
        http: ProviderHttpClient,
        *,
        client_id: str,
        client_secret: str,
        sub_account: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.sub_account = sub_account
        self._client_id = client_id
        self._client_secret = client_secret
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_deadline = 0.0

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        idempotency_key: str | None = None,
        sub_account: bool = False,
        safe_to_repeat: bool | None = None,
    ) -> Any:
        """One API call's JSON; a non-2xx answer raises the mapped ProviderError."""
        response = await self.send(
            method,
            path,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            sub_account=sub_account,
            safe_to_repeat=safe_to_repeat,
        )
        return self.payload_or_raise(response, mutating=method != "GET")

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        idempotency_key: str | None = None,
        sub_account: bool = False,
        safe_to_repeat: bool | None = None,
    ) -> httpx.Response:
        """The raw answer (the caller maps it); a 401 signs in again once and repeats."""
        repeatable = method == "GET" if safe_to_repeat is None else safe_to_repeat
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self._signed_in()}"}
            if sub_account:
                headers["Sub-Account"] = self.sub_account
            response = await self.http.request(
                method,
                path,
                json=json,
                params=params,
                headers=headers,
                idempotency_key=idempotency_key,
                safe_to_repeat=repeatable,
            )
            if response.status_code == 401 and attempt == 1:
                # A refused token means the call was not applied: repeating it is safe.
                log.info("JustiFi token refused; authenticating again")
                self._token = None
                continue
            return response
        raise AssertionError("unreachable")

    def payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=mapping.PROVIDER,
            name="JustiFi",
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )

    async def _signed_in(self) -> str:
        """A token, or an error saying the real request was never sent."""
        try:
            return await self._access_token()
        except ProviderError as error:
            if not error.maybe_applied:
                raise
            # Only the token request was sent; the call it was for never left.
            raise ConnectionFailedError(
                f"Could not sign in to JustiFi: {error.message}", provider=mapping.PROVIDER
            ) from error

    async def _access_token(self) -> str:
        if self._token and self._monotonic() < self._token_deadline:
            return self._token
        response = await self.http.request(
            "POST",
            "/oauth/token",
            json={"client_id": self._client_id, "client_secret": self._client_secret},
            safe_to_repeat=True,
        )
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                "JustiFi refused the client id and secret of this profile",
                provider=mapping.PROVIDER,
                status=response.status_code,
            )
        payload = self.payload_or_raise(response, mutating=False)
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseInvalidError(
                "JustiFi token response has no access_token", provider=mapping.PROVIDER
            )
        lifetime = payload.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int) and lifetime > 0 else TOKEN_LIFETIME_S
        self._token = token
        self._token_deadline = self._monotonic() + max(seconds - TOKEN_MARGIN_S, 60)
        return token


def list_items(payload: Any, what: str) -> tuple[list[dict[str, Any]], str | None]:
    """A list envelope's objects and the cursor of the next page (None on the last page)."""
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ResponseInvalidError(f"JustiFi {what} list has no data", provider=mapping.PROVIDER)
    page_info = payload.get("page_info")
    if page_info is None:
        return items, None
    if not isinstance(page_info, dict):
        raise ResponseInvalidError(
            f"JustiFi {what} list has a malformed page_info", provider=mapping.PROVIDER
        )
    cursor = page_info.get("end_cursor")
    if not page_info.get("has_next"):
        return items, None
    if not isinstance(cursor, str) or not cursor:
        raise ResponseInvalidError(
            f"JustiFi {what} list says there is more but gives no cursor",
            provider=mapping.PROVIDER,
        )
    return items, cursor
