"""Running the whole app inside pytest-qt, on a qasync loop, against the built-in sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from pos_app.app import PosApplication
from pos_app.gui.gc_guard import MainThreadGarbageCollector
from pos_app.gui.resources import stylesheet
from pos_app.paths import AppPaths

START_TIMEOUT_MS = 30_000


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """asyncio on the Qt thread, driven by whatever Qt event loop pytest-qt spins."""
    qapp.setStyleSheet(stylesheet())
    collector = MainThreadGarbageCollector()  # as the app does: Qt objects die on this thread
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    # Undo what already_running=True did, so later tests can use asyncio.run().
    asyncio.events._set_running_loop(None)
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop._after_run_forever()
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    loop.close()
    asyncio.set_event_loop(None)
    del loop
    collector.stop()


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
