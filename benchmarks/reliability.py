"""The reliability batteries at full size; prints their figures as JSON (docs/RELIABILITY.md).

* network: every network fault kind on every provider's mutating requests, ``--ops-per-fault``
  operations each (>= 1000 for the published figures), through PaymentService, then
  reconciliation and the checks of ``tests/reliability/network.py``;
* bad_inputs: every malformed amount, currency and description of
  ``tests/reliability/bad_inputs.py``;
* crash: ``--crashes`` SIGKILLs of a till process at chosen points (``tests/reliability/crash.py``).

Fault kinds run in ``--workers`` processes, each with its own sandbox and journal.

    .venv/bin/python benchmarks/reliability.py            # the published run
    .venv/bin/python benchmarks/reliability.py --ops-per-fault 50 --crashes 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pos_app.journal.store import JournalStore
from pos_app.sandbox.server import SandboxServer
from pos_app.services.sale import SaleInputError, parse_sale
from tests.reliability.bad_inputs import CASES
from tests.reliability.crash import run_crash_battery
from tests.reliability.fast_tls import shared_tls_context
from tests.reliability.network import FAULT_KINDS, run_battery

BATTERIES = ("network", "bad_inputs", "crash")


def _network_worker(kinds: tuple[str, ...], count: int) -> list[dict[str, Any]]:
    logging.disable(logging.CRITICAL)  # the till logs every lost answer; the figures say it all
    with shared_tls_context(), tempfile.TemporaryDirectory(prefix="pos-reliability-") as tmp:
        root = Path(tmp)
        journal = JournalStore.open(root / "journal.sqlite3")
        with SandboxServer(root / "sandbox-state") as sandbox:
            results = run_battery(sandbox, journal, kinds, count)
        journal.close()
    return [
        {
            "kind": f.kind,
            **f.as_json(),
            "breaches": f.retry_rule_breaches[:5],
            "problems": f.problems[:5],
            "setup_failures_seen": f.setup_failures[:5],
        }
        for f in results
    ]


def network(count: int, workers: int) -> dict[str, Any]:
    shares = [FAULT_KINDS[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_network_worker, shares, [count] * workers)
        per_kind = {row["kind"]: row for part in parts for row in part}
    ordered = {kind: per_kind[kind] for kind in FAULT_KINDS}

    def total(key: str) -> int:
        return sum(int(row[key]) for row in ordered.values())

    return {
        "operations": total("operations"),
        "duplicates": total("duplicates"),
        "missing_in_journal": total("missing_in_journal"),
        "over_refunds": total("over_refunds"),
        "unresolved": total("unresolved"),
        "retry_rule_breaches": total("retry_rule_breaches"),
        "per_fault": ordered,
    }


def bad_inputs() -> dict[str, Any]:
    """Each case must be refused by parse_sale with its own code and message (the tests also
    check, on the sandbox, that nothing is recorded or sent)."""
    rejected, wrong = 0, []
    for case in CASES:
        try:
            parse_sale(case.amount, case.description, limits=case.limits, locale=case.locale)
        except SaleInputError as error:
            if (error.field, error.code, error.message) == (case.field, case.code, case.message):
                rejected += 1
                continue
            wrong.append(f"{case}: {error.code} {error.message}")
        else:
            wrong.append(f"{case}: accepted")
    return {"total": len(CASES), "rejected": rejected, "wrong": wrong}


def _crash_worker(count: int) -> dict[str, Any]:
    logging.disable(logging.CRITICAL)
    with shared_tls_context(), tempfile.TemporaryDirectory(prefix="pos-crash-") as tmp:
        return run_crash_battery(Path(tmp), count).as_json()


def crash(count: int, workers: int) -> dict[str, Any]:
    """``count`` kill runs shared among ``workers`` processes (each its own sandbox and
    journal), figures added up."""
    shares = [count // workers + (i < count % workers) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_crash_worker, shares))
    total: dict[str, Any] = {"problems": []}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value if key != "problems" else total[key] + value
    return total


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures the issue asks for, added up over the batteries that ran."""
    net = report.get("network", {})
    crashed = report.get("crash", {})
    bad = report.get("bad_inputs", {})

    def both(key: str) -> int:
        return int(net.get(key, 0)) + int(crashed.get(key, 0))

    return {
        "operations": net.get("operations", 0) + crashed.get("runs", 0),
        "kills": crashed.get("kills", 0),
        "double_charges": crashed.get("double_charges", 0),
        "duplicates": net.get("duplicates", 0),
        "missing_in_journal": both("missing_in_journal"),
        "unresolved": both("unresolved"),
        "over_refunds": both("over_refunds"),
        "bad_inputs_rejected": bad.get("rejected", 0),
        "bad_inputs_total": bad.get("total", 0),
        "secret_hits": None,
        "secret_hits_note": "not measured here: the secrets scan is tests/secret_scan.py",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops-per-fault", type=int, default=1000)
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default=",".join(BATTERIES), help="comma-separated batteries")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    started = time.monotonic()
    report: dict[str, Any] = {}
    if "bad_inputs" in only:
        report["bad_inputs"] = bad_inputs()
    if "network" in only:
        report["network"] = network(args.ops_per_fault, args.workers)
    if "crash" in only:
        report["crash"] = crash(args.crashes, args.workers)
    report = summary(report) | report
    report["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
