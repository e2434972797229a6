"""A small loopback HTTP endpoint providers (or the sandbox) deliver webhooks to.

``POST /webhooks/<provider>`` with the provider's raw body and signature headers. Each event
is verified (PROVIDERS.md §5), reduced to the object it is about, de-duplicated against the
events the journal remembers, and handed to ``on_event`` — which only ever triggers a lookup;
the lookup decides (DESIGN §4).

Answers: 200 for an accepted or repeated event; 400 for a request that is not a plain POST
with one well-formed ``Content-Length`` (chunked bodies, negative, non-numeric or repeated
lengths, a body shorter than announced); 401 for a bad, old or unreadable signature; 404 for
a provider without a configured secret; 408 when the body does not arrive within
``READ_TIMEOUT_S``; 413 for a body over ``MAX_BODY_BYTES``. It binds loopback only: anything
that reaches a till from outside comes through a tunnel or relay the operator set up.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Final

from pos_app.providers.errors import ConfigurationError
from pos_app.providers.registry import PROVIDERS, parse_event
from pos_app.providers.webhooks import WebhookEvent, WebhookSignatureError

if TYPE_CHECKING:
    from pos_app.journal.webhook_events import SeenWebhookEvents

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 256 * 1024
PATH_PREFIX: Final = "/webhooks/"
# A sender that stops mid-request holds one thread for at most this long.
READ_TIMEOUT_S: Final = 10.0
_LENGTH_RE: Final = re.compile(r"[0-9]{1,9}")

# Signed deliveries further than this from our clock are refused where the scheme carries a
# time (JustiFi's timestamp, Payfect's Fernet token): a captured delivery replays for no longer.
MAX_EVENT_AGE: Final = timedelta(minutes=5)

Clock = Callable[[], datetime]


def content_length(headers: Mapping[str, str] | object) -> int | None:
    """The one announced body length, or None when the request must be refused as malformed.

    ``headers`` is an ``email.message.Message`` (what http.server parses), read with get_all.
    """
    get_all = getattr(headers, "get_all", None)
    if get_all is None:
        return None
    if get_all("Transfer-Encoding"):
        return None  # chunked (or any other coding): the body's size is not known up front
    values = get_all("Content-Length") or []
    if len(values) != 1 or not _LENGTH_RE.fullmatch(values[0].strip()):
        return None
    return int(values[0].strip())


class WebhookReceiver:
    """``secrets`` maps a provider key to its webhook signing secret; ``seen`` remembers the
    events already handed on (in the journal, across restarts); ``clock`` judges signed times."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        on_event: Callable[[WebhookEvent], None],
        *,
        seen: SeenWebhookEvents,
        clock: Clock,
        port: int = 0,
    ) -> None:
        unknown = set(secrets) - set(PROVIDERS)
        if unknown:
            raise ConfigurationError(f"No webhook scheme for {', '.join(sorted(unknown))}")
        self._secrets = dict(secrets)
        self._on_event = on_event
        self._seen = seen
        self._clock = clock
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url_for(self, provider: str) -> str:
        return f"{self.base_url}{PATH_PREFIX}{provider}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        log.info("Webhook receiver listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop serving; the seen-events store is the caller's to close."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def receive(self, provider: str, body: bytes, headers: Mapping[str, str]) -> HTTPStatus:
        """Verify, de-duplicate and hand on one delivery; the HTTP status to answer."""
        secret = self._secrets.get(provider)
        if secret is None:
            return HTTPStatus.NOT_FOUND
        now = self._clock()
        try:
            verified = PROVIDERS[provider].verify_webhook(body, headers, secret, now, MAX_EVENT_AGE)
            event = parse_event(verified)
        except WebhookSignatureError as error:
            log.warning("Refused a %s webhook: %s", provider, error)
            return HTTPStatus.UNAUTHORIZED
        if not self._seen.admit(provider, event.event_id, now=now):
            log.info("Repeated %s webhook acknowledged", provider)
            return HTTPStatus.OK
        log.info("%s webhook %s about %s", provider, event.event_type, event.object_ref)
        self._on_event(event)
        return HTTPStatus.OK

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = READ_TIMEOUT_S  # applied to the socket by StreamRequestHandler

            def do_POST(self) -> None:
                provider = self.path.removeprefix(PATH_PREFIX)
                if not self.path.startswith(PATH_PREFIX) or "/" in provider:
                    self._answer(HTTPStatus.NOT_FOUND)
                    return
                length = content_length(self.headers)
                if length is None:
                    self._answer(HTTPStatus.BAD_REQUEST)
                    return
                if length > MAX_BODY_BYTES:
                    self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                    return
                try:
                    body = self.rfile.read(length)
                except TimeoutError:
                    self._answer(HTTPStatus.REQUEST_TIMEOUT)
                    return
                if len(body) != length:
                    self._answer(HTTPStatus.BAD_REQUEST)
                    return
                headers = {name: value for name, value in self.headers.items()}
                self._answer(receiver.receive(provider, body, headers))

            def _answer(self, status: HTTPStatus) -> None:
                if status != HTTPStatus.OK:
                    self.close_connection = True  # what is left of a bad request is not read
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                log.debug("webhook receiver: " + format, *args)

        return Handler
