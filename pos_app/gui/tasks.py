"""Running coroutines from widgets: results come back on the Qt thread via callbacks.

qasync runs asyncio on the Qt thread, so callbacks may touch widgets directly.
Tasks are kept referenced (asyncio only keeps weak ones) and cancelled on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

log = logging.getLogger(__name__)
T = TypeVar("T")


class TaskRunner:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(
        self,
        coro: Coroutine[Any, Any, T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def finished(done: asyncio.Task[T]) -> None:
            self._tasks.discard(done)
            if done.cancelled():
                return
            error = done.exception()
            if error is not None:
                if on_error is not None:
                    on_error(error)
                else:
                    log.error("Background task failed", exc_info=error)
            elif on_done is not None:
                on_done(done.result())

        task.add_done_callback(finished)
        return task

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class SaleTasks:
    """The tasks of the one sale on a screen. ``end()`` (the sale is over, left or replaced)
    means no callback of a task started before runs: an answer about an earlier sale never
    lands on this one.

    Lookups started with ``cancel_on_end`` are cancelled then (asking again is harmless).
    A request that moves money is never cancelled half-way: it runs to its end, and its
    ``on_superseded`` handler gets what it opened (a checkout for a sale the cashier left
    is closed at our end too).
    """

    def __init__(self, runner: TaskRunner) -> None:
        self._runner = runner
        self._turn = _Turn()

    def start(
        self,
        coro: Coroutine[Any, Any, T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        cancel_on_end: bool = False,
        on_superseded: Callable[[T], None] | None = None,
    ) -> asyncio.Task[T]:
        turn = self._turn

        def done(result: T) -> None:
            if turn.live:
                if on_done is not None:
                    on_done(result)
            elif on_superseded is not None:
                on_superseded(result)

        def failed(error: BaseException) -> None:
            if turn.live and on_error is not None:
                on_error(error)
            else:
                log.info("A task of an earlier sale failed: %s", error)

        task = self._runner.start(coro, done, failed)
        if cancel_on_end:
            turn.cancellable.add(task)
            task.add_done_callback(turn.cancellable.discard)
        return task

    def still_current(self) -> Callable[[], bool]:
        """A check that stays true until this sale ends (for a deferred callback)."""
        turn = self._turn
        return lambda: turn.live

    def end(self) -> None:
        self._turn.end()
        self._turn = _Turn()


class _Turn:
    """One sale's time on screen."""

    def __init__(self) -> None:
        self.live = True
        self.cancellable: set[asyncio.Task[Any]] = set()

    def end(self) -> None:
        self.live = False
        for task in list(self.cancellable):
            task.cancel()
