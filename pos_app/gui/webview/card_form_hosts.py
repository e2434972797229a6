"""Where the JustiFi card form's host page comes from.

JustiFi checks that the page rendering ``<justifi-checkout>`` is served from the checkout's
``origin_url``, so the component needs a page with a real http origin:

* the built-in sandbox serves one itself, with the component's npm files from the
  verified assets cache and ``<justifi-config-provider>`` pointing at the sandbox;
* a live profile gets a page from the till's own loopback server, which also serves the
  component's files from the same verified cache — no CDN at run time — each file checked,
  as it is served, against the SHA-512 manifest read from the pinned tarball
  (``assets.component_manifest``): a file edited on disk is refused, not run. The component
  talks to JustiFi's own hosts. The page is served under a random one-time path that maps
  to the checkout and its token in memory, so the token never appears in a URL or a log.
"""

from __future__ import annotations

import html
import logging
import mimetypes
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Protocol

from pos_app.gui.webview.policy import Origin

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = logging.getLogger(__name__)

COMPONENT_VERSION = "6.14.3"
COMPONENTS_PATH = "/components/"  # where the live host serves the component's files
COMPONENT_SCRIPT = COMPONENTS_PATH + "webcomponents.esm.js"
# The component's defaults when no <justifi-config-provider> says otherwise.
LIVE_API_ORIGIN = "https://wc-proxy.justifi.ai"
LIVE_IFRAME_ORIGIN = "https://components.justifi.ai"


class ComponentHost(Protocol):
    """A source of host pages for the card form."""

    # Sent as the checkout's origin_url.
    @property
    def origin(self) -> str: ...

    # True when the page needs the npm files from the local assets cache.
    @property
    def needs_local_assets(self) -> bool: ...

    # Origins the page may load from besides its own (CDN, API, card iframes).
    @property
    def resource_origins(self) -> frozenset[Origin]: ...

    def page_url(self, checkout_id: str, token: str) -> str: ...

    def forget(self, url: str) -> None:
        """The checkout is over: the page is no longer served."""


def _origin_text(url: str) -> str:
    origin = Origin.of(url)
    assert origin is not None, url
    default = 443 if origin.scheme == "https" else 80
    port = "" if origin.port == default else f":{origin.port}"
    return f"{origin.scheme}://{origin.host}{port}"


@dataclass(frozen=True)
class SandboxComponentHost:
    """The built-in sandbox's host page (same origin as the sandbox's API and iframes)."""

    base_url: str
    needs_local_assets: bool = True
    resource_origins: frozenset[Origin] = frozenset()

    @property
    def origin(self) -> str:
        return _origin_text(self.base_url)

    def page_url(self, checkout_id: str, token: str) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/justifi/component-host/{checkout_id}?token={token}"

    def forget(self, url: str) -> None:
        return None  # the sandbox's page is stateless


def sandbox_component_host(sandbox_base_url: str) -> SandboxComponentHost:
    return SandboxComponentHost(sandbox_base_url)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Card payment</title>
