"""JustiFi's HTTP layer: CORS for the web components (the wc-proxy surface), who is calling
(``authenticate``: platform access tokens and web component tokens, the latter only on the
routes their ``role:resource:id`` resources allow, with the component POST limits), request
bodies and their idempotency fingerprints.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Route

from ..state import Sandbox, iso, parse_iso
from .errors import ApiError, not_authenticated

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# -- CORS (the wc-proxy surface) ------------------------------------------------------------

CORS_ALLOW_HEADERS = (
    "authorization, content-type, idempotency-key, justifi-web-component-version, "
    "sub-account, account"
)
CORS_ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def with_cors(app: ASGIApp) -> ASGIApp:
    """Adds the CORS headers (echoing ``Origin``) to every response of ``app``, errors too."""

    async def cors_app(scope: Scope, receive: Receive, send: Send) -> None:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is None:
            await app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in cors_headers(origin.decode("latin-1")).items():
                    headers[name] = value
            await send(message)

        await app(scope, receive, send_with_cors)

    return cors_app


def cors_routes(routes: list[Route]) -> list[Route]:
    for route in routes:
        route.app = with_cors(route.app)
    return routes


async def cors_preflight(request: Request) -> Response:
    """OPTIONS on any ``/justifi/v1/...`` path: what a browser asks before a cross-origin call.

    Mounted last as a catch-all for every method, so for anything but OPTIONS it answers
    what the router would have: 405 when another route owns the path, else 404.
    """
    if request.method != "OPTIONS":
        for route in request.app.router.routes:
            if route.matches(request.scope)[0] is Match.PARTIAL:
                raise HTTPException(405)
        raise HTTPException(404)
    origin = request.headers.get("origin", "*")
    return Response(status_code=204, headers=cors_headers(origin))


# -- authentication ------------------------------------------------------------------------


@dataclass(frozen=True)
class Auth:
    """Who is calling: a platform API token (``resources`` None) or a web component token."""

    client_id: str
    resources: frozenset[str] | None

    def require(self, *any_of: str) -> None:
        """A web component token must hold one of these resources (403 otherwise)."""
        if self.resources is not None and not self.resources.intersection(any_of):
            raise ApiError(403, "not_authorized", "Not authorized")


# -- HTTP layer ----------------------------------------------------------------------------


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object")
    return body


def request_fingerprint(request: Request, body: dict[str, Any]) -> str:
    material = [request.method, request.url.path, request.headers.get("sub-account"), body]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def authenticate(sandbox: Sandbox, request: Request, *allowed: str, defer: bool = False) -> Auth:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise not_authenticated()
    now = sandbox.now()
    record = sandbox.store.get("access_token", token)
    if record is not None:
        if parse_iso(record["expires_at"]) <= now:
            raise not_authenticated()
        return Auth(str(record["client_id"]), None)
    component = sandbox.store.get("web_component_token", token)
    if component is None or parse_iso(component["expires_at"]) <= now:
        raise not_authenticated()
    auth = Auth(str(component["client_id"]), frozenset(component["resources"]))
    if not defer:
        auth.require(*allowed)
    if request.method == "POST" and request.url.path.startswith("/justifi/v1/checkouts"):
        count_component_post(sandbox, token, component, now)
    return auth


# The checkout component API allows 2 POSTs per 10 s, and 10 POST attempts per token
# (PROVIDERS.md §1.2). Attempts count whether or not they succeed.
COMPONENT_POST_WINDOW = timedelta(seconds=10)
COMPONENT_POSTS_PER_WINDOW = 2
COMPONENT_POSTS_PER_TOKEN = 10


def count_component_post(
    sandbox: Sandbox, token: str, component: dict[str, Any], now: datetime
) -> None:
    posts = [parse_iso(stamp) for stamp in component.get("posts", [])]
    if len(posts) >= COMPONENT_POSTS_PER_TOKEN:
        raise ApiError(
            429,
            "rate_limit_exceeded",
            "This web component token has used its 10 checkout requests; create a new token",
        )
    if sum(1 for stamp in posts if now - stamp < COMPONENT_POST_WINDOW) >= (
        COMPONENT_POSTS_PER_WINDOW
    ):
        raise ApiError(429, "rate_limit_exceeded", "Too many requests: at most 2 every 10 seconds")
    with sandbox.store.transaction():
        sandbox.store.put(
            "web_component_token",
            token,
            {**component, "posts": [*component.get("posts", []), iso(now)]},
        )
