"""Auto-lock after idle: a pure timer the GUI feeds with activity (key presses, clicks).

No Qt and no threads: the GUI calls ``activity()`` from its event filter and asks
``is_due()`` (or ``remaining()``, to arm a single-shot timer) and locks when it says so.
The clock is monotonic by default, so changing the wall clock neither locks nor unlocks.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_IDLE_TIMEOUT", "IdleLock"]

DEFAULT_IDLE_TIMEOUT: Final = timedelta(minutes=15)
_SHORTEST: Final = timedelta(seconds=30)
_LONGEST: Final = timedelta(hours=12)


class IdleLock:
    def __init__(
        self,
        timeout: timedelta = DEFAULT_IDLE_TIMEOUT,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._timeout = _checked(timeout)
        self._last_activity = clock()

    @property
    def timeout(self) -> timedelta:
        return self._timeout

    @timeout.setter
    def timeout(self, value: timedelta) -> None:
        """A new setting applies from the last activity, not from now."""
        self._timeout = _checked(value)

    def activity(self) -> None:
        """The user did something: the idle time starts again."""
        self._last_activity = self._clock()

    def remaining(self) -> timedelta:
        """Time left before the lock is due; zero once it is."""
        idle = timedelta(seconds=self._clock() - self._last_activity)
        return max(self._timeout - idle, timedelta(0))

    def is_due(self) -> bool:
        return self.remaining() == timedelta(0)


def _checked(timeout: timedelta) -> timedelta:
    if not _SHORTEST <= timeout <= _LONGEST:
        raise ValueError(
            "The auto-lock time must be between 30 seconds and 12 hours, "
            f"not {int(timeout.total_seconds())} seconds."
        )
    return timeout
