"""Run Python's garbage collector on the Qt thread only.

Automatic collection can start on any thread that allocates, such as the sandbox's
server thread or the set-up executor. If it frees a cycle holding Qt objects there,
their C++ destructors run on the wrong thread and Qt crashes. So automatic collection
is off, and a timer on the GUI thread collects whenever the usual thresholds are passed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        first, second, third = gc.get_count()
        if first > self._threshold[0]:
            gc.collect(0)
            if second > self._threshold[1]:
                gc.collect(1)
                if third > self._threshold[2]:
                    gc.collect(2)

    def freeze(self) -> None:
        """Move what start-up made (modules, screens, Qt wrappers: tens of thousands of
        objects that live as long as the app) out of the collector's sight, so a full
        collection on the GUI thread costs milliseconds instead of ~60 ms."""
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        """Collect what is left here, on this thread, and hand collection back to Python."""
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        gc.enable()
