"""Payfect's HTTP dialect under ``/payfect``: crypto checkouts (PROVIDERS.md §4).

Payfect documents two calls, ``POST /api/v1/checkouts/`` and ``GET /api/v1/checkouts/{id}/``;
its Python SDK calls the same resource as ``/api/checkouts/`` — both are served. Requests are
snake_case, responses camelCase with exactly the keys of the saved examples
(provider-specs/payfect/*.json), amounts are decimal strings. Decisions where the docs are
silent (``[sandbox]``):

* The backend is Django REST Framework [inferred], so errors follow DRF: 400 validation errors
  are ``{"field": ["message"]}`` (nested per invoice item), everything else ``{"detail": "…"}``.
  A missing ``Authorization`` is 401, a wrong key 403. Create answers **201**.
* Only ``usdt`` on ``tron`` (TRC20) is settled; other currencies are refused as invalid choices.
* A checkout expires 24 hours after creation (sandbox clock); the change is applied, and its
  callback recorded, the first time the checkout is looked at after that moment.
* Amounts are exact (``20.5`` → ``"20.50"``). The docs' echo quirk (``20.5`` shown as
  ``"20.00"``) is an opt-in fault: ``POST /_sandbox/payfect/faults {"truncate_amounts": true}``
  makes new checkouts drop the fraction of each unit amount.
* Callbacks (body per callback.md, snake_case) are recorded for ``checkout.completed``
  (``status: "succeeded"``) and ``checkout.expired`` (``status: "expired"``, no payment
  method), signed ``X-Payfect-Signature = Fernet(secret).encrypt(body)`` at sandbox time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import credentials
from .dialects import Dialect
from .state import Sandbox
from .webhooks import record_webhook, webhook_secret

SANDBOX_PAYFECT_API_KEY = credentials.PAYFECT_API_KEY
MERCHANT = {"id": "5a9dbb8e-2f0c-4d6e-9a51-7b3c1e0d4f21", "name": "Sandbox Store"}
CHECKOUT_LIFETIME = timedelta(hours=24)
CURRENCIES = {"usdt": "Tether"}
NETWORKS = {"tron": "Tron (TRC20)"}
PAYMENT_METHOD_TYPES = ("crypto", "card")
MIN_UNIT_AMOUNT = Decimal("0.01")
MAX_UNIT_AMOUNT = Decimal("9999999999.99")
MAX_QUANTITY = 10_000
MAX_ITEMS = 100
MAX_URL_LENGTH = 2048
CENT = Decimal("0.01")
KIND = "payfect_checkout"
FAULTS_META = "payfect_faults"

REQUIRED = "This field is required."


class PayfectError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def detail(status: int, message: str) -> PayfectError:
    return PayfectError(status, {"detail": message})


def not_found() -> PayfectError:
    return detail(404, "Not found.")


def payfect_error(status: int, message: str) -> Response:
    """DRF's ``{"detail": …}`` for unknown routes, wrong methods and crashes."""
    messages = {
        404: "Not found.",
        405: "Method not allowed.",
        413: "Request body too large.",
        500: "A server error occurred.",
    }
    return JSONResponse({"detail": messages.get(status, message)}, status_code=status)


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def epoch_seconds(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


def epoch_ms(moment: datetime) -> str:
    return str(round(moment.timestamp() * 1000))


def from_epoch_ms(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def faults(sandbox: Sandbox) -> dict[str, Any]:
    stored = sandbox.store.get_meta(FAULTS_META)
    return {"truncate_amounts": False, **(json.loads(stored) if stored else {})}


def plain(value: Any) -> Any:
    """JSON from a request with its exact decimals turned back into plain numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


# -- validation (DRF messages) -------------------------------------------------------------


def _unit_amount(value: Any) -> Decimal | str:
    if value is None:
        return REQUIRED
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return "A valid number is required."
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return "A valid number is required."
    if not amount.is_finite():
        return "A valid number is required."
    if amount != amount.quantize(CENT):
        return "Ensure that there are no more than 2 decimal places."
    if amount < MIN_UNIT_AMOUNT:
        return f"Ensure this value is greater than or equal to {MIN_UNIT_AMOUNT}."
    if amount > MAX_UNIT_AMOUNT:
        return f"Ensure this value is less than or equal to {MAX_UNIT_AMOUNT}."
    return amount


def _invoice_item(item: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(parsed item, errors) for one ``invoice_items`` entry."""
    if not isinstance(item, dict):
        return {}, {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    errors: dict[str, Any] = {}
    parsed: dict[str, Any] = {}
    quantity = item.get("quantity")
    if quantity is None:
        errors["quantity"] = [REQUIRED]
    elif isinstance(quantity, bool) or not isinstance(quantity, int):
        errors["quantity"] = ["A valid integer is required."]
    elif quantity < 1:
        errors["quantity"] = ["Ensure this value is greater than or equal to 1."]
    elif quantity > MAX_QUANTITY:
        errors["quantity"] = [f"Ensure this value is less than or equal to {MAX_QUANTITY}."]
    else:
        parsed["quantity"] = quantity
    price, price_data = item.get("price"), item.get("price_data")
    if price is not None:
        # No price objects exist in the sandbox (the prices resource is SDK-only).
        errors["price"] = [f'Invalid pk "{price}" - object does not exist.']
    elif price_data is None:
        errors["price_data"] = [REQUIRED]
    elif not isinstance(price_data, dict):
        errors["price_data"] = {"non_field_errors": ["Invalid data. Expected a dictionary."]}
    else:
        data_errors: dict[str, Any] = {}
        amount = _unit_amount(price_data.get("unit_amount"))
        if isinstance(amount, str):
            data_errors["unit_amount"] = [amount]
        else:
            parsed["unit_amount"] = amount
        product = price_data.get("product_data")
        if not isinstance(product, dict) or not isinstance(product.get("name"), str):
            data_errors["product_data"] = {"name": [REQUIRED]}
        elif not product["name"].strip():
            data_errors["product_data"] = {"name": ["This field may not be blank."]}
        else:
            parsed["name"] = product["name"]
        if data_errors:
            errors["price_data"] = data_errors
    return parsed, errors


def _url(body: dict[str, Any], name: str, errors: dict[str, Any]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
        return None
    parts = urlsplit(value)
    if len(value) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.netloc:
        errors[name] = ["Enter a valid URL."]
        return None
    return value


def validate_create(body: dict[str, Any]) -> dict[str, Any]:
    """The checkout fields of a create request; raises PayfectError(400) in DRF's shape."""
    errors: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    currency = body.get("currency")
    if currency is None:
        errors["currency"] = [REQUIRED]
    elif not isinstance(currency, str) or currency.lower() not in CURRENCIES:
        errors["currency"] = [f'"{currency}" is not a valid choice.']
    else:
        fields["currency"] = currency.lower()
    items = body.get("invoice_items")
    if items is None:
        errors["invoice_items"] = [REQUIRED]
    elif not isinstance(items, list):
        errors["invoice_items"] = {"non_field_errors": ["Expected a list of items."]}
    elif not items:
        errors["invoice_items"] = {"non_field_errors": ["This list may not be empty."]}
    elif len(items) > MAX_ITEMS:
        errors["invoice_items"] = {
            "non_field_errors": [f"Ensure this field has no more than {MAX_ITEMS} elements."]
        }
    else:
        parsed = [_invoice_item(item) for item in items]
        if any(item_errors for _, item_errors in parsed):
            errors["invoice_items"] = [item_errors for _, item_errors in parsed]
        fields["invoice_items"] = [item for item, _ in parsed]
    reference = body.get("client_reference_id")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
        errors["client_reference_id"] = ["Not a valid string."]
    fields["client_reference_id"] = reference
    for name in ("success_url", "cancel_url", "callback_url"):
        fields[name] = _url(body, name, errors)
    fields["network"] = "tron"
    method_data = body.get("payment_method_data")
    if method_data is not None:
        detail_data = (
            method_data.get("paymentMethodDetail") if isinstance(method_data, dict) else None
        )
        if (
            not isinstance(method_data, dict)
            or method_data.get("type") != "cryptopaymentmethoddetail"
            or not isinstance(detail_data, dict)
        ):
            errors["payment_method_data"] = ["Invalid payment method data."]
        elif detail_data.get("network") not in NETWORKS:
            errors["payment_method_data"] = {
                "paymentMethodDetail": {
                    "network": [f'"{detail_data.get("network")}" is not a valid choice.']
                }
            }
    types = body.get("payment_method_types", ["crypto"])
    if (
        not isinstance(types, list)
        or not types
        or any(t not in PAYMENT_METHOD_TYPES for t in types)
    ):
        errors["payment_method_types"] = ['Each entry must be one of "crypto", "card".']
    fields["payment_method_types"] = types
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = ["Expected a dictionary of items."]
    fields["metadata"] = plain(metadata)
    if errors:
        raise PayfectError(400, errors)
    return fields


# -- operations shared with the customer page ----------------------------------------------


def create_checkout(sandbox: Sandbox, fields: dict[str, Any], base_url: str) -> dict[str, Any]:
    now = sandbox.now()
    truncate = bool(faults(sandbox)["truncate_amounts"])
    checkout_id = str(uuid.uuid4())
    items = []
    total = Decimal("0")
    for item in fields["invoice_items"]:
        unit = item["unit_amount"]
        if truncate:
            unit = Decimal(int(unit))  # the documented echo: 20.5 → "20.00"
        amount = unit * item["quantity"]
        total += amount
        items.append(
            {
                "id": str(uuid.uuid4()),
                "price": str(uuid.uuid4()),
                "quantity": item["quantity"],
                "amount": money(amount),
            }
        )
    currency = fields["currency"]
    checkout = {
        "id": checkout_id,
        "merchant": dict(MERCHANT),
        "nameCollection": False,
        "emailCollection": False,
        "phoneNumberCollection": False,
        "shippingAddressCollection": None,
        "invoiceItems": items,
        "amountTotal": money(total),
        "status": "open",
        "createdAt": epoch_seconds(now),
        "updatedAt": epoch_seconds(now),
        "clientReferenceId": fields["client_reference_id"],
        "currency": currency,
        "successUrl": fields["success_url"],
        "cancelUrl": fields["cancel_url"],
        "expiresAt": epoch_ms(now + CHECKOUT_LIFETIME),
        "paymentIntent": str(uuid.uuid4()),
        "paymentMethodTypes": list(fields["payment_method_types"]),
        "paymentMethodOptions": {
            "crypto": [
                {
                    "currency": {
                        "value": currency,
                        "name": CURRENCIES[currency],
                        "logo": f"/static/images/cryptos/{currency}.png",
                    },
                    "networks": [{"value": net, "name": name} for net, name in NETWORKS.items()],
                }
            ],
            "card": None,
        },
        "url": f"{base_url.rstrip('/')}/payfect/pay/{checkout_id}",
        "metadata": fields["metadata"],
        "isLivemode": False,
    }
    record = {
        "checkout": checkout,
        "callback_url": fields["callback_url"],
        "network": fields["network"],
        "item_names": [item["name"] for item in fields["invoice_items"]],
    }
    with sandbox.store.transaction():
        sandbox.store.put(KIND, checkout_id, record)
    return checkout


def fernet_for(secret: str) -> Fernet:
    """The secret as a Fernet key; one that is not a Fernet key (someone set a plain string
    through the control API) is turned into one as base64url(sha256(secret)) [sandbox]."""
    try:
        return Fernet(secret.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def _record_callback(sandbox: Sandbox, record: dict[str, Any], status: str) -> None:
    checkout = record["checkout"]
    payment_method = (
        {
            "id": record["payment_method_id"],
            "payment_method_detail": {
                "network": record["network"],
                "currency": checkout["currency"],
            },
        }
        if status == "succeeded"
        else None
    )
    payload = {
        "id": checkout["id"],
        "amount": checkout["amountTotal"],
        "status": status,
        "currency": checkout["currency"],
        "merchant": checkout["merchant"]["id"],
        "is_livemode": False,
        "payment_intent": checkout["paymentIntent"],
        "payment_method": payment_method,
        "client_reference_id": checkout["clientReferenceId"],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = (
        fernet_for(webhook_secret(sandbox, "payfect"))
        .encrypt_at_time(body, int(sandbox.now().timestamp()))
        .decode()
    )
    record_webhook(
        sandbox,
        provider="payfect",
        event_id=str(uuid.uuid4()),
        event_type="checkout.completed" if status == "succeeded" else "checkout.expired",
        body=body,
        headers={"Content-Type": "application/json", "X-Payfect-Signature": signature},
        url=record.get("callback_url") or None,
    )


def load(sandbox: Sandbox, checkout_id: str) -> dict[str, Any] | None:
    """The stored record, expiring it (and recording its callback) once its time has passed."""
    record = sandbox.store.get(KIND, checkout_id)
    if record is None:
        return None
    checkout = record["checkout"]
    expires_at = from_epoch_ms(checkout["expiresAt"])
    if checkout["status"] == "open" and sandbox.now() >= expires_at:
        checkout["status"] = "expired"
        checkout["updatedAt"] = epoch_seconds(expires_at)
        with sandbox.store.transaction():
            sandbox.store.put(KIND, checkout_id, record)
            _record_callback(sandbox, record, "expired")
    return record


def complete(sandbox: Sandbox, checkout_id: str) -> dict[str, Any]:
    """The chain reports the transfer: open → complete (complete stays complete)."""
    record = load(sandbox, checkout_id)
    if record is None:
        raise not_found()
    checkout = record["checkout"]
    if checkout["status"] == "expired":
        raise detail(409, "This checkout has expired.")
    if checkout["status"] == "open":
        checkout["status"] = "complete"
        checkout["updatedAt"] = epoch_seconds(sandbox.now())
        record["payment_method_id"] = str(uuid.uuid4())
        with sandbox.store.transaction():
            sandbox.store.put(KIND, checkout_id, record)
            _record_callback(sandbox, record, "succeeded")
    return record


# -- HTTP layer ----------------------------------------------------------------------------


async def read_json(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise detail(415, f'Unsupported media type "{media}" in request.')
    try:
        raw = await request.body()
    except HTTPException as exc:
        raise detail(exc.status_code, "Request body too large.") from exc
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise detail(400, f"JSON parse error - {exc}") from exc
    if not isinstance(body, dict):
        raise PayfectError(
            400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
        )
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


Handler = Callable[[Request], Awaitable[tuple[int, Any]]]


class PayfectApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        def route(path: str, handler: Handler, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self._serve(request, handler)

            return Route(path, endpoint, methods=[method])

        routes = []
        for base in ("/payfect/api/v1/checkouts/", "/payfect/api/checkouts/"):
            routes.append(route(base, self.create, "POST"))
            routes.append(route(base + "{checkout_id}/", self.retrieve, "GET"))
        return routes

    async def _serve(self, request: Request, handler: Handler) -> Response:
        try:
            scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
            if scheme != "Api-Key" or not key.strip():
                raise detail(401, "Authentication credentials were not provided.")
            if key.strip() != SANDBOX_PAYFECT_API_KEY:
                raise detail(403, "You do not have permission to perform this action.")
            status, body = await handler(request)
        except PayfectError as exc:
            status, body = exc.status, exc.body
        return JSONResponse(body, status_code=status)

    async def create(self, request: Request) -> tuple[int, Any]:
        fields = validate_create(await read_json(request))
        return 201, create_checkout(self.sandbox, fields, str(request.base_url))

    async def retrieve(self, request: Request) -> tuple[int, Any]:
        record = load(self.sandbox, request.path_params["checkout_id"])
        if record is None:
            raise not_found()
        return 200, record["checkout"]


def _routes(sandbox: Sandbox) -> list[BaseRoute]:
    from .payfect_pages import PayfectPages

    return [*PayfectApi(sandbox).routes(), *PayfectPages(sandbox).routes()]


DIALECT = Dialect(
    name="payfect",
    api_prefixes=("/payfect/api/",),
    routes=_routes,
    error_response=payfect_error,
)
