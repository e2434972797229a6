"""Network faults on every mutating request of every provider, through PaymentService.

Each fault kind hits each provider operation once here (the benchmark runs a thousand per
kind). After reconciliation: no duplicate at the provider, attempts within the retry rule,
every payment either verified against the provider or in doubt with a reason shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.journal.store import JournalStore
from tests.reliability.network import FAULT_KINDS, Battery, Figures
from tests.reliability.tills import RETRY

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer

Rounds = Callable[[str], Figures]


@pytest.fixture(scope="module")
def rounds(
    shared_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rounds]:
    """One round per fault kind (every provider operation once), run when first asked for."""
    journal = JournalStore.open(Path(tmp_path_factory.mktemp("journal")) / "journal.sqlite3")
    done: dict[str, Figures] = {}

    def get(kind: str) -> Figures:
        if kind not in done:

            async def go() -> Figures:
                # A generous wait for dropped answers: the first attempt has surely been
                # applied before the retry, even on a loaded machine (409s have their own kind).
                async with Battery(shared_sandbox, journal, short_read=1.0) as battery:
                    return await battery.run(kind, len(battery.operations_for(kind)))

            done[kind] = asyncio.run(go())
        return done[kind]

    yield get
    journal.close()


def assert_no_money_lost(figures: Figures) -> None:
    assert figures.setup_failures == []
    assert figures.retry_rule_breaches == []
    assert figures.problems == []
    assert (figures.duplicates, figures.missing_in_journal, figures.over_refunds) == (0, 0, 0)
    assert (figures.disagreements, figures.unresolved) == (0, 0)
    assert figures.accounted == figures.operations > 0


KINDS = list(FAULT_KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_no_fault_loses_or_doubles_money(rounds: Rounds, kind: str) -> None:
    assert_no_money_lost(rounds(kind))


def outcomes(figures: Figures) -> set[str]:
    return {outcome.split()[1] for outcome in figures.outcomes}


def test_without_faults_every_operation_simply_succeeds(rounds: Rounds) -> None:
    figures = rounds("no_fault")
    assert all(outcome.startswith("ok:") for outcome in outcomes(figures))
    assert figures.verified == figures.operations
    assert figures.longest_run == 1  # a clean run sends every request once


def test_a_refused_connection_is_retried_then_reported_with_nothing_in_doubt(
    rounds: Rounds,
) -> None:
    figures = rounds("connection_refused")
    assert outcomes(figures) == {"failed:ConnectionFailedError"}
    assert figures.longest_run == RETRY.max_attempts  # never sent: retried to the limit
    assert figures.in_doubt == 0


def test_a_lost_answer_is_replayed_by_key_or_looked_up_never_resent_blindly(
    rounds: Rounds,
) -> None:
    figures = rounds("reset_after_apply")
    # Keyed providers sent again and got the original answer back...
    assert figures.outcomes["justifi:charge ok:captured"] == 1
    assert figures.outcomes["checkout_com:refund ok:partially_refunded"] == 1
    # ...keyless ReCharge did not send again (no breach of the rule): it looked the
    # checkout up and found it paid.
    assert figures.outcomes["recharge:pay_checkout ok:captured"] == 1
    assert figures.retry_rule_breaches == []


def test_a_429_storm_longer_than_the_retries_is_refused_not_doubted(rounds: Rounds) -> None:
    figures = rounds("429_storm")
    assert "failed:RateLimitedError" in outcomes(figures)
    assert figures.longest_run <= max(RETRY.max_attempts, 6)
