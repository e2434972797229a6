"""What keeps the sandbox to the till that started it.

Every request must name the sandbox's own address in ``Host`` (a web page that rebinds its
DNS name to 127.0.0.1 says its own name there, and is refused). The control API
(``/_sandbox/...``), which can mark sales paid and move the clock, also needs the run's
token in ``X-Sandbox-Token`` and takes only JSON bodies: a cross-site form or ``text/plain``
POST can set neither. Nothing here sends CORS headers, so no page may read an answer.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import TYPE_CHECKING

from .control import TOKEN_HEADER

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox/"
_TOKEN_HEADER_KEY = TOKEN_HEADER.lower().encode("ascii")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def new_control_token() -> str:
    return secrets.token_urlsafe(32)


def loopback_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values a client of the sandbox bound to ``host``:``port`` may send."""
    names = {"localhost", "127.0.0.1"} if host in ("127.0.0.1", "localhost") else set()
    if host == "::1":
        names = {"localhost", "[::1]"}
    if not names:
        names = {f"[{host}]" if ":" in host else host}
    return frozenset(f"{name}:{port}" for name in names)


class GuardMiddleware:
    """Refuses a foreign ``Host`` (every route) and an untokened or non-JSON control call.

    ``allowed_hosts`` None (``pos-app sandbox --expose``): any ``Host`` is answered; the token
    still guards the control API.
    """

    def __init__(self, app: ASGIApp, *, token: str, allowed_hosts: frozenset[str] | None) -> None:
        if not token:
            raise ValueError("the sandbox needs a control token")
        self.app = app
        self._token = token.encode("utf-8")
        self._hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if self._hosts is not None and host not in self._hosts:
            await _refuse(
                send, 421, f"This sandbox answers only at {', '.join(sorted(self._hosts))}."
            )
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            token = headers.get(_TOKEN_HEADER_KEY, b"")
            if not hmac.compare_digest(token, self._token):
                await _refuse(
                    send,
                    401,
                    f"The control API needs this run's token in {TOKEN_HEADER} "
                    "(pos-app sandbox prints it).",
                )
                return
            if scope["method"] in _BODY_METHODS and not _is_json(headers):
                await _refuse(send, 415, "The control API takes application/json only.")
                return
        await self.app(scope, receive, send)


def _is_json(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length")
    if length == b"0" and b"content-type" not in headers:
        return True  # no body at all: nothing to misread
    media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return media == b"application/json"


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
