"""ReCharge's API endpoints under ``/recharge``: checkouts and products (PROVIDERS.md §3).

Every call passes the access token, the rate limit (a leaky bucket per token on the sandbox
clock) and the version check (``RechargeApi._serve``), as the package's notes describe.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import credentials
from ..web import loads_exact
from . import products
from .checkouts import KIND, charge_checkout, create_checkout, update_checkout
from .errors import RechargeError, fail, invalid, not_found
from .views import API_VERSIONS, DEFAULT_VERSION, available_rates, checkout_view, rate_view

if TYPE_CHECKING:
    from datetime import datetime

    from ..state import Sandbox

SANDBOX_RECHARGE_TOKEN = credentials.RECHARGE_ACCESS_TOKEN
BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
PROCESSORS = ("stripe", "braintree", "authorize", "mollie")
PAYMENT_TYPES = ("CREDIT_CARD", "PAYPAL", "APPLE_PAY", "GOOGLE_PAY", "SEPA_DEBIT")


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON object body, decimals kept exact; ReCharge-shaped errors otherwise."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise fail(415, "Content-Type must be application/json")
    try:
        raw = await request.body()
    except HTTPException as exc:
        raise fail(exc.status_code, str(exc.detail)) from exc
    try:
        body = loads_exact(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(400, "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise fail(400, "The request body must be a JSON object")
    return body


@dataclass
class _Bucket:
    level: float
    at: datetime


Handler = Callable[
    [Request, str],
    Awaitable[tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]]],
]


class RechargeApi:
    """The checkout endpoints; each call passes auth, the rate limit and the version check."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._buckets: dict[str, _Bucket] = {}

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._serve(request, handler)

            return Route("/recharge" + path, endpoint, methods=[method])

        return [
            route("/checkouts", self.create, "POST"),
            route("/checkouts/{token}", self.get, "GET"),
            route("/checkouts/{token}", self.update, "PUT"),
            route("/checkouts/{token}/shipping_rates", self.shipping_rates, "GET"),
            route("/checkouts/{token}/charge", self.charge, "POST"),
            route("/products", self.list_products, "GET"),
            route("/products/{product_id}", self.get_product, "GET"),
        ]

    def _level(self, token: str, now: datetime) -> float:
        bucket = self._buckets.get(token)
        if bucket is None:
            return 0.0
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        return max(0.0, bucket.level - elapsed * LEAK_PER_SECOND)

    async def _serve(self, request: Request, handler: Handler) -> Response:
        token = request.headers.get("x-recharge-access-token", "").strip()
        now = self.sandbox.now()
        level = self._level(token, now)
        try:
            if token != SANDBOX_RECHARGE_TOKEN:
                raise fail(401, "A valid access token is required")
            if level + 1 > BUCKET_SIZE:
                raise fail(429, "Too many requests")
            level += 1
            self._buckets[token] = _Bucket(level, now)
            version = request.headers.get("x-recharge-version", DEFAULT_VERSION).strip()
            if version not in API_VERSIONS:
                raise fail(426, "Invalid API version")
            answer = await handler(request, version)
            status, body = answer[0], answer[1]
            extra = answer[2] if len(answer) == 3 else {}
        except RechargeError as exc:
            status, body, extra = exc.status, exc.body, {}
        headers = {
            **extra,
            "X-Recharge-Limit": f"{min(BUCKET_SIZE, math.ceil(level))}/{BUCKET_SIZE}",
        }
        if status == 429:
            headers["Retry-After"] = str(math.ceil((level + 1 - BUCKET_SIZE) / LEAK_PER_SECOND))
        return JSONResponse(body, status_code=status, headers=headers)

    async def create(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = create_checkout(self.sandbox, await read_json(request))
        # 2021-01 answered 200 (the 2019 capture); from 2021-11 a creation is 201 (the
        # API standards' status grid).
        status = 200 if version == "2021-01" else 201
        return status, {"checkout": checkout_view(checkout, version)}

    async def get(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = self.sandbox.store.get(KIND, request.path_params["token"])
        if checkout is None:
            raise not_found()
        return 200, {"checkout": checkout_view(checkout, version)}

    async def update(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        body = await read_json(request)
        wrapped = body.get("checkout")
        fields = wrapped if isinstance(wrapped, dict) and len(body) == 1 else body
        checkout = update_checkout(self.sandbox, request.path_params["token"], fields)
        return 200, {"checkout": checkout_view(checkout, version)}

    async def shipping_rates(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        checkout = self.sandbox.store.get(KIND, request.path_params["token"])
        if checkout is None:
            raise not_found()
        rates = [rate_view(rate, checkout) for rate in available_rates(checkout)]
        return 200, {"shipping_rates": rates}

    async def charge(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        body = await read_json(request)
        wrapped = body.get("checkout_charge")
        fields = wrapped if isinstance(wrapped, dict) else body  # the 2019 wrapped form too
        processor = fields.get("payment_processor")
        if processor not in PROCESSORS:
            raise invalid("payment_processor", f"must be one of {', '.join(PROCESSORS)}")
        payment_token = fields.get("payment_token")
        if not isinstance(payment_token, str) or not payment_token:
            raise invalid("payment_token", "is required")
        payment_type = fields.get("payment_type", "CREDIT_CARD")
        if payment_type not in PAYMENT_TYPES:
            raise invalid("payment_type", f"must be one of {', '.join(PAYMENT_TYPES)}")
        result = charge_checkout(
            self.sandbox,
            request.path_params["token"],
            payment_processor=str(processor),
            payment_token=payment_token,
            payment_type=str(payment_type),
        )
        return 200, {"checkout_charge": result}

    async def list_products(
        self, request: Request, version: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        query = request.query_params
        try:
            if version != "2021-01":
                return 200, products.list_v2021_11(self.sandbox, query), {}
            items, next_page = products.list_v2021_01(self.sandbox, query)
        except products.ListQueryError as exc:
            raise invalid(exc.field, exc.message) from exc
        headers = {}
        if next_page is not None:
            url = request.url.include_query_params(page=next_page)
            headers["Link"] = f'<{url}>; rel="next"'
        return 200, {"products": items}, headers

    async def get_product(self, request: Request, version: str) -> tuple[int, dict[str, Any]]:
        product = products.find_product(self.sandbox, request.path_params["product_id"], version)
        if product is None:
            raise not_found()
        return 200, {"product": products.product_view(product, version)}
