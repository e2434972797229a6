"""ReCharge adapter: the I/O half. Payload shapes live in mapping.py.

Decisions (PROVIDERS.md §3, the sandbox's ``recharge`` dialect):

* ReCharge has **no idempotency header**. The HTTP client is built with
  ``idempotency_header=None`` and no key is ever passed, so a create that times out or gets a
  5xx is an OutcomeUnknownError, never blindly repeated.
* A **429 is the one exception**: ReCharge refuses it before doing anything, so this adapter
  waits (``Retry-After``, else what ``X-Recharge-Limit`` implies) and sends again, at most
  ``max_rate_limit_waits`` times, through an injectable ``sleep``. Lookups (GET) are also
  retried by the shared client's own rule, which honours ``Retry-After`` too.
* ``find_checkout`` returns None: the Checkouts API has no list or search endpoint. A create
  whose outcome is unknown may therefore leave an orphan checkout behind; it is harmless,
  because nobody is ever sent to its page, so it is never paid.
* **Charging** a checkout with a processor token (``charge``): the checkout is looked up first
  (its amount and our reference must be what the request says, and it must still be open),
  then ``POST /checkouts/{token}/charge`` is sent once. A charge whose answer is lost is
  settled by looking the checkout up, never by sending it again: ``completed_at``/``charge_id``
  say whether it was charged. Only when that lookup fails too is it OutcomeUnknownError.
  A checkout is charged at most once by ReCharge, which is what makes the lookup decisive.
* The payment ref is the checkout token (see charges.py). ReCharge's Checkouts API offers no
  authorization, capture, refund, void, search or embedded component: those raise
  NotSupportedError without sending anything.
* ReCharge will not charge a checkout without an email. ``RechargeConfig.receipt_email`` (the
  store's receipt address) is sent as that email; when it is None, the hosted page asks the
  customer for one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.providers.errors import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    OutcomeUnknownError,
    ProviderError,
    ResponseInvalidError,
)
from pos_app.providers.http import ProviderHttpClient, Sleep, payload_or_raise
from pos_app.providers.recharge import SPEC, mapping
from pos_app.providers.recharge.limits import amount_limits
from pos_app.providers.recharge.mapping import charges
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
    SourceKind,
    VoidRequest,
)

log = logging.getLogger(__name__)

LIVE_API_BASE_URL = "https://api.rechargeapps.com"
LIVE_HOSTED_BASE_URL = "https://checkout.rechargeapps.com"
MAX_RATE_LIMIT_WAITS = 5
MAX_RATE_LIMIT_WAIT_S = 30.0
# Never a checkout token (those are 32 hex digits): a 404 for it proves the credentials work.
CONNECTION_PROBE = "pos-app-connection-check"


@dataclass(frozen=True)
class RechargeConfig:
    """A ReCharge profile.

    ``hosted_base_url``: live ``https://checkout.rechargeapps.com``; the sandbox's is
    ``{sandbox}/recharge``. ``receipt_email``: see the module docstring.
    """

    api_base_url: str
    access_token: str
    api_version: str = "2021-11"
    currency: str = "USD"
    hosted_base_url: str = LIVE_HOSTED_BASE_URL
    receipt_email: str | None = None
    payment_processor: str = "stripe"
    payment_type: str = "CREDIT_CARD"

    def check(self) -> None:
        missing = [
            name
            for name in ("api_base_url", "access_token", "hosted_base_url", "currency")
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError(
                f"The ReCharge profile is missing: {', '.join(missing)}", provider=mapping.PROVIDER
            )
        if self.api_version not in mapping.API_VERSIONS:
            raise ConfigurationError(
                f"ReCharge API version {self.api_version!r} is not one of "
                f"{', '.join(mapping.API_VERSIONS)}",
                provider=mapping.PROVIDER,
            )
        if self.payment_processor not in charges.PROCESSORS:
            raise ConfigurationError(
                f"ReCharge payment processor {self.payment_processor!r} is not one of "
                f"{', '.join(charges.PROCESSORS)}",
                provider=mapping.PROVIDER,
            )
        if self.payment_type not in charges.PAYMENT_TYPES:
            raise ConfigurationError(
                f"ReCharge payment type {self.payment_type!r} is not one of "
                f"{', '.join(charges.PAYMENT_TYPES)}",
                provider=mapping.PROVIDER,
            )
        if self.receipt_email is not None and "@" not in self.receipt_email:
            raise ConfigurationError(
                f"The ReCharge receipt email {self.receipt_email!r} is not an email address",
                provider=mapping.PROVIDER,
            )


class RechargeProvider:
    key = SPEC.key
    display_name = SPEC.display_name
    capabilities = frozenset(
        {Capability.HOSTED_CHECKOUT, Capability.DIRECT_CHARGE, Capability.LOOKUP}
    )

    def __init__(
        self,
        config: RechargeConfig,
        http: ProviderHttpClient | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        max_rate_limit_waits: int = MAX_RATE_LIMIT_WAITS,
        max_rate_limit_wait_s: float = MAX_RATE_LIMIT_WAIT_S,
    ) -> None:
        config.check()
        self._config = config
        self.limits = amount_limits(config.currency)
        self._http = http or ProviderHttpClient(
            config.api_base_url, provider=self.key, idempotency_header=None, sleep=sleep
        )
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

    def hosted_url(self, token: str) -> str:
        return f"{self._config.hosted_base_url.rstrip('/')}/r/checkout/{quote(token, safe='')}"

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        if request.amount.currency != self._config.currency:
            raise ConfigurationError(
                f"This ReCharge account takes {self._config.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        body = mapping.build_checkout_body(
            request, version=self._config.api_version, email=self._config.receipt_email
        )
        # No idempotency key exists: sent once (429s aside), never blindly repeated.
        payload = await self._call("POST", "/checkouts", json=body)
        data = mapping.unwrap(payload)
        session = mapping.parse_checkout(
            data,
            version=self._config.api_version,
            currency=self._config.currency,
            hosted_url=self.hosted_url(str(data.get("token"))),
            expected=request.amount,
        )
        if session.reference != request.reference:
            raise ResponseInvalidError(
                "ReCharge returned a checkout for another sale", provider=self.key
            )
        return session

    async def get_checkout(self, provider_ref: str) -> CheckoutSession:
        payload = await self._call("GET", f"/checkouts/{quote(provider_ref, safe='')}")
        data = mapping.unwrap(payload)
        if data.get("token") != provider_ref:
            raise ResponseInvalidError("ReCharge returned another checkout", provider=self.key)
        return mapping.parse_checkout(
            data,
            version=self._config.api_version,
            currency=self._config.currency,
            hosted_url=self.hosted_url(provider_ref),
        )  # reported as it is: PaymentService holds it against the sale

    async def find_checkout(self, reference: str) -> CheckoutSession | None:
        """Always None: ReCharge's Checkouts API cannot list or search checkouts."""
        return None

    async def check_connection(self) -> None:
        """A GET for a token that cannot exist: 404 proves token, version and URL work."""
        try:
            await self._call("GET", f"/checkouts/{CONNECTION_PROBE}")
        except NotFoundError:
            return

    async def embedded_checkout(self, provider_ref: str) -> EmbeddedCheckout:
        raise self._not_supported("an embedded checkout component")

    # -- payments (the payment ref is the checkout token, see charges.py) ---------

    async def charge(self, request: ChargeRequest) -> ProviderPayment:
        """Charge an open checkout with a processor token (``source.value``)."""
        token = self._check_charge(request)
        before = await self._lookup(token, expected=None)
        # The checkout is ReCharge's answer: one for another sale or amount is not to be trusted.
        if before.reference != request.reference:
            raise ResponseInvalidError(
                f"ReCharge checkout {token} belongs to another sale", provider=self.key
            )
        if before.amount != request.amount:
            raise ResponseInvalidError(
                f"ReCharge checkout {token} is for {before.amount.plain()}, not the "
                f"{request.amount.plain()} {request.amount.currency} asked for",
                provider=self.key,
            )
        if before.state is not PaymentState.PENDING:
            raise InvalidRequestError(
                f"ReCharge checkout {token} is already paid", provider=self.key
            )
        body = charges.build_charge_body(
            request.source.value,
            processor=self._config.payment_processor,
            payment_type=self._config.payment_type,
        )
        path = f"/checkouts/{quote(token, safe='')}/charge"
        try:
            # No idempotency key exists: sent once (429s aside), never blindly repeated.
            response = await self._send("POST", path, json=body)
            if response.status_code == 402:
                decline = charges.decline_from(_json_or_none(response))
                return charges.declined_payment(request, token, decline)
            charge_id = charges.parse_charge(self._payload_or_raise(response, mutating=True))
        except OutcomeUnknownError as lost:
            return await self._settle_lost_charge(token, request, lost)
        after = await self._lookup(token, expected=request.amount)
        if after.state is not PaymentState.CAPTURED or charges.charge_id_of(after) != charge_id:
            raise ResponseInvalidError(
                f"ReCharge accepted charge {charge_id} but checkout {token} does not show it",
                provider=self.key,
            )
        return after

    async def get_payment(self, payment_ref: str) -> ProviderPayment:
        """The checkout ``payment_ref`` (a token) as a payment: PENDING until charged."""
        return await self._lookup(payment_ref, expected=None)  # the service holds it to the sale

    async def find_payment(self, reference: str) -> ProviderPayment | None:
        raise self._not_supported("searching payments by reference")

    async def capture(self, request: CaptureRequest) -> ActionResult:
        raise self._not_supported("capturing (a checkout charge is captured at once)")

    async def refund(self, request: RefundRequest) -> ActionResult:
        raise self._not_supported("refunds through the Checkouts API")

    async def void(self, request: VoidRequest) -> ActionResult:
        raise self._not_supported("voids (a checkout charge is captured at once)")

    def _check_charge(self, request: ChargeRequest) -> str:
        """What can be refused before anything is sent; returns the checkout token."""
        if not request.capture:
            raise self._not_supported("authorizing without capture")
        if request.source.kind is not SourceKind.TOKEN:
            raise self._not_supported(f"charging a {request.source.kind.value}")
        if not request.checkout_ref:
            raise InvalidRequestError(
                "ReCharge charges a checkout: the request names none", provider=self.key
            )
        if not request.source.value:
            raise InvalidRequestError("The charge has no processor token", provider=self.key)
        if request.amount.currency != self._config.currency:
            raise InvalidRequestError(
                f"This ReCharge account takes {self._config.currency}, "
                f"not {request.amount.currency}",
                provider=self.key,
            )
        return request.checkout_ref

    async def _settle_lost_charge(
        self, token: str, request: ChargeRequest, lost: OutcomeUnknownError
    ) -> ProviderPayment:
        """The charge may or may not have happened: the checkout says which.

        CAPTURED: it went through (once: ReCharge charges a checkout only once). PENDING: no
        money was taken, whether the charge was declined or never arrived; the checkout is
        still open. Only a lookup that fails too leaves the outcome unknown.
        """
        log.warning("ReCharge charge of %s lost its answer (%s); looking it up", token, lost)
        try:
            return await self._lookup(token, expected=request.amount)
        except ProviderError as exc:
            raise OutcomeUnknownError(
                f"ReCharge did not answer the charge of checkout {token}, and looking it up "
                f"failed too ({exc.message}): check it before charging again",
                provider=self.key,
                status=lost.status,
            ) from exc

    async def _lookup(self, token: str, *, expected: Money | None) -> ProviderPayment:
        payload = await self._call("GET", f"/checkouts/{quote(token, safe='')}")
        data = mapping.unwrap(payload)
        if data.get("token") != token:
            raise ResponseInvalidError("ReCharge returned another checkout", provider=self.key)
        return charges.payment_from_checkout(
            data,
            version=self._config.api_version,
            currency=self._config.currency,
            expected=expected,
        )

    def _not_supported(self, what: str) -> NotSupportedError:
        return NotSupportedError(f"ReCharge does not offer {what}", provider=self.key)

    # -- plumbing -----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "X-Recharge-Access-Token": self._config.access_token,
            "X-Recharge-Version": self._config.api_version,
        }

    async def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        response = await self._send(method, path, json=json)
        return self._payload_or_raise(response, mutating=method != "GET")

    async def _send(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
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

    def _payload_or_raise(self, response: httpx.Response, *, mutating: bool) -> Any:
        return payload_or_raise(
            response,
            provider=self.key,
            name=self.display_name,
            to_error=lambda r, payload: mapping.error_from_response(
                r.status_code, payload, mutating=mutating
            ),
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
