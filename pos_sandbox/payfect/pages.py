"""Payfect's customer page and the simulator's Payfect controls.

``GET /payfect/pay/{id}`` shows the amount in USDT on Tron (TRC20), a deposit address and a
QR-looking block; its "Payment received" button (``POST /payfect/pay/{id}/received``) stands
in for the chain and completes the checkout, then sends the customer to ``successUrl`` (or
back to the page, which then says the payment is complete). An expired checkout shows so.

Control API:
``POST /_sandbox/payfect/pay {"id": …}`` — the button, headless; answers the checkout.
``GET|POST /_sandbox/payfect/faults {"truncate_amounts": bool}`` — the documented echo quirk.
Recorded callbacks are listed by ``GET /_sandbox/webhooks?provider=payfect``.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..web import NO_STORE, control_body, control_error, outcome_page, render_page, template
from .checkouts import FAULTS_META, complete, faults, from_epoch_ms, load
from .errors import PayfectError
from .validation import NETWORKS

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..state import Sandbox

PAGE_PATH = "/payfect/pay/{checkout_id}"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_QR_SIZE = 25

_PAY = template("payfect_pay.html")


def deposit_address(checkout_id: str) -> str:
    """A Tron-looking (T + 33 base58) address, stable per checkout. Not a real address."""
    number = int.from_bytes(hashlib.sha256(b"payfect-sandbox:" + checkout_id.encode()).digest())
    chars = []
    for _ in range(33):
        number, digit = divmod(number, 58)
        chars.append(_BASE58[digit])
    return "T" + "".join(chars)


def _qr_block(text: str) -> str:
    """An SVG that looks like a QR code (finder squares + hash bits); it encodes nothing."""
    bits = int.from_bytes(hashlib.sha512(text.encode()).digest() * 2)
    cells = []
    for row in range(_QR_SIZE):
        for col in range(_QR_SIZE):
            finder = next(
                (
                    (r, c)
                    for r, c in ((0, 0), (0, _QR_SIZE - 7), (_QR_SIZE - 7, 0))
                    if r <= row < r + 7 and c <= col < c + 7
                ),
                None,
            )
            if finder is not None:
                dr, dc = row - finder[0], col - finder[1]
                dark = dr in (0, 6) or dc in (0, 6) or (2 <= dr <= 4 and 2 <= dc <= 4)
            else:
                dark = bool(bits >> (row * _QR_SIZE + col) & 1)
            if dark:
                cells.append(f'<rect x="{col}" y="{row}" width="1" height="1"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 {_QR_SIZE + 4} {_QR_SIZE + 4}" '
        f'width="180" height="180" style="background:#fff" shape-rendering="crispEdges">'
        f"{''.join(cells)}</svg>"
    )


def render_pay_page(record: dict[str, Any]) -> str:
    checkout = record["checkout"]
    address = deposit_address(checkout["id"])
    expires = from_epoch_ms(checkout["expiresAt"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    cancel = checkout["cancelUrl"]
    content = _PAY.substitute(
        merchant=html.escape(checkout["merchant"]["name"]),
        amount=html.escape(checkout["amountTotal"]),
        network=html.escape(NETWORKS.get(record["network"], record["network"])),
        qr=_qr_block(address),
        address=html.escape(address),
        expires=html.escape(expires),
        action=html.escape(PAGE_PATH.format(checkout_id=checkout["id"]) + "/received"),
        cancel_link=(
            f'<p class="description"><a id="cancel-link" href="{html.escape(cancel)}">'
            "Cancel</a></p>"
            if cancel
            else ""
        ),
    )
    title = f"Pay {checkout['amountTotal']} USDT — {checkout['merchant']['name']}"
    return render_page(title, content)


def _complete_page(checkout: dict[str, Any]) -> Response:
    return outcome_page(
        "checkout-complete",
        "Payment received",
        f"{checkout['amountTotal']} USDT arrived. You can close this page.",
        tone="ok",
        symbol="✓",
    )


def _expired_page() -> Response:
    return outcome_page(
        "checkout-expired",
        "Checkout expired",
        "This payment request has expired. Do not send funds; ask the merchant for a new one.",
        tone="warn",
        symbol="!",
    )


def _not_found_page() -> Response:
    return outcome_page(
        "checkout-not-found",
        "Checkout not found",
        "There is no payment request at this address. Check the link you were given.",
        tone="bad",
        symbol="?",
        status=404,
    )


class PayfectPages:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route(PAGE_PATH, self.show, methods=["GET"]),
            Route(PAGE_PATH + "/received", self.received, methods=["POST"]),
            Route("/_sandbox/payfect/pay", self.helper_pay, methods=["POST"]),
            Route("/_sandbox/payfect/faults", self.faults, methods=["GET", "POST"]),
        ]

    async def show(self, request: Request) -> Response:
        record = load(self.sandbox, request.path_params["checkout_id"])
        if record is None:
            return _not_found_page()
        status = record["checkout"]["status"]
        if status == "complete":
            return _complete_page(record["checkout"])
        if status == "expired":
            return _expired_page()
        return HTMLResponse(render_pay_page(record), headers=NO_STORE)

    async def received(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        try:
            record = complete(self.sandbox, checkout_id)
        except PayfectError as exc:
            return _not_found_page() if exc.status == 404 else _expired_page()
        target = record["checkout"]["successUrl"] or PAGE_PATH.format(checkout_id=checkout_id)
        # 303, so reloading the next page never reports the payment again.
        return RedirectResponse(target, status_code=303, headers=NO_STORE)

    async def helper_pay(self, request: Request) -> Response:
        checkout_id = (await control_body(request, refuse_deep=True)).get("id")
        if not isinstance(checkout_id, str):
            return control_error("'id' must be a checkout id")
        try:
            record = complete(self.sandbox, checkout_id)
        except PayfectError as exc:
            return JSONResponse({"error": exc.body["detail"]}, status_code=exc.status)
        return JSONResponse(record["checkout"])

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = await control_body(request, refuse_deep=True)
            truncate = body.get("truncate_amounts")
            if not isinstance(truncate, bool):
                return control_error("'truncate_amounts' must be true or false")
            with self.sandbox.store.transaction():
                self.sandbox.store.set_meta(FAULTS_META, json.dumps({"truncate_amounts": truncate}))
        return JSONResponse(faults(self.sandbox))
