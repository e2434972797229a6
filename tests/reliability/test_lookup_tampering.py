"""A provider answer that is not the sale's never becomes money, and a customer who pays after
a decline is never missed (tests/reliability/lookup_tampering.py; the full battery runs in
``benchmarks/reliability.py --only lookups``)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.journal.store import JournalStore
from pos_sandbox.server import SandboxServer
from tests.reliability.lookup_tampering import (
    Case,
    decline_cases,
    run_decline_case,
    run_tampering_case,
    tampering_cases,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
# Every provider and way to pay once, each with a different change (all of them: the battery).
ALL = tampering_cases()
SAMPLE = {str(c): c for c in [*ALL[::6], *{c.name: c for c in ALL}.values()]}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


@pytest.mark.parametrize("case", sorted(SAMPLE.values(), key=str), ids=str)
def test_a_lookup_that_disagrees_with_the_sale_is_flagged_and_not_recorded_as_paid(
    sandbox: SandboxServer, tmp_path: Path, case: Case
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    outcome = run_tampering_case(sandbox, journal, case)
    journal.close()
    assert not outcome.recorded_as_paid, outcome
    assert outcome.flagged, outcome


@pytest.mark.parametrize("case", decline_cases(), ids=str)
def test_a_customer_who_pays_after_a_decline_is_flagged(
    sandbox: SandboxServer, tmp_path: Path, case: Case
) -> None:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    outcome = run_decline_case(sandbox, journal, case)
    journal.close()
    assert outcome.state == "failed"  # cancelled at the till: never counted as paid
    assert outcome.attention
    assert "paid after a decline" in outcome.attention


def test_the_benchmark_battery_reports_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """``benchmarks/reliability.py --only lookups``, small: the figures docs/RELIABILITY.md
    publishes come from this JSON."""
    spec = importlib.util.spec_from_file_location(
        "reliability_benchmark_lookups", REPO / "benchmarks" / "reliability.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--only", "lookups", "--lookup-every", "11"]) == 0
    figures = json.loads(capsys.readouterr().out)["lookups"]
    assert figures["lookup_tampering_cases"] == len(ALL[::11])
    assert figures["recorded_as_paid_wrongly"] == 0
    assert figures["flagged"] == figures["lookup_tampering_cases"]
    assert figures["paid_after_decline_cases"] == len(decline_cases()) >= 4
    assert figures["paid_after_decline_unflagged"] == 0
