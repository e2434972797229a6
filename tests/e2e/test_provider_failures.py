"""When the provider is down or talks nonsense, the cashier is told and the sale is kept."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt

from pos_app.config.settings import ProviderProfile, Settings, save_settings
from pos_app.domain.payment import PaymentState
from pos_app.gui.messages import TRAINING_NOTE
from pos_app.gui.widgets.common import plain_tip
from pos_app.journal.store import IntentOutcome
from tests.e2e.test_hosted_checkout import ring_up

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from pos_app.platform.paths import AppPaths
    from tests.e2e.conftest import Till


def use_provider_at(paths: AppPaths, base_url: str) -> None:
    profile = ProviderProfile(name="Flaky JustiFi", provider="justifi", api_base_url=base_url)
    save_settings(paths.settings_file, Settings(profiles=[profile], default_profile=profile.name))


class GarbageHandler(BaseHTTPRequestHandler):
    """Signs in fine, then answers every API call with a web page instead of JSON."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/oauth/token"):
            self._answer(200, json.dumps({"access_token": "tok"}), "application/json")
        else:
            self._answer(200, "<html><body>502 Bad Gateway (proxy)</body></html>", "text/html")

    do_GET = do_POST

    def _answer(self, status: int, body: str, kind: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def garbage_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GarbageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/justifi"
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_provider_down_says_so_and_keeps_the_sale(qtbot: QtBot, till: Till) -> None:
    use_provider_at(till.paths, f"http://127.0.0.1:{closed_port()}/justifi")
    pos = till.start()
    ring_up(qtbot, pos, "17.99", "One chocolate donut")

    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.stack.currentWidget() is checkout.result, timeout=30_000)
    assert checkout.result.title.text() == "Payment not started"
    assert "Could not reach JustiFi. Nothing was charged." in checkout.result.detail.text()
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.FAILED
    assert [i.outcome for i in pos.journal.intents_for(payment.reference)] == [
        IntentOutcome.NOT_SENT
    ]
    assert checkout.web_view is None  # QtWebEngine was never needed

    # Back to the sale with what was typed, ready to try again.
    qtbot.keyClick(checkout.result.button, Qt.Key.Key_Return)
    assert pos.window.stack.currentWidget() is pos.window.cashier
    assert pos.window.cashier.amount_field.text() == "17.99"
    assert pos.window.cashier.description_field.text() == "One chocolate donut"


def test_garbage_answer_is_not_trusted_and_the_sale_is_marked_for_checking(
    qtbot: QtBot, till: Till, garbage_server: str
) -> None:
    use_provider_at(till.paths, garbage_server)
    pos = till.start()
    ring_up(qtbot, pos, "17.99", "One chocolate donut")

    checkout = pos.window.checkout
    qtbot.waitUntil(lambda: checkout.stack.currentWidget() is checkout.result, timeout=30_000)
    assert checkout.result.title.text() == "Payment not started"
    assert "could not be trusted" in checkout.result.detail.text()
    [payment] = pos.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.IN_DOUBT
    assert payment.attention
    assert [i.outcome for i in pos.journal.intents_for(payment.reference)] == [
        IntentOutcome.UNKNOWN
    ]

    qtbot.keyClick(checkout.result.button, Qt.Key.Key_Return)
    pos.window.payments_button.click()
    pos.window.payments.filters.training.setChecked(True)  # a sandbox sale is training
    model = pos.window.payments.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.index(0, 4).data() == "⚠ Checking…"
    # The state's tooltip says why it is being checked, after saying it is training.
    assert model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole) == plain_tip(
        f"{TRAINING_NOTE}\n{payment.attention}"
    )
