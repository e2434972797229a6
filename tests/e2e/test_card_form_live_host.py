"""The live card-form page: served by the till from loopback, component from a CDN.

No internet here, so JustiFi's CDN is stood in for by a loopback static server (answering
CORS like jsDelivr) and JustiFi's API and card iframes by the sandbox: the page, its
origin, its content policy and the view's resource allow-list are the live ones; the real
component runs cross-origin exactly as it would against JustiFi.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytestqt.qtbot import QtBot

from pos_app.domain.payment import PaymentState
from pos_app.gui.webview.card_form_hosts import LiveComponentHost
from pos_app.gui.webview.policy import Origin
from tests.e2e import test_embedded_checkout as card_form
from tests.e2e.webcomponent_assets import WebComponentAssets

journal, make_till = card_form.journal, card_form.make_till  # fixtures
sandbox, webcomponent_assets = card_form.sandbox, card_form.webcomponent_assets  # fixtures


class _CdnHandler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")  # as jsDelivr answers
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def cdn(webcomponent_assets: WebComponentAssets) -> Iterator[str]:
    handler = partial(_CdnHandler, directory=str(webcomponent_assets.webcomponents_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_card_paid_on_the_live_page_is_verified(
    qtbot: QtBot, make_till: Any, cdn: str, tmp_path: Path
) -> None:
    till = make_till("justifi")
    api = f"{till.sandbox.base_url}/justifi"
    host = LiveComponentHost(
        script_url=f"{cdn}/webcomponents.esm.js", api_origin=api, iframe_origin=f"{api}/iframe"
    )
    try:
        # No local files needed: an empty cache does not stop a live card form.
        till.screen.set_card_form(assets_dir=tmp_path / "empty-cache", host=host)
        form = card_form.open_card_form(qtbot, till)
        view_url = form.host_url
        page_origin = Origin.of(view_url)
        assert page_origin is not None and page_origin != Origin.of(api)  # really cross-origin
        heard = card_form.pay(qtbot, form, "4242424242424242")
        assert heard in {("submitted", "succeeded"), card_form.LOOKED_UP_FIRST}
        assert till.wait_for_result() == "Approved"
        [payment] = till.journal.page_payments(offset=0, limit=5)
        assert payment.state is PaymentState.CAPTURED
        assert payment.method == "embedded_checkout"
        # The component's version check and analytics never left the machine.
        assert all(Origin.of(url) not in host.resource_origins for url in form.resources.blocked)
        # The sale is over: its page (and the token in it) is served no more.
        assert httpx.get(view_url).status_code == 404
    finally:
        host.close()
