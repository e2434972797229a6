"""The till killed with SIGKILL at every chosen point, on every provider, then restarted.

The sandbox runs as its own process and the till as another (see crash.py); here one
operation per provider meets every kill point (the benchmark runs a thousand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.reliability.crash import KILL_POINTS, run_crash_battery

if TYPE_CHECKING:
    from pathlib import Path

# One operation per provider: a refund (keyed, on an existing payment), a charge (keyed,
# a new sale), a keyless charge of an open checkout, and a keyless checkout.
OPERATIONS = {
    "justifi:refund",
    "checkout_com:charge",
    "recharge:pay_checkout",
    "payfect:checkout",
}


def test_no_kill_loses_doubles_or_forgets_money(tmp_path: Path) -> None:
    runs = len(OPERATIONS) * len(KILL_POINTS)
    figures = run_crash_battery(tmp_path, runs, OPERATIONS)
    assert figures.problems == []
    assert figures.runs == runs
    # Every run killed once; every other run killed again while reconciling what it left.
    assert figures.kills > runs
    assert figures.double_charges == figures.missing_in_journal == figures.over_refunds == 0
    assert figures.unresolved == figures.disagreements == 0
    assert figures.integrity_failures == 0
