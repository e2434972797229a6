"""Auto-lock after idle: the GUI feeds activity, the lock says when it is due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pos_app.domain.idle import DEFAULT_IDLE_TIMEOUT, IdleLock


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_locks_after_fifteen_idle_minutes_by_default() -> None:
    ticks = Ticks()
    lock = IdleLock(clock=ticks)
    assert lock.timeout == DEFAULT_IDLE_TIMEOUT == timedelta(minutes=15)
    ticks.now += 14 * 60
    assert not lock.is_due()
    assert lock.remaining() == timedelta(minutes=1)
    ticks.now += 60
    assert lock.is_due()
    assert lock.remaining() == timedelta(0)


def test_activity_starts_the_idle_time_again() -> None:
    ticks = Ticks()
    lock = IdleLock(timedelta(minutes=5), clock=ticks)
    ticks.now += 4 * 60
    lock.activity()
    ticks.now += 4 * 60
    assert not lock.is_due()
    ticks.now += 60
    assert lock.is_due()


def test_a_new_setting_counts_from_the_last_activity() -> None:
    ticks = Ticks()
    lock = IdleLock(clock=ticks)
    ticks.now += 6 * 60
    lock.timeout = timedelta(minutes=5)
    assert lock.is_due()


@pytest.mark.parametrize("seconds", [0, 10, 13 * 3600])
def test_unreasonable_timeouts_are_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match="between 30 seconds and 12 hours"):
        IdleLock(timedelta(seconds=seconds))
