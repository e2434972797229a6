"""What JustiFi's web components talk to (PROVIDERS.md §1.2, §1.10).

* ``POST /v1/web_component_tokens`` issues 60-minute tokens scoped to ``role:resource:id``
  resources; the REST handlers enforce those scopes (``http.authenticate``).
* ``POST /v1/analytics`` (no auth) and CORS preflights for every ``/justifi/v1/...`` path.
* The secure input iframes ``/justifi/iframe/v2/{field}``, speaking the component's
  postMessage protocol (validate, tokenize, focused/blurred), with iframe-resizer's child
  script so the component shows them.
* A host page ``/justifi/component-host/{checkout_id}?token=…`` for the real
  ``<justifi-checkout>`` and the files it needs, served from the verified npm files whose
  place the app (or ``pos-app sandbox --assets``) sets in-process
  (``SandboxServer.serve_component_assets``; no request can name a file).
* ``POST /_sandbox/justifi/pay``: what a shopper does on the hosted page, headless.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..state import iso
from ..web import NO_STORE, control_error, json_object, template
from . import checkouts
from .api import JustifiApi
from .errors import ApiError, envelope, missing, not_found
from .http import cors_preflight, cors_routes, json_body
from .payment_methods import tokenize_card

if TYPE_CHECKING:
    from starlette.requests import Request

# Web component tokens live an hour (PROVIDERS.md §1.2).
WEB_COMPONENT_TOKEN_LIFETIME = timedelta(minutes=60)
IFRAME_FIELDS: dict[str, dict[str, str]] = {
    "cardNumber": {
        "label": "Card number",
        "placeholder": "1234 1234 1234 1234",
        "autocomplete": "cc-number",
        "maxlength": "23",
    },
    "expirationMonth": {
        "label": "Expiration month",
        "placeholder": "MM",
        "autocomplete": "cc-exp-month",
        "maxlength": "2",
    },
    "expirationYear": {
        "label": "Expiration year",
        "placeholder": "YY",
        "autocomplete": "cc-exp-year",
        "maxlength": "4",
    },
    "CVV": {"label": "CVV", "placeholder": "CVC", "autocomplete": "cc-csc", "maxlength": "4"},
    "accountNumber": {
        "label": "Account number",
        "placeholder": "Account number",
        "autocomplete": "off",
        "maxlength": "17",
    },
    "routingNumber": {
        "label": "Routing number",
        "placeholder": "Routing number",
        "autocomplete": "off",
        "maxlength": "9",
    },
}
RESOURCE_PATTERN = re.compile(r"^(read|write):[a-z_]+:[A-Za-z0-9_\-]+$")
RESIZER_PATH = "/justifi/iframe/assets/iframeResizer.contentWindow.min.js"
_SAFE_STYLE = re.compile(r"^[A-Za-z0-9 ,.'\"\-]{1,80}$")


def _existing_file(path: str | None) -> str | None:
    """The resolved path if it is a file (sync: called from handlers for local paths)."""
    return str(Path(path).resolve()) if path and Path(path).is_file() else None


_IFRAME = template("iframe_input.html")
_HOST = template("justifi_component_host.html")


def _style_params(raw_query: str) -> dict[str, str]:
    """The base64 style params after the component's second ``?`` (only safe values kept)."""
    styles: dict[str, str] = {}
    for part in re.split(r"[?&]", raw_query):
        name, _, encoded = part.partition("=")
        if name not in ("fontFamily", "fontSize"):
            continue
        try:
            value = base64.b64decode(encoded.replace("%3D", "=") + "==").decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if _SAFE_STYLE.match(value):
            styles[name] = value
    return styles


def _asset_file(root: Path, relative: str) -> Path | None:
    """``root/relative`` if it is a file inside ``root`` (no ``..`` escapes)."""
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


