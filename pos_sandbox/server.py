"""The sandbox server: one Starlette app (all dialects + the control API), run by uvicorn.

``SandboxServer`` runs it on its own thread with its own event loop, for the app and tests;
``run_foreground`` runs it on the main thread for ``pos-app sandbox``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import struct
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import credentials
from .control import TOKEN_FILE, SandboxControl
from .dialects import all_dialects, dialect_for
from .faults import RESET_EXTENSION, FaultError, FaultMiddleware, FaultTable
from .guard import GuardMiddleware, loopback_hosts, new_control_token
from .state import Sandbox, iso
from .web import control_body, control_error, hold_requests, wait_parked
from .webhooks.delivery import RetryPolicy, WebhookDelivery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from datetime import datetime
    from types import FrameType, TracebackType

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JustiFi's published test credentials, by the names tests and benchmarks know them.
SANDBOX_CLIENT_ID = credentials.JUSTIFI_CLIENT_ID
SANDBOX_CLIENT_SECRET = credentials.JUSTIFI_CLIENT_SECRET
SANDBOX_SUB_ACCOUNT = credentials.JUSTIFI_SUB_ACCOUNT
SANDBOX_PLATFORM_ACCOUNT = credentials.JUSTIFI_PLATFORM_ACCOUNT

__all__ = [
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PLATFORM_ACCOUNT",
    "SANDBOX_SUB_ACCOUNT",
    "RetryPolicy",
    "SandboxServer",
    "build_app",
    "is_loopback_host",
    "run_foreground",
]

MAX_BODY_SIZE = 1024 * 1024
_log = logging.getLogger(__name__)
MAX_CLOCK_ADVANCE = 100 * 366 * 24 * 3600.0  # a century: beyond that datetimes overflow


# -- the control API (/_sandbox/...) -------------------------------------------------------


class ControlApi:
    """The simulator's own endpoints: health, clock and test helpers."""

    def __init__(self, sandbox: Sandbox, faults: FaultTable) -> None:
        self.sandbox = sandbox
        self.faults = faults

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/faults", self.add_fault, methods=["POST"]),
            Route("/_sandbox/faults", self.list_faults, methods=["GET"]),
            Route("/_sandbox/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sandbox/faults/{fault_id:int}", self.delete_fault, methods=["DELETE"]),
            Route("/_sandbox/clock", self.clock, methods=["GET"]),
            Route("/_sandbox/clock/advance", self.advance_clock, methods=["POST"]),
            Route("/_sandbox/justifi/expire-tokens", self.expire_tokens, methods=["POST"]),
            Route("/_sandbox/justifi/hold-requests", self.hold_requests, methods=["POST"]),
            Route("/_sandbox/justifi/held-requests/wait", self.wait_held, methods=["POST"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def add_fault(self, request: Request) -> Response:
        """Adds a fault (see ``faults`` for the fields); answers it with its id."""
        try:
            fault = self.faults.add(await control_body(request))
        except FaultError as exc:
            return control_error(str(exc))
        return JSONResponse(fault.describe(), status_code=201)

    async def list_faults(self, request: Request) -> Response:
        return JSONResponse({"faults": [f.describe() for f in self.faults.faults]})

    async def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return JSONResponse({"faults": []})

    async def delete_fault(self, request: Request) -> Response:
        if not self.faults.remove(request.path_params["fault_id"]):
            return JSONResponse({"error": "no such fault"}, status_code=404)
        return JSONResponse({"faults": [f.describe() for f in self.faults.faults]})

    async def clock(self, request: Request) -> Response:
        return JSONResponse({"now": iso(self.sandbox.now())})

    async def advance_clock(self, request: Request) -> Response:
        body = await control_body(request)
        seconds = body.get("seconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_CLOCK_ADVANCE
        ):
            return control_error(f"'seconds' must be a number from 0 to {MAX_CLOCK_ADVANCE:.0f}")
        with self.sandbox.store.transaction():
            now = self.sandbox.advance_clock(float(seconds))
        return JSONResponse({"now": iso(now)})

    async def expire_tokens(self, request: Request) -> Response:
        with self.sandbox.store.transaction():
            self.sandbox.store.delete_kind("access_token")
        return JSONResponse({"status": "ok"})

    async def hold_requests(self, request: Request) -> Response:
        """``{"enabled": true}`` parks JustiFi mutations after their key is claimed."""
        return await hold_requests(request, self.sandbox)

    async def wait_held(self, request: Request) -> Response:
        """Answers once ``count`` requests are parked (408 after ``timeout`` seconds)."""
        body = await control_body(request)
        count, timeout = body.get("count", 1), body.get("timeout", 10)
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 <= timeout <= 3600  # also refuses NaN, which would upset the loop's timers
        ):
            return control_error(
                "'count' must be an integer and 'timeout' a number of seconds up to 3600"
            )
        return await wait_parked(self.sandbox, count, float(timeout))


# -- the app -------------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the provider's error format under its API."""
    assert isinstance(exc, HTTPException)
    dialect = dialect_for(request.url.path)
    if dialect is not None:
        response = dialect.error_response(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    """A crash answers 500 in the provider's format under its API (uvicorn still logs it)."""
    dialect = dialect_for(request.url.path)
    if dialect is not None:
        return dialect.error_response(500, "Internal Server Error")
    return PlainTextResponse("Internal Server Error", status_code=500)


class _BodyLimit(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_body_size`` with 413 in the owning dialect's format.

    Starlette's own ``max_body_size`` answers a plain-text 413 and would pre-empt this one, so
    the app enforces the limit here instead. A declared Content-Length over the limit is
    refused before the body is read; a chunked body is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_size:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_size:
                    raise _BodyLimit
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyLimit:
            if started:
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        dialect = dialect_for(path)
        detail = f"Request body too large (limit {self.max_body_size} bytes)"
        response = (
            dialect.error_response(413, detail)
            if dialect is not None
            else PlainTextResponse(detail, status_code=413)
        )
        # The unread body makes the connection unusable for another request.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_deep(request: Request, exc: Exception) -> Response:
    """A body nested too deeply for the JSON parser is the client's fault, not a crash."""
    _log.warning("refused %s %s: %r", request.method, request.url.path, exc)
    detail = "The request body is nested too deeply"
    dialect = dialect_for(request.url.path)
    if dialect is not None:
        return dialect.error_response(400, detail)
    if request.url.path.startswith("/_sandbox/"):
        return control_error(detail)
    return PlainTextResponse(detail, status_code=400)


def build_app(
    state_dir: Path,
    *,
    control_token: str,
    allowed_hosts: frozenset[str] | None,
    clock: Callable[[], datetime] | None = None,
    webhook_retry: RetryPolicy | None = None,
) -> Starlette:
    """The sandbox app; its state lives in ``state_dir/sandbox.sqlite3``.

    ``control_token`` guards the control API; ``allowed_hosts`` are the ``Host`` values it
    answers (None: any, for ``--expose``). ``clock`` returns the current UTC time (default:
    the system clock); the control API can move the sandbox's clock forward from there.
    ``webhook_retry`` sets the webhook delivery backoff. ``app.state.faults`` holds the
    injected faults (in memory only).
    """
    sandbox = Sandbox(state_dir, clock)
    faults = FaultTable()
    delivery = WebhookDelivery(sandbox, webhook_retry)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Opened here so the SQLite connection belongs to the thread serving requests.
        sandbox.open()
        try:
            await delivery.start()
            try:
                yield
            finally:
                faults.shut_down()
                await delivery.stop()
        finally:
            sandbox.close()

    dialects = all_dialects()
    routes = [
        *ControlApi(sandbox, faults).routes(),
        *delivery.routes(),
        *(route for dialect in dialects for route in dialect.routes(sandbox)),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            **{kind: handler for d in dialects for kind, handler in d.exception_handlers.items()},
            HTTPException: _http_error,
            RecursionError: _too_deep,
            Exception: _server_error,
        },
        # Bodies are capped by BodyLimitMiddleware (413 in the dialect's format), not by
        # Starlette's max_body_size (plain-text 413).
        middleware=[
            # Outermost: a foreign Host or an untokened control call goes no further.
            Middleware(GuardMiddleware, token=control_token, allowed_hosts=allowed_hosts),
            # A fault applies before anything reads the request.
            Middleware(FaultMiddleware, table=faults),
            Middleware(BodyLimitMiddleware, max_body_size=MAX_BODY_SIZE),
        ],
    )
    app.state.sandbox = sandbox
    app.state.faults = faults
    app.state.webhook_delivery = delivery
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets that do, and
    # without it every keep-alive response stalls ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol, offering the app a way to reset the connection.

    ``scope["extensions"]["pos_sandbox.reset"]()`` aborts the TCP connection with SO_LINGER 0,
    so the client gets an RST and no response (the fault injector's connection resets).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = _WithReset(self.app, self._reset)

    def _reset(self) -> None:
        transport = self.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class _WithReset:
    def __init__(self, app: ASGIApp, reset: Callable[[], None]) -> None:
        self.app = app
        self.reset = reset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})[RESET_EXTENSION] = self.reset
        await self.app(scope, receive, send)


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="on",
        http=_Protocol,
        ws="none",
        # Leave the host application's logging configuration alone.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, reporting when it serves and stopping as soon as it is asked to."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started
        app = config.app
        self._faults: FaultTable | None = app.state.faults if isinstance(app, Starlette) else None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; waiting on an event makes stopping prompt.
        # on_tick(0) also refreshes the Date header, so a pass at least once a second.
        while not await self.on_tick(0):
            assert self._wake is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Requests parked by faults (latency, dropped responses) end now, not after uvicorn's
        # graceful-shutdown timeout.
        if self._faults is not None:
            self._faults.shut_down()
        await super().shutdown(sockets=sockets)

    def request_exit(self) -> None:
        """Ask the server to shut down; safe from any thread."""
        self.should_exit = True
        self._wake_up()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._wake_up()

    def _wake_up(self) -> None:
        loop, wake = self.loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)


