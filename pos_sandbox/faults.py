"""Fault injection: a pure ASGI middleware that makes chosen requests fail the way networks do.

A fault matches requests by method and path and fires a number of times (``times``; ``None``
means until the faults are cleared). Kinds:

``latency``
    wait ``latency_ms``, then handle the request normally.
``status``
    answer ``status`` (a 5xx or 429) in the owning dialect's error format without applying the
    request; a 429 carries ``Retry-After``.
``reset_before``
    read the request, then reset the TCP connection without applying it (nothing is sent
    back).
``reset_after``
    apply the request fully (the handler runs and commits), then reset the connection instead
    of sending the response: the client cannot know whether it was applied.
``drop_response``
    apply the request, then never answer; the connection stays open until the client gives up
    (or the server shuts down). Other requests are served meanwhile.
``tamper``
    apply the request, then answer with one field of its JSON body replaced: ``field`` is a
    dotted path (``data.payment_amount``, ``amount``, ``checkout.total_price``; a number
    indexes a list) and ``value`` the JSON value put there. Trains the till against a
    provider (or anything in between) whose answer does not match the sale.

Paths: ``path`` is matched against the request path with :func:`fnmatch.fnmatchcase`, so a
plain path matches exactly and ``*`` matches any run of characters including ``/``
(``/justifi/v1/checkouts/*/complete``, ``/justifi/*``). ``method`` is an HTTP method or
``"*"`` (the default) for any. The control API (``/_sandbox/...``) is never faulted. When
several faults match, the oldest one that still has firings left fires.

Resets: the ASGI server supplies ``scope["extensions"]["pos_sandbox.reset"]``, a callable
that aborts the connection with SO_LINGER 0 so the peer gets a TCP RST (see
``server._Protocol``); httpx then raises ``httpx.ReadError`` ("[Errno 104] Connection reset
by peer") for both reset kinds. Without it (another ASGI server) the middleware raises
:class:`ConnectionResetFault` before the response starts, which uvicorn answers with a bare
500 and logs; the sandbox's own server always supplies the extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import PlainTextResponse, Response

from .dialects import dialect_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

KINDS = ("latency", "status", "reset_before", "reset_after", "drop_response", "tamper")
RESET_EXTENSION = "pos_sandbox.reset"
CONTROL_PREFIX = "/_sandbox/"
MAX_LATENCY_MS = 600_000


class FaultError(ValueError):
    """A fault definition the control API refuses (the message says why)."""


class ConnectionResetFault(Exception):
    """Raised when the ASGI server offers no way to reset a connection."""


@dataclass
class Fault:
    id: int
    method: str
    path: str
    kind: str
    times: int | None
    status: int | None = None
    latency_ms: int | None = None
    retry_after: int | None = None
    field: str | None = None
    value: Any = None
    fired: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(self.times - self.fired, 0)

    def matches(self, method: str, path: str) -> bool:
        if self.remaining == 0:
            return False
        if self.method != "*" and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "times": self.times,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "field": self.field,
            "value": self.value,
            "fired": self.fired,
            "remaining": self.remaining,
        }


def parse_fault(body: dict[str, Any], fault_id: int) -> Fault:
    """A fault from the control API's JSON; raises FaultError with a readable message."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise FaultError(f"'kind' must be one of {', '.join(KINDS)}")
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FaultError("'path' must be a path starting with '/' (may contain '*')")
    if path.startswith(CONTROL_PREFIX):
        raise FaultError("the control API (/_sandbox/...) cannot be faulted")
    method = body.get("method", "*")
    if not isinstance(method, str) or not method:
        raise FaultError("'method' must be an HTTP method or '*'")
    times = body.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultError("'times' must be an integer >= 1, or null for until cleared")
    fault = Fault(id=fault_id, method=method.upper(), path=path, kind=kind, times=times)
    if kind == "status":
        status = body.get("status")
        if (
            isinstance(status, bool)
            or not isinstance(status, int)
            or not (status == 429 or 500 <= status <= 599)
        ):
            raise FaultError("'status' must be 429 or a 5xx status")
        fault.status = status
        if status == 429:
            retry_after = body.get("retry_after", 1)
            if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
                raise FaultError("'retry_after' must be an integer number of seconds >= 0")
            fault.retry_after = retry_after
    if kind == "latency":
        latency = body.get("latency_ms")
        if (
            isinstance(latency, bool)
            or not isinstance(latency, int)
            or not 0 <= latency <= MAX_LATENCY_MS
        ):
            raise FaultError(f"'latency_ms' must be an integer from 0 to {MAX_LATENCY_MS}")
        fault.latency_ms = latency
    if kind == "tamper":
        target = body.get("field")
        if not isinstance(target, str) or not all(target.split(".")):
            raise FaultError("'field' must be a dotted path such as data.payment_amount")
        if "value" not in body:
            raise FaultError("'value' must be given (any JSON value)")
        fault.field, fault.value = target, body["value"]
    return fault


