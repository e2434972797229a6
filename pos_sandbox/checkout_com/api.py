"""Checkout.com's REST endpoints under ``/checkout-com`` (PROVIDERS.md §2, NAS spec 2023-10-16).

Tokens (``POST /tokens``, public key), payments (``POST/GET /payments``, actions, captures,
refunds, voids), the Hosted Payments Page and Payment Links. Auth is the secret key as
``Bearer sk_sbox_…`` (NAS) or the raw key (ABC). Captures, refunds and voids answer 202 and are
applied later (see ``gateway``). Every answer carries ``Cko-Request-Id``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import credentials
from ..state import Sandbox, iso, new_id, parse_iso
from ..web import control_body, control_error, hold_requests, is_int, wait_parked
from . import views
from .errors import CKO_VERSION, CkoError, invalid
from .gateway import Gateway
from .ids import PREFIX
from .validation import (
    int_like,
    validate_action_body,
    validate_hosted_request,
    validate_payment_request,
)

SANDBOX_SECRET_KEY = credentials.CHECKOUT_COM_SECRET_KEY
SANDBOX_PUBLIC_KEY = credentials.CHECKOUT_COM_PUBLIC_KEY
SANDBOX_PROCESSING_CHANNEL = credentials.CHECKOUT_COM_PROCESSING_CHANNEL
IDEMPOTENCY_RETENTION = timedelta(hours=24)
HPP_LIFETIME = timedelta(hours=3)  # [inferred]: not stated in the spec
LINK_DEFAULT_EXPIRES_IN = 86400
DEFAULT_LIST_LIMIT = 10


Handler = Callable[[Request], Awaitable[Response]]


def api(handler: Handler) -> Handler:
    """Every answer carries Cko-Request-Id; CkoError becomes Checkout.com's error answer."""

    async def run(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            response = await handler(request)
        except CkoError as exc:
            response = exc.response(request_id)
        response.headers["Cko-Request-Id"] = request_id
        response.headers["Cko-Version"] = CKO_VERSION
        return response

    return run


def presented_key(request: Request) -> str:
    """The key in Authorization: ``Bearer <key>`` (NAS) or the bare key (ABC/Previous)."""
    raw = request.headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip()
    return raw


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise CkoError(415)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError includes UnicodeDecodeError
        raise invalid("request_json_invalid") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid("request_json_invalid")
    return body


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class CheckoutComApi:
    """The REST endpoints; all handlers are async so store access stays on one thread."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.gateway = Gateway(sandbox)

    def routes(self) -> list[Route]:
        p = PREFIX
        return [
            Route(f"{p}/tokens", api(self.create_token), methods=["POST"]),
            Route(f"{p}/payments", api(self.create_payment), methods=["POST"]),
            Route(f"{p}/payments", api(self.list_payments), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}", api(self.get_payment), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}/actions", api(self.get_actions), methods=["GET"]),
            Route(f"{p}/payments/{{payment_id}}/captures", api(self.capture), methods=["POST"]),
            Route(f"{p}/payments/{{payment_id}}/refunds", api(self.refund), methods=["POST"]),
            Route(f"{p}/payments/{{payment_id}}/voids", api(self.void), methods=["POST"]),
            Route(f"{p}/hosted-payments", api(self.create_hosted), methods=["POST"]),
            Route(f"{p}/hosted-payments/{{hpp_id}}", api(self.get_hosted), methods=["GET"]),
            Route(f"{p}/payment-links", api(self.create_link), methods=["POST"]),
            Route(f"{p}/payment-links/{{link_id}}", api(self.get_link), methods=["GET"]),
            Route("/_sandbox/checkout-com/settle", self.control_settle, methods=["POST"]),
            Route("/_sandbox/checkout-com/hold-requests", self.control_hold, methods=["POST"]),
            Route("/_sandbox/checkout-com/held-requests/wait", self.control_wait, methods=["POST"]),
        ]

    # -- auth ------------------------------------------------------------------------------

    @staticmethod
    def _secret(request: Request) -> None:
        if presented_key(request) != SANDBOX_SECRET_KEY:
            raise CkoError(401)

    # -- idempotency -----------------------------------------------------------------------

    async def _apply(
        self, request: Request, apply: Callable[[], tuple[int, Any]], *, idempotent: bool = True
    ) -> Response:
        """Run a mutation once per Cko-Idempotency-Key: 2xx answers are replayed for 24 h,
        a duplicate while the first is in flight gets 429, failures are not remembered.

        Only /payments and the payment actions honour the key (Checkout.com's idempotency
        docs list those); hosted payments and payment links ignore it."""
        store = self.sandbox.store
        key = request.headers.get("cko-idempotency-key") if idempotent else None
        if not key:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
            return JSONResponse(payload, status_code=status)
        scope = f"checkout_com:{request.method} {request.url.path}"
        now = self.sandbox.now()
        record_id = f"{scope}|{key}"
        with store.transaction():
            claimed = store.get("cko_idempotency", record_id)
            if (
                claimed is not None
                and parse_iso(claimed["created_at"]) + IDEMPOTENCY_RETENTION <= now
            ):
                store.release_key(scope, key)
            earlier = store.claim_key(scope, key, "-", now)
            if earlier is None:
                store.put("cko_idempotency", record_id, {"created_at": iso(now)})
        if earlier is not None:
            if earlier.state == "in_progress":
                raise CkoError(429, "request_invalid", ["duplicate_request"])
            return JSONResponse(earlier.body, status_code=earlier.status or 200)
        try:
            await self.sandbox.gate.pass_through()
            with store.transaction():
                status, payload = apply()
                store.finish_key(scope, key, status, payload)
        except BaseException:
            with store.transaction():
                store.release_key(scope, key)
            raise
        return JSONResponse(payload, status_code=status)

    # -- tokens ----------------------------------------------------------------------------

    async def create_token(self, request: Request) -> Response:
        if presented_key(request) != SANDBOX_PUBLIC_KEY:
            raise CkoError(401)
        body = await json_body(request)
        kind = body.get("type")
        if not kind:
            raise invalid("token_type_required")
        if kind != "card":
            raise invalid("token_type_invalid")
        with self.sandbox.store.transaction():
            card = self.gateway.validate_card(body)
            token = self.gateway.create_token(card)
        return JSONResponse(token, status_code=201)

    # -- payments --------------------------------------------------------------------------

    async def create_payment(self, request: Request) -> Response:
        self._secret(request)
        body = validate_payment_request(await json_body(request))
        root = base_url(request)
        return await self._apply(request, lambda: self.gateway.create_payment(body, base_url=root))

    def _payment_or_404(self, payment_id: str, *, sessions: bool = True) -> dict[str, Any]:
        if not sessions and not payment_id.startswith("pay_"):
            raise CkoError(404)
        payment = self.gateway.payment(payment_id)
        if payment is None:
            raise CkoError(404)
        return payment

    async def get_payment(self, request: Request) -> Response:
        self._secret(request)
        payment_id = request.path_params["payment_id"]
        with self.sandbox.store.transaction():
            payment = self._payment_or_404(payment_id)
        return JSONResponse(views.details_view(payment, by_session=payment_id.startswith("sid_")))

    async def get_actions(self, request: Request) -> Response:
        self._secret(request)
        with self.sandbox.store.transaction():
            payment = self._payment_or_404(request.path_params["payment_id"], sessions=False)
        return JSONResponse(views.actions_view(payment))

    async def list_payments(self, request: Request) -> Response:
        self._secret(request)
        query = request.query_params
        codes: list[str] = []
        limit = int_like(query.get("limit", str(DEFAULT_LIST_LIMIT)))
        skip = int_like(query.get("skip", "0"))
        if limit is None or not 1 <= limit <= 100:
            codes.append("paging_limit_invalid")
        if skip is None or skip < 0:
            codes.append("paging_skip_invalid")
        reference = query.get("reference")
        if reference is not None and len(reference) > 50:
            codes.append("reference_invalid")
        if codes:
            raise invalid(*codes)
        assert limit is not None
        assert skip is not None
        with self.sandbox.store.transaction():
            matches = []
            for _, stored in self.sandbox.store.newest_first("cko_payment"):
                if reference is not None and stored["reference"] != reference:
                    continue
                payment = self.gateway.payment(stored["id"])
                assert payment is not None
                matches.append(payment)
        page = [views.details_view(p) for p in matches[skip : skip + limit]]
        return JSONResponse(
            {"limit": limit, "skip": skip, "total_count": len(matches), "data": page}
        )

    async def _action(self, request: Request, kind: str) -> Response:
        self._secret(request)
        payment_id = request.path_params["payment_id"]
        body = await json_body(request)
        validate_action_body(body, kind)
        with self.sandbox.store.transaction():
            if self._payment_or_404(payment_id, sessions=False) is None:
                raise CkoError(404)

        def apply() -> tuple[int, dict[str, Any]]:
            payment = self._payment_or_404(payment_id, sessions=False)
            action = self.gateway.request_action(payment, kind, body)
            answer: dict[str, Any] = {"action_id": action["id"]}
            if action["reference"]:
                answer["reference"] = action["reference"]
            answer["_links"] = {"payment": views.href(payment, f"/payments/{payment_id}")}
            return 202, answer

        return await self._apply(request, apply)

    async def capture(self, request: Request) -> Response:
        return await self._action(request, "Capture")

    async def refund(self, request: Request) -> Response:
        return await self._action(request, "Refund")

    async def void(self, request: Request) -> Response:
        return await self._action(request, "Void")

    # -- hosted payments page and payment links --------------------------------------------

    async def create_hosted(self, request: Request) -> Response:
        self._secret(request)
        body = validate_hosted_request(await json_body(request), link=False)
        root = base_url(request)

        def apply() -> tuple[int, dict[str, Any]]:
            hpp_id = new_id("hpp_", 12)
            now = self.sandbox.now()
            hpp = {
                "id": hpp_id,
                "status": "Payment Pending",
                "payment_id": None,
                "request": body,
                "success_url": body["success_url"],
                "cancel_url": body["cancel_url"],
                "failure_url": body["failure_url"],
                "created_on": iso(now),
                "expires_on": iso(now + HPP_LIFETIME),
                "base_url": root,
            }
            self.sandbox.store.put("cko_hpp", hpp_id, hpp)
            answer: dict[str, Any] = {"id": hpp_id}
            if body.get("reference"):
                answer["reference"] = body["reference"]
            answer["_links"] = {
                "self": {"href": f"{root}{PREFIX}/hosted-payments/{hpp_id}"},
                "redirect": {"href": f"{root}{PREFIX}/page/{hpp_id}"},
            }
            return 201, answer

        return await self._apply(request, apply, idempotent=False)

    async def get_hosted(self, request: Request) -> Response:
        self._secret(request)
        hpp = self.sandbox.store.get("cko_hpp", request.path_params["hpp_id"])
        if hpp is None:
            raise CkoError(404)
        return JSONResponse(self.gateway.hosted_view(hpp))

    async def create_link(self, request: Request) -> Response:
        self._secret(request)
        body = validate_hosted_request(await json_body(request), link=True)
        root = base_url(request)

        def apply() -> tuple[int, dict[str, Any]]:
            link_id = new_id("pl_", 12)
            now = self.sandbox.now()
            expires_in = body.get("expires_in") or LINK_DEFAULT_EXPIRES_IN
            link = {
                "id": link_id,
                "status": "Active",
                "payment_id": None,
                "request": body,
                "return_url": body.get("return_url"),
                "processing_channel_id": body.get("processing_channel_id")
                or SANDBOX_PROCESSING_CHANNEL,
                "created_on": iso(now),
                "expires_on": iso(now + timedelta(seconds=expires_in)),
                "base_url": root,
            }
            self.sandbox.store.put("cko_link", link_id, link)
            answer: dict[str, Any] = {"id": link_id, "expires_on": link["expires_on"]}
            if body.get("reference"):
                answer["reference"] = body["reference"]
            answer["_links"] = {
                "self": {"href": f"{root}{PREFIX}/payment-links/{link_id}"},
                "redirect": {"href": f"{root}{PREFIX}/link/{link_id}"},
            }
            return 201, answer

        return await self._apply(request, apply, idempotent=False)

    async def get_link(self, request: Request) -> Response:
        self._secret(request)
        link = self.sandbox.store.get("cko_link", request.path_params["link_id"])
        if link is None:
            raise CkoError(404)
        return JSONResponse(self.gateway.link_view(link))

    # -- control ---------------------------------------------------------------------------

    async def control_settle(self, request: Request) -> Response:
        """Apply every queued capture/refund/void now; ``{"auto_settle": false}`` keeps them
        queued until this is called again (default: applied on the payment's next read)."""
        body = await control_body(request)
        auto = body.get("auto_settle")
        if auto is not None and not isinstance(auto, bool):
            return control_error("'auto_settle' must be true or false")
        with self.sandbox.store.transaction():
            settled = self.gateway.settle_all()
            if auto is not None:
                self.gateway.set_auto_settle(auto)
            auto_now = self.gateway.auto_settle
        return JSONResponse({"settled": settled, "auto_settle": auto_now})

    async def control_hold(self, request: Request) -> Response:
        return await hold_requests(request, self.sandbox)

    async def control_wait(self, request: Request) -> Response:
        body = await control_body(request)
        count, timeout = body.get("count", 1), body.get("timeout", 10)
        if not is_int(count) or not isinstance(timeout, int | float):
            return control_error("bad 'count' or 'timeout'")
        return await wait_parked(self.sandbox, count, float(timeout))