<script type="module" src="{script}"></script>
<style>body {{ font-family: sans-serif; max-width: 640px; margin: 24px auto; }}</style>
</head>
<body>
{config}<justifi-checkout auth-token="{token}" checkout-id="{checkout_id}"></justifi-checkout>
</body>
</html>
"""


def live_page(
    checkout_id: str,
    token: str,
    *,
    script_url: str = COMPONENT_SCRIPT,
    api_origin: str | None = None,
    iframe_origin: str | None = None,
) -> str:
    """The host page's HTML; without origins the component uses JustiFi's own hosts."""
    config = ""
    if api_origin or iframe_origin:
        config = (
            f'<justifi-config-provider api-origin="{html.escape(api_origin or LIVE_API_ORIGIN)}"'
            f' iframe-origin="{html.escape(iframe_origin or LIVE_IFRAME_ORIGIN)}">'
            "</justifi-config-provider>\n"
        )
    return _PAGE.format(
        script=html.escape(script_url),
        config=config,
        token=html.escape(token),
        checkout_id=html.escape(checkout_id),
    )


def _content_policy(sources: str) -> str:
    """What the page may load: the component (from its own origin), its API and its card
    iframes; nothing else."""
    return (
        f"default-src 'none'; script-src 'self'; connect-src {sources}; "
        f"frame-src {sources}; style-src 'unsafe-inline' 'self' {sources}; "
        f"img-src data: 'self' {sources}; font-src 'self' {sources}; base-uri 'none'; "
        "form-action 'none'"
    )


Manifest = dict[str, str]


@dataclass
class LiveComponentHost:
    """Serves host pages, and the component's verified files, from 127.0.0.1 for a live
    JustiFi profile.

    ``assets_dir`` is the verified npm cache (``pos-app assets fetch``); ``api_origin`` and
    ``iframe_origin`` default to JustiFi's; tests point them at the sandbox to drive the real
    component without the internet.
    """

    assets_dir: Path | None = None
    api_origin: str | None = None
    iframe_origin: str | None = None
    needs_local_assets: bool = True
    # How the manifest is read: from the pinned tarball, in the server's thread (~0.2 s).
    read_manifest: Callable[[Path], Manifest | None] | None = None
    _pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _manifest: Manifest | None = None

    @property
    def resource_origins(self) -> frozenset[Origin]:
        urls = (self.api_origin or LIVE_API_ORIGIN, self.iframe_origin or LIVE_IFRAME_ORIGIN)
        return frozenset(o for url in urls if (o := Origin.of(url)) is not None)

    @property
    def origin(self) -> str:
        server = self._start()
        host, port = server.server_address[:2]
        return f"http://{host!s}:{port}"

    def page_url(self, checkout_id: str, token: str) -> str:
        page_id = secrets.token_urlsafe(18)
        with self._lock:
            self._pages[page_id] = (checkout_id, token)
        return f"{self.origin}/card-form/{page_id}"

    def forget(self, url: str) -> None:
        with self._lock:
            self._pages.pop(url.rsplit("/", 1)[-1], None)

    def page_for(self, page_id: str) -> str | None:
        with self._lock:
            found = self._pages.get(page_id)
        if found is None:
            return None
        checkout_id, token = found
        return live_page(
            checkout_id, token, api_origin=self.api_origin, iframe_origin=self.iframe_origin
        )

    def component_file(self, relative: str) -> tuple[bytes, str] | None:
        """The bytes and content type of a component file, only if they are exactly the
        pinned release's (else None, and the refusal is logged)."""
        manifest = self._component_manifest()
        expected = manifest.get(relative) if manifest is not None else None
        if expected is None or self.assets_dir is None:
            return None
        from pos_app.platform.assets import component_dir, sri

        try:
            data = (component_dir(self.assets_dir) / relative).read_bytes()
        except OSError:
            return None
        if sri(data) != expected:
            log.error("Refused to serve %s: it is not the verified component's file", relative)
            return None
        kind = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        return data, "text/javascript" if relative.endswith(".js") else kind

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _component_manifest(self) -> Manifest | None:
        with self._lock:
            if self._manifest is None and self.assets_dir is not None:
                from pos_app.platform.assets import component_manifest

                read = self.read_manifest or component_manifest
                self._manifest = read(self.assets_dir)
            return self._manifest

    def _start(self) -> ThreadingHTTPServer:
        with self._lock:
            if self._server is None:
                self._server = _serve(self)
            return self._server


def _serve(host: LiveComponentHost) -> ThreadingHTTPServer:
    sources = " ".join(
        sorted(_origin_text(f"{o.scheme}://{o.host}:{o.port}") for o in host.resource_origins)
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith(COMPONENTS_PATH):
                relative = self.path.removeprefix(COMPONENTS_PATH)
                found = host.component_file(relative) if ".." not in relative else None
                if found is None:
                    self.send_error(404)
                    return
                self._send(*found)
                return
            prefix, _, page_id = self.path.partition("/card-form/")
            page = host.page_for(page_id) if prefix == "" and "/" not in page_id else None
            if page is None:
                self.send_error(404)
                return
            self._send(page.encode("utf-8"), "text/html; charset=utf-8")

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", _content_policy(sources))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("card form page: %s", self.command)  # never the path: it names a page

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="card-form-pages", daemon=True).start()
    return server