@dataclass
class FaultTable:
    """The faults in force, in memory for as long as the server runs."""

    faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Set when the server shuts down: parked requests (latency, dropped responses) end.
    _closing: asyncio.Event | None = None

    def add(self, body: dict[str, Any]) -> Fault:
        fault = parse_fault(body, next(self._ids))
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that fires for this request, counted as fired; None if none matches."""
        if path.startswith(CONTROL_PREFIX):
            return None
        for fault in self.faults:
            if fault.matches(method, path):
                fault.fired += 1
                return fault
        return None

    @property
    def closing(self) -> asyncio.Event:
        if self._closing is None:
            self._closing = asyncio.Event()
        return self._closing

    def shut_down(self) -> None:
        """Release every parked request; call on the server's loop."""
        self.closing.set()


def _error_response(status: int, path: str, retry_after: int | None) -> Response:
    detail = "Too Many Requests" if status == 429 else "Service Unavailable (injected fault)"
    dialect = dialect_for(path)
    response = (
        dialect.error_response(status, detail)
        if dialect is not None
        else PlainTextResponse(detail, status_code=status)
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class FaultMiddleware:
    """Applies the :class:`FaultTable`'s faults to HTTP requests."""

    def __init__(self, app: ASGIApp, table: FaultTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.table.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "latency":
            assert fault.latency_ms is not None
            if await self._parked(fault.latency_ms / 1000):
                await self._reset(scope, receive)  # shutting down: give up on the request
                return
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            assert fault.status is not None
            await _error_response(fault.status, scope["path"], fault.retry_after)(
                scope, receive, send
            )
        elif fault.kind == "reset_before":
            # Read the request first, as a server that crashed while handling it would have:
            # a reset while the client is still sending reaches it as a failed write, which
            # httpx reports as "Server disconnected without sending a response" instead.
            await _read_body(receive)
            await self._reset(scope, receive)
        elif fault.kind == "reset_after":
            await self.app(scope, receive, _swallow)
            await self._reset(scope, receive)
        elif fault.kind == "tamper":
            await _tampered(self.app, fault, scope, receive, send)
        else:  # drop_response
            await self.app(scope, receive, _swallow)
            await self._until_disconnected(scope, receive)

    async def _parked(self, seconds: float | None) -> bool:
        """Waits ``seconds`` (None: forever); True if the server began shutting down first."""
        closing = self.table.closing
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await closing.wait()
        return closing.is_set()

    async def _reset(self, scope: Scope, receive: Receive) -> None:
        reset: Callable[[], None] | None = scope.get("extensions", {}).get(RESET_EXTENSION)
        if reset is None:
            raise ConnectionResetFault("the ASGI server cannot reset connections")
        reset()
        await _drain_to_disconnect(receive)

    async def _until_disconnected(self, scope: Scope, receive: Receive) -> None:
        """Hold the request open, answering nothing, until the client leaves or we shut down."""
        left = asyncio.ensure_future(_drain_to_disconnect(receive))
        closing = asyncio.ensure_future(self.table.closing.wait())
        try:
            done, _ = await asyncio.wait({left, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (left, closing):
                task.cancel()
            await asyncio.gather(left, closing, return_exceptions=True)
        if left not in done:
            # Shutting down: end the connection without an answer rather than stall.
            await self._reset(scope, receive)


async def _tampered(app: ASGIApp, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the request, then send its answer with ``fault.field`` set to ``fault.value``."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    assert start is not None
    assert fault.field is not None
    body = b"".join(chunks)
    with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
        document = json.loads(body)
        _set_field(document, fault.field.split("."), fault.value)
        body = json.dumps(document).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _set_field(document: Any, path: list[str], value: Any) -> None:
    *parents, last = path
    for step in parents:
        document = document[int(step)] if isinstance(document, list) else document[step]
    if isinstance(document, list):
        document[int(last)] = value
    elif isinstance(document, dict):
        document[last] = value
    else:
        raise TypeError(f"cannot set {last!r} in a {type(document).__name__}")


async def _read_body(receive: Receive, limit: int = 1024 * 1024) -> None:
    """Reads the request body (at most about ``limit`` bytes) and discards it."""
    received = 0
    while received <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _drain_to_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _swallow(message: Message) -> None:
    """A send that discards the response (the handler still runs to completion)."""
