"""A small loopback HTTP endpoint providers (or the sandbox) deliver webhooks to.

``POST /webhooks/<provider>`` with the provider's raw body and signature headers. Each event
is verified (PROVIDERS.md §5), reduced to the object it is about, de-duplicated, and handed to
``on_event`` — which only ever triggers a lookup; the lookup decides (DESIGN §4).

Answers: 200 for an accepted or repeated event, 401 for a bad signature, 404 for a provider
without a configured secret, 413 for an oversized body. It binds loopback only: anything that
reaches a till from outside comes through a tunnel or relay the operator set up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pos_app.providers.errors import ConfigurationError
from pos_app.providers.webhooks import (
    DuplicateEventError,
    ReplayGuard,
    VerifiedEvent,
    WebhookEvent,
    WebhookSignatureError,
    parse_event,
    verify_checkout_com,
    verify_justifi,
    verify_payfect,
    verify_recharge,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
PATH_PREFIX = "/webhooks/"

# Signed deliveries older than this are refused where the scheme carries a time (JustiFi's
# timestamp, Payfect's Fernet token): longer than any redelivery, shorter than forever.
MAX_EVENT_AGE = timedelta(days=3)

Verifier = Callable[[bytes, Mapping[str, str], str], VerifiedEvent]


def _justifi(body: bytes, headers: Mapping[str, str], secret: str) -> VerifiedEvent:
    return verify_justifi(body, headers, secret, now=datetime.now(UTC), tolerance=MAX_EVENT_AGE)


def _payfect(body: bytes, headers: Mapping[str, str], key: str) -> VerifiedEvent:
    return verify_payfect(body, headers, key, max_age_s=int(MAX_EVENT_AGE.total_seconds()))


VERIFIERS: Mapping[str, Verifier] = {
    "justifi": _justifi,
    "checkout_com": verify_checkout_com,
    "recharge": verify_recharge,
    "payfect": _payfect,
}


class WebhookReceiver:
    """``secrets`` maps a provider key to its webhook signing secret."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        on_event: Callable[[WebhookEvent], None],
        *,
        port: int = 0,
    ) -> None:
        unknown = set(secrets) - set(VERIFIERS)
        if unknown:
            raise ConfigurationError(f"No webhook scheme for {', '.join(sorted(unknown))}")
        self._secrets = dict(secrets)
        self._on_event = on_event
        self._guard = ReplayGuard()
        self._lock = threading.Lock()
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
        try:
            verified = VERIFIERS[provider](body, headers, secret)
            event = parse_event(verified)
            with self._lock:
                self._guard.admit(event)
        except WebhookSignatureError as error:
            log.warning("Refused a %s webhook: %s", provider, error)
            return HTTPStatus.UNAUTHORIZED
        except DuplicateEventError:
            log.info("Repeated %s webhook acknowledged", provider)
            return HTTPStatus.OK
        log.info("%s webhook %s about %s", provider, event.event_type, event.object_ref)
        self._on_event(event)
        return HTTPStatus.OK

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                provider = self.path.removeprefix(PATH_PREFIX)
                if not self.path.startswith(PATH_PREFIX) or "/" in provider:
                    self._answer(HTTPStatus.NOT_FOUND)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                    return
                body = self.rfile.read(length)
                headers = {name: value for name, value in self.headers.items()}
                self._answer(receiver.receive(provider, body, headers))

            def _answer(self, status: HTTPStatus) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                log.debug("webhook receiver: " + format, *args)

        return Handler
