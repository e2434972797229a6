"""Provider answers gone wrong: a transport that corrupts every answer once armed.

Corruptions: the JSON cut in half, values of the wrong type, an amount one minor unit off,
a status nobody documented. Every answer after arming is corrupted (lookups too), so the
till cannot learn the truth and must stay in doubt rather than guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable

_DECIMAL = re.compile(r"^\d+\.\d+$")
_AMOUNT_WORDS = ("amount", "price")


def truncated(body: bytes) -> bytes:
    return body[: len(body) // 2]


def _walk(value: Any, change: Callable[[str, Any], Any], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, change, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change, key) for v in value]
    return change(key, value)


def _json(body: bytes, change: Callable[[str, Any], Any]) -> bytes:
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    return json.dumps(_walk(payload, change)).encode()


def wrong_types(body: bytes) -> bytes:
    """Numbers become strings and statuses become numbers."""

    def change(key: str, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if key == "status" and isinstance(value, str):
            return 7
        return value

    return _json(body, change)


def amount_off_by_one(body: bytes) -> bytes:
    """Every amount one minor unit higher: what a provider that rounded would echo."""

    def change(key: str, value: Any) -> Any:
        if not any(word in key.lower() for word in _AMOUNT_WORDS):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value + 1
        if isinstance(value, str) and _DECIMAL.match(value) and Decimal(value) > 0:
            places = len(value.split(".")[1])
            return str(Decimal(value) + Decimal(1).scaleb(-places))
        return value

    return _json(body, change)


def unknown_status(body: bytes) -> bytes:
    def change(key: str, value: Any) -> Any:
        return "Zombified" if key == "status" and isinstance(value, str) else value

    return _json(body, change)


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated_json": truncated,
    "wrong_types": wrong_types,
    "amount_mismatch": amount_off_by_one,
    "unknown_status": unknown_status,
}


@dataclass
class CorruptingTransport(httpx.AsyncBaseTransport):
    """Passes requests through; once ``armed``, corrupts each answer's body."""

    inner: httpx.AsyncBaseTransport
    corrupt: Callable[[bytes], bytes]
    armed: bool = False
    corrupted: int = 0  # answers actually changed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if self.armed and not request.url.path.endswith("/oauth/token"):
            changed = self.corrupt(body)
            self.corrupted += changed != body
            body = changed
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()
