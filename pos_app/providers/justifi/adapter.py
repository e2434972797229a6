"""JustiFi adapter: the I/O half. Payload shapes live in mapping.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from pos_app.providers.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, payload_or_raise
from pos_app.providers.justifi import mapping
from pos_app.providers.justifi.limits import amount_limits
from pos_app.providers.types import Capability, CheckoutRequest, CheckoutSession

log = logging.getLogger(__name__)

# JustiFi access tokens live 24 h; refresh a little early, and on any 401.
TOKEN_LIFETIME_S = 24 * 3600
TOKEN_MARGIN_S = 300
# How far back a reference search reads (checkouts are listed newest first).
FIND_PAGES = 5


@dataclass(frozen=True)
class JustifiConfig:
    api_base_url: str
    hosted_checkout_base_url: str
    client_id: str
    client_secret: str
    sub_account: str
    currency: str = "USD"

    def check(self) -> None:
        missing = [
            name
            for name in (
                "api_base_url",
                "hosted_checkout_base_url",
                "client_id",
                "client_secret",
                "sub_account",
            )
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"The JustiFi profile is missing: {', '.join(missing)}", provider=mapping.PROVIDER
            )


class JustifiProvider:
    key = "justifi"
    display_name = "JustiFi"
    capabilities = frozenset({Capability.HOSTED_CHECKOUT, Capability.LOOKUP, Capability.LIST})

    def __init__(
        self,
        config: JustifiConfig,
        http: ProviderHttpClient | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.currency)
        self._http = http or ProviderHttpClient(config.api_base_url, provider=self.key)
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_deadline = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    def hosted_url(self, checkout_id: str, success_url: str | None = None) -> str:
        url = f"{self._config.hosted_checkout_base_url.rstrip('/')}/{checkout_id}"
        if success_url:
            url += f"?success_redirect_url={quote(success_url, safe='')}"
        return url

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self._config.currency:
            raise ConfigurationError(
                f"This JustiFi account takes {self._config.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        payload = await self._call(
            "POST",
            "/v1/checkouts",
            json=mapping.build_checkout_body(request),
            idempotency_key=request.idempotency_key,
            sub_account=True,
        )
        data = mapping.unwrap(payload, "checkout")
        session = mapping.parse_checkout(
            data, self.hosted_url(str(data.get("id")), request.success_url), expected=request.amount
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "JustiFi returned a checkout for another sale", provider=self.key
            )
        return session

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        payload = await self._call("GET", f"/v1/checkouts/{quote(provider_ref, safe='')}")
        data = mapping.unwrap(payload, "checkout")
        if data.get("id") != provider_ref:
            raise ResponseInvalidError("JustiFi returned another checkout", provider=self.key)
        return mapping.parse_checkout(data, self.hosted_url(provider_ref))

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, str | int] = {"limit": 100}
            if cursor:
                params["after_cursor"] = cursor
            payload = await self._call("GET", "/v1/checkouts", params=params, sub_account=True)
            items = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(items, list):
                raise ResponseInvalidError("JustiFi checkout list has no data", provider=self.key)
            for item in items:
                metadata = item.get("metadata") if isinstance(item, dict) else None
                if (
                    isinstance(metadata, dict)
                    and metadata.get(mapping.REFERENCE_METADATA_KEY) == reference
                ):
                    return mapping.parse_checkout(item, self.hosted_url(str(item.get("id"))))
            page_info = payload.get("page_info") or {}
            if not page_info.get("has_next"):
                return None
            cursor = page_info.get("end_cursor")
        return None

    # -- plumbing -----------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str | int] | None = None,
        idempotency_key: str | None = None,
        sub_account: bool = False,
    ) -> Any:
        """One API call; a 401 refreshes the token once and repeats the call."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self._signed_in()}"}
            if sub_account:
                headers["Sub-Account"] = self._config.sub_account
            response = await self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers=headers,
                idempotency_key=idempotency_key,
                safe_to_repeat=method == "GET",
            )
            if response.status_code == 401 and attempt == 1:
                log.info("JustiFi token refused; authenticating again")
                self._token = None
                continue
            return self._payload_or_raise(response, mutating=method != "GET")
        raise AssertionError("unreachable")

    async def _signed_in(self) -> str:
        """A token, or an error saying the real request was never sent."""
        try:
            return await self._access_token()
        except ProviderError as error:
            if not error.maybe_applied:
                raise
            # Only the token request was sent; the call it was for never left.
            raise ConnectionFailedError(
                f"Could not sign in to JustiFi: {error.message}", provider=self.key
            ) from error

    async def _access_token(self) -> str:
        if self._token and self._monotonic() < self._token_deadline:
            return self._token
        response = await self._http.request(
            "POST",
            "/oauth/token",
            json={"client_id": self._config.client_id, "client_secret": self._config.client_secret},
            safe_to_repeat=True,
        )
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                "JustiFi refused the client id and secret of this profile",
                provider=self.key,
                status=response.status_code,
            )
        payload = self._payload_or_raise(response, mutating=False)
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseInvalidError(
                "JustiFi token response has no access_token", provider=self.key
            )
        lifetime = payload.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int) and lifetime > 0 else TOKEN_LIFETIME_S
        self._token = token
        self._token_deadline = self._monotonic() + max(seconds - TOKEN_MARGIN_S, 60)
        return token

    def _payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=self.key,
            name=self.display_name,
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )
