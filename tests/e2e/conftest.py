"""Running the whole app inside pytest-qt, on a qasync loop, against the built-in sandbox."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from pos_app.bootstrap.app import PosApplication

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytestqt.qtbot import QtBot

    from pos_app.platform.paths import AppPaths

START_TIMEOUT_MS = 30_000


class Till:
    """Starts and stops PosApplication instances the way a cashier would see them."""

    def __init__(self, qtbot: QtBot, paths: AppPaths) -> None:
        self.qtbot = qtbot
        self.paths = paths
        self.running: list[PosApplication] = []

    def start(self) -> PosApplication:
        pos = PosApplication(self.paths)
        self.running.append(pos)
        pos.window.resize(1280, 800)
        pos.window.show()
        pos.window.cashier.focus_amount()
        pos.tasks.start(pos.connect())
        self.qtbot.waitUntil(lambda: pos.window.cashier.ready, timeout=START_TIMEOUT_MS)
        return pos

    def stop(self, pos: PosApplication) -> None:
        task = asyncio.ensure_future(pos.aclose())
        self.qtbot.waitUntil(task.done, timeout=START_TIMEOUT_MS)
        task.result()
        pos.window.close()
        pos.window.deleteLater()
        self.running.remove(pos)

    def stop_all(self) -> None:
        for pos in list(self.running):
            self.stop(pos)


@pytest.fixture
def till(qtbot: QtBot, qloop: asyncio.AbstractEventLoop, app_paths: AppPaths) -> Iterator[Till]:
    manager = Till(qtbot, app_paths)
    yield manager
    manager.stop_all()


def run_js(qtbot: QtBot, page: Any, script: str, timeout: int = 10_000) -> Any:
    """Run JavaScript in a web page and wait for its result (tests only script pages)."""
    results: list[Any] = []
    page.runJavaScript(script, 0, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=timeout)
    return results[0]


def wait_for_js(
    qtbot: QtBot, page_of: Callable[[], Any], script: str, timeout: int = 20_000
) -> None:
    """Wait until a JavaScript expression is true in the current page."""
    state: dict[str, Any] = {"pending": False, "value": False}

    def poll() -> bool:
        page = page_of()
        if page is None:
            return False
        if not state["pending"]:
            state["pending"] = True

            def done(value: Any) -> None:
                state["pending"] = False
                state["value"] = bool(value)

            page.runJavaScript(script, 0, done)
        return bool(state["value"])

    qtbot.waitUntil(poll, timeout=timeout)