class JustifiComponents(JustifiApi):
    def routes(self) -> list[Route]:
        api = cors_routes(
            [
                Route(
                    "/justifi/v1/web_component_tokens",
                    self.create_web_component_token,
                    methods=["POST"],
                ),
                Route("/justifi/v1/analytics", self.analytics, methods=["POST"]),
            ]
        )
        return [
            *api,
            Route("/justifi/iframe/v2/{field}", self.iframe_page, methods=["GET"]),
            Route(RESIZER_PATH, self.iframe_resizer, methods=["GET"]),
            Route("/justifi/component-host/{checkout_id}", self.component_host, methods=["GET"]),
            Route("/justifi/component-assets/{path:path}", self.component_asset, methods=["GET"]),
            Route("/_sandbox/justifi/pay", self.control_pay, methods=["POST"]),
            # Last: answers the browser's preflight for any JustiFi API path.
            Route(
                "/justifi/v1/{rest:path}",
                cors_preflight,
                methods=["OPTIONS", "GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
        ]

    # -- web component tokens and analytics ----------------------------------------------

    async def create_web_component_token(self, request: Request) -> Response:
        auth = self._authenticate(request)  # platform API tokens only
        body = await json_body(request)
        requested = body.get("resources")
        if requested is None:
            raise missing("resources")
        if (
            not isinstance(requested, list)
            or not requested
            or not all(isinstance(r, str) and RESOURCE_PATTERN.match(r) for r in requested)
        ):
            raise ApiError(422, "resources_invalid", "Format is invalid for parameter: resources")
        token = "wct_" + secrets.token_urlsafe(48)
        expires_at = self.sandbox.now() + WEB_COMPONENT_TOKEN_LIFETIME
        with self.sandbox.store.transaction():
            self.sandbox.store.put(
                "web_component_token",
                token,
                {
                    "client_id": auth.client_id,
                    "resources": list(requested),
                    "expires_at": iso(expires_at),
                },
            )
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": int(WEB_COMPONENT_TOKEN_LIFETIME.total_seconds()),
                "token_type": "Bearer",
            }
        )

    async def analytics(self, request: Request) -> Response:
        await request.body()
        return Response(status_code=204)

    # -- the secure input iframes --------------------------------------------------------

    async def iframe_page(self, request: Request) -> Response:
        field = request.path_params["field"]
        spec = IFRAME_FIELDS.get(field)
        if spec is None:
            return HTMLResponse("Not Found", status_code=404)
        styles = _style_params(request.url.query)
        page = _IFRAME.substitute(
            field=html.escape(field),
            field_json=json.dumps(field),
            label=html.escape(spec["label"]),
            label_json=json.dumps(spec["label"]),
            placeholder=html.escape(spec["placeholder"]),
            autocomplete=spec["autocomplete"],
            maxlength=spec["maxlength"],
            font_family=styles.get("fontFamily", "sans-serif"),
            font_size=styles.get("fontSize", "16px"),
            api_json=json.dumps(str(request.base_url).rstrip("/") + "/justifi"),
            resizer_src=RESIZER_PATH,
        )
        return HTMLResponse(page, headers=NO_STORE)

    def _assets(self) -> dict[str, str]:
        return self.sandbox.component_assets

    async def iframe_resizer(self, request: Request) -> Response:
        path = _existing_file(self._assets().get("iframe_resizer_file"))
        if path is None:
            return Response(
                "// iframe-resizer is not configured (pos-app assets fetch)\n",
                status_code=404,
                media_type="text/javascript",
            )
        return FileResponse(path, media_type="text/javascript")

    # -- the component host page and its files -------------------------------------------

    async def component_asset(self, request: Request) -> Response:
        directory = self._assets().get("webcomponents_dir")
        if not directory:
            return Response("web components are not configured", status_code=404)
        target = _asset_file(Path(directory), request.path_params["path"])
        if target is None:
            return Response("Not Found", status_code=404)
        media_type = "text/javascript" if target.suffix in (".js", ".mjs") else None
        return FileResponse(target, media_type=media_type)

    async def component_host(self, request: Request) -> Response:
        checkout_id = request.path_params["checkout_id"]
        token = request.query_params.get("token", "")
        base = str(request.base_url).rstrip("/")
        page = _HOST.substitute(
            script_src="/justifi/component-assets/webcomponents.esm.js",
            api_origin=html.escape(base + "/justifi"),
            iframe_origin=html.escape(base + "/justifi/iframe"),
            auth_token=html.escape(token),
            checkout_id=html.escape(checkout_id),
        )
        return HTMLResponse(page, headers=NO_STORE)

    # -- control helper ------------------------------------------------------------------

    async def control_pay(self, request: Request) -> Response:
        """``{"checkout_id", "card"}``: tokenize the card and complete, like the hosted page."""
        body = await json_object(request, refuse_deep=True)
        if body is None:
            return control_error("expected a JSON object")
        checkout_id, number = body.get("checkout_id"), body.get("card")
        if not isinstance(checkout_id, str) or not isinstance(number, str):
            return control_error("'checkout_id' and 'card' must be strings")
        store = self.sandbox.store
        checkout = checkouts.get_checkout(self.sandbox, checkout_id)
        if checkout is None:
            raise not_found()
        year = self.sandbox.now().year + 3
        card: dict[str, Any] = {
            "number": number,
            "name": body.get("name") or "Sandbox Shopper",
            "month": str(body.get("month") or 12),
            "year": str(body.get("year") or year),
            "verification": body.get("cvc"),
            "address_postal_code": body.get("postal_code") or "12345",
        }
        with store.transaction():
            payment_method = tokenize_card(
                self.sandbox, account_id=checkout["account_id"], card=card
            )
            completion = checkouts.complete_checkout(
                self.sandbox, checkout_id=checkout_id, payment_token=payment_method["id"]
            )
        return JSONResponse(envelope("checkout_completion", completion), status_code=201)
