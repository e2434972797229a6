"""Garbage holding Qt objects is only ever freed on the GUI thread."""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from pos_app.gui.gc_guard import MainThreadGarbageCollector

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


class Cycle:
    def __init__(self) -> None:
        self.me = self
        self.qt = QObject()


def test_cycles_are_collected_on_the_gui_thread_not_by_other_threads(qtbot: QtBot) -> None:
    collector = MainThreadGarbageCollector()
    try:
        assert not gc.isenabled()
        freed_threads: list[str] = []
        cycle = Cycle()
        cycle.qt.destroyed.connect(lambda: freed_threads.append(threading.current_thread().name))
        del cycle
        # Another thread allocating heavily must not trigger a collection of our cycle.
        worker = threading.Thread(target=lambda: [[] for _ in range(200_000)], name="worker")
        worker.start()
        worker.join()
        assert freed_threads == []
        # Garbage made on the GUI thread passes the threshold; the timer collects here.
        garbage = [Cycle() for _ in range(gc.get_threshold()[0] + 1)]
        del garbage
        qtbot.waitUntil(lambda: freed_threads == ["MainThread"], timeout=5_000)
    finally:
        collector.stop()
    assert gc.isenabled()


def test_what_start_up_made_is_frozen_and_garbage_made_later_is_still_collected(
    qtbot: QtBot,
) -> None:
    collector = MainThreadGarbageCollector()
    try:
        collector.freeze()
        assert gc.get_freeze_count() > 0  # start-up's objects are out of the full collection
        freed: list[bool] = []
        cycle = Cycle()
        cycle.qt.destroyed.connect(lambda: freed.append(True))
        del cycle
        garbage = [Cycle() for _ in range(gc.get_threshold()[0] + 1)]
        del garbage
        qtbot.waitUntil(lambda: freed == [True], timeout=5_000)
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
