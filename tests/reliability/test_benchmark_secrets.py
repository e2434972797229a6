"""benchmarks/reliability.py's ``secret_hits``: the batteries log at DEBUG through the app's
own handler, and every file they leave is scanned; a scan that did not report is no figure.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.journal.db import connect

if TYPE_CHECKING:
    from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
CARD = "5555555555554444"  # a provider test card (Mastercard)


@pytest.fixture(scope="module")
def benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "reliability_benchmark", REPO / "benchmarks" / "reliability.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its worker functions must pickle by this name
    spec.loader.exec_module(module)
    return module


def test_a_battery_folder_is_scanned_log_journal_and_all(
    benchmark: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("battery")  # not tmp_path: this one leaks on purpose
    log = benchmark.debug_log(root / "logs" / "pos_app.log")
    try:
        # Not a pos_app logger: the scan watching this test would (rightly) flag the record.
        logging.getLogger("battery").debug("POST body %s", {"number": CARD})
    finally:
        benchmark._end_log(log)
    assert "'number': '[REDACTED]'" in (root / "logs" / "pos_app.log").read_text()  # DEBUG
    clean = benchmark._scan(root)
    assert (clean["files_scanned"], clean["hits"]) == (1, 0)

    journal = connect(root / "journal.sqlite3")
    journal.execute(
        "INSERT INTO payments (reference, profile, provider, method, amount_minor, currency,"
        " description, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("S-1", "p", "justifi", "hosted_checkout", 100, "USD", f"card {CARD}", "captured",
         "2026-11-22T10:00:00+00:00", "2026-11-22T10:00:00+00:00"),
    )  # fmt: skip
    journal.close()
    leaky = benchmark._scan(root)
    assert leaky["hits"] == 1
    assert leaky["problems"][0].startswith("a card number (a provider test card) in journal")


def test_secret_hits_adds_up_the_scans_and_is_no_figure_without_one(
    benchmark: ModuleType,
) -> None:
    def scanned(hits: int | None) -> dict[str, object]:
        return {"secret_scan": {"hits": hits, "files_scanned": 3}}

    report = {"network": scanned(0), "crash": scanned(2), "suite": scanned(1)}
    assert benchmark.summary(report)["secret_hits"] == 3
    assert benchmark.summary(report)["secret_files_scanned"] == 9
    # pytest broke before writing its totals: unknown, not a reassuring 0.
    report["suite"] = scanned(None)
    assert benchmark.summary(report)["secret_hits"] is None
    assert benchmark.summary({"bad_inputs": {"total": 75}})["secret_hits"] is None
