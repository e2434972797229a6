"""Fixtures shared by the GUI tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from tests.gui.staff import Clock, Ticks, make_staff

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pos_app.gui.screens.sign_in import Staff

PAGE = b"<!doctype html><title>Pay $25.00</title><p>Provider page</p>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def provider_page() -> Iterator[str]:
    """A provider's checkout page on loopback, titled "Pay $25.00"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkout/1"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="ticks")
def ticks_fixture() -> Ticks:
    return Ticks()


@pytest.fixture(name="staff")
def staff_fixture(tmp_path: Path, clock: Clock, ticks: Ticks) -> Iterator[Staff]:
    made = make_staff(tmp_path / "journal.sqlite3", clock, ticks)
    yield made
    made.audit.connection.close()