class SandboxServer:
    """Runs the sandbox on its own thread with its own asyncio loop.

    The GUI runs a different loop (qasync); the two never share objects, only HTTP.
    """

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_retry: RetryPolicy | None = None,
        control_token: str | None = None,
        assets_root: Path | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the in-process sandbox listens on loopback only, not {host}")
        self.state_dir = Path(state_dir)
        self._webhook_retry = webhook_retry
        self.control_token = control_token or new_control_token()
        self._assets_root = assets_root
        self._assets: dict[str, str] = {}
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sandbox: Sandbox | None = None
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the sandbox server is not started")
        return _url(self.host, self._port)

    @property
    def control(self) -> SandboxControl:
        """A client of this run's control API (it carries the token)."""
        return SandboxControl(self.base_url, self.control_token)

    @property
    def control_headers(self) -> dict[str, str]:
        return SandboxControl("", self.control_token).headers

    def serve_component_assets(self, webcomponents_dir: Path, iframe_resizer_file: Path) -> None:
        """Serve the JustiFi card form's npm files from here; both must lie inside the
        ``assets_root`` this server was given (the app's verified assets folder)."""
        self._assets = component_assets(self._assets_root, webcomponents_dir, iframe_resizer_file)
        if self._sandbox is not None:
            self._sandbox.component_assets = dict(self._assets)

    def start(self, timeout: float = 10.0) -> None:
        """Returns once the server accepts connections; raises if it could not start."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        sock = _bind(self.host, self._requested_port)
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        self._failure = None
        app = build_app(
            self.state_dir,
            control_token=self.control_token,
            allowed_hosts=loopback_hosts(self.host, self._port),
            webhook_retry=self._webhook_retry,
        )
        self._sandbox = app.state.sandbox
        self._sandbox.component_assets = dict(self._assets)
        self._server = _Server(_config(app), on_started=ready.set)
        self._thread = threading.Thread(
            target=self._run, args=(self._server, sock, ready), name="pos-sandbox", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout) or self._failure is not None:
            failure = self._failure
            self.stop()
            raise RuntimeError("the sandbox server did not start") from failure

    def _run(self, server: _Server, sock: socket.socket, ready: threading.Event) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - uvicorn reports a failed startup with SystemExit
            self._failure = exc
        finally:
            sock.close()
            ready.set()  # never leave start() waiting for a thread that has ended

    def stop(self) -> None:
        """Stops serving, waits for the thread, and closes the database."""
        server, thread, sandbox = self._server, self._thread, self._sandbox
        if server is not None:
            if server.loop is not None and sandbox is not None:
                # Let requests parked by the test gate finish instead of stalling shutdown.
                with contextlib.suppress(RuntimeError):  # the loop has already closed
                    server.loop.call_soon_threadsafe(sandbox.gate.release)
            server.request_exit()
        if thread is not None:
            thread.join()
        self._server = self._thread = self._sandbox = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def is_loopback_host(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def component_assets(
    root: Path | None, webcomponents_dir: Path, iframe_resizer_file: Path
) -> dict[str, str]:
    """The card form's files, refused (ValueError) unless they lie inside ``root``."""
    if root is None:
        raise ValueError("this sandbox was started without an assets folder")
    base = Path(root).resolve()
    directory = Path(webcomponents_dir).resolve()
    resizer = Path(iframe_resizer_file).resolve()
    for path in (directory, resizer):
        if not path.is_relative_to(base):
            raise ValueError(f"{path} is not inside the assets folder {base}")
    if not (directory / "webcomponents.esm.js").is_file():
        raise ValueError(f"{directory} does not hold webcomponents.esm.js")
    if not resizer.is_file():
        raise ValueError(f"{resizer} is not a file")
    return {"webcomponents_dir": str(directory), "iframe_resizer_file": str(resizer)}


def banner(url: str, token: str, state_dir: Path, *, exposed: bool) -> str:
    """What `pos-app sandbox` prints: everything a developer needs to point a client at it."""
    lines = [
        f"Sandbox listening on {url}",
        "",
        "Base URLs:",
        f"  JustiFi        {url}/justifi",
        f"  Checkout.com   {url}/checkout-com",
        f"  ReCharge       {url}/recharge",
        f"  Payfect        {url}/payfect",
        "",
        "Published test credentials:",
        *(f"  {c.provider:<14} {c.name:<19} {c.value}" for c in credentials.PUBLISHED),
        "",
        f"Control API: {url}/_sandbox/…  (header X-Sandbox-Token: {token})",
        f"State: {state_dir} (token also in {state_dir / TOKEN_FILE})",
    ]
    if exposed:
        lines += [
            "",
            "WARNING: --expose: this sandbox answers on every network it is bound to. It holds",
            "test money only, but anyone who reaches it can read its checkouts.",
        ]
    return "\n".join(lines)


def write_token(state_dir: Path, token: str) -> Path:
    """The control token, readable by its owner only, for scripts started beside it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / TOKEN_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(token + "\n")
    return path


def run_foreground(
    host: str,
    port: int,
    state_dir: Path,
    *,
    control_token: str | None = None,
    expose: bool = False,
    assets: tuple[Path, Path, Path] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM, printing the banner once ready. Returns 0.

    A host other than loopback is refused unless ``expose``. ``assets``: (root, the
    web-components folder, the iframe-resizer file) of the verified card-form files.
    """
    if not is_loopback_host(host) and not expose:
        print(
            f"pos-app sandbox: refusing to listen on {host}: the sandbox is for this machine. "
            "Add --expose to serve other machines (test money only, but readable by anyone "
            "who reaches it).",
            file=sys.stderr,
        )
        return 2
    token = control_token or new_control_token()
    state_dir = Path(state_dir)
    write_token(state_dir, token)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    url = _url(host, bound)
    app = build_app(
        state_dir,
        control_token=token,
        allowed_hosts=None if expose else loopback_hosts(host, bound),
    )
    if assets is not None:
        try:
            app.state.sandbox.component_assets = component_assets(*assets)
        except ValueError as error:
            print(
                f"pos-app sandbox: the card form's files are not served: {error}", file=sys.stderr
            )

    def announce() -> None:
        print(banner(url, token, state_dir, exposed=expose), flush=True)

    server = _Server(_config(app), on_started=announce)
    # uvicorn re-raises the signal that stopped it once it is done; with these handlers in
    # place that re-raise is a no-op, so a clean shutdown exits 0 instead of dying by signal.
    previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if server.started else 1


def _ignore_signal(signum: int, frame: object) -> None:
    return None
