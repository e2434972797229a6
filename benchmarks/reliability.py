"""The reliability batteries at full size; prints their figures as JSON (docs/RELIABILITY.md).

* network: every network fault kind on every provider's mutating requests, ``--ops-per-fault``
  operations each (>= 1000 for the published figures), through PaymentService, then
  reconciliation and the checks of ``tests/reliability/network.py``;
* bad_inputs: every malformed amount, currency and description of
  ``tests/reliability/bad_inputs.py``;
* crash: ``--crashes`` SIGKILLs of a till process at chosen points (``tests/reliability/crash.py``);
* suite: the whole pytest suite under its secret scan (``tests/secret_scan.py``);
* lookups: provider answers tampered one field at a time (amount ±1 minor unit and ×100,
  another currency, another or no reference, the amount changed at the provider) for every
  provider and way to pay on a page, and customers who pay after a decline
  (``tests/reliability/lookup_tampering.py``): none may be recorded as paid, all flagged.

Fault kinds run in ``--workers`` processes, each with its own sandbox and journal. The
network and crash batteries log at DEBUG through the app's own (redacting) log handler into
their data folders; before those folders are deleted every file in them is searched for
secrets and card data (``tests/secret_files.py``): ``secret_hits`` adds those findings
to the suite's.

    .venv/bin/python benchmarks/reliability.py            # the published run
    .venv/bin/python benchmarks/reliability.py --ops-per-fault 50 --crashes 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pos_app.journal.store import JournalStore
from pos_app.services.sale import SaleInputError, parse_sale
from pos_sandbox.server import SandboxServer
from tests.reliability.bad_inputs import CASES
from tests.reliability.crash import run_crash_battery
from tests.reliability.crash_child import DEBUG_LOG_ENV, debug_log
from tests.reliability.fast_tls import shared_tls_context
from tests.reliability.lookup_tampering import run_declines, run_tampering, tampering_cases
from tests.reliability.network import FAULT_KINDS, run_battery
from tests.secret_detectors import SANDBOX_SECRETS
from tests.secret_files import scan_tree

BATTERIES = ("network", "bad_inputs", "crash", "suite", "lookups")
ROOT = Path(__file__).resolve().parent.parent


def _end_log(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()


def _scan(root: Path) -> dict[str, Any]:
    """Every file a battery left in its data folder, searched for secrets and card data."""
    found = scan_tree(root, SANDBOX_SECRETS)
    return {
        "files_scanned": found.files_scanned,
        "bytes_scanned": found.bytes_scanned,
        "sandbox_files_skipped": found.sandbox_files_skipped,
        "hits": len(found.problems),
        "problems": found.problems[:5],
    }


def _network_worker(
    kinds: tuple[str, ...], count: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with shared_tls_context(), tempfile.TemporaryDirectory(prefix="pos-reliability-") as tmp:
        root = Path(tmp)
        log = debug_log(root / "logs" / "pos_app.log")
        journal = JournalStore.open(root / "journal.sqlite3")
        with SandboxServer(root / "sandbox-state") as sandbox:
            results = run_battery(sandbox, journal, kinds, count)
        journal.close()
        _end_log(log)
        scanned = _scan(root)
    rows = [
        {
            "kind": f.kind,
            **f.as_json(),
            "breaches": f.retry_rule_breaches[:5],
            "problems": f.problems[:5],
            "setup_failures_seen": f.setup_failures[:5],
        }
        for f in results
    ]
    return rows, scanned


def _add_scans(scans: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"problems": []}
    for scan in scans:
        for key, value in scan.items():
            total[key] = total[key] + value if key in total else value
    return total


def network(count: int, workers: int) -> dict[str, Any]:
    shares = [FAULT_KINDS[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_network_worker, shares, [count] * workers))
        per_kind = {row["kind"]: row for rows, _ in parts for row in rows}
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
        "secret_scan": _add_scans([scanned for _, scanned in parts]),
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
    with shared_tls_context(), tempfile.TemporaryDirectory(prefix="pos-crash-") as tmp:
        root = Path(tmp)
        log = debug_log(root / "logs" / "pos_app.log")
        os.environ[DEBUG_LOG_ENV] = str(root / "logs" / "till.log")
        try:
            figures = run_crash_battery(root, count).as_json()
        finally:
            del os.environ[DEBUG_LOG_ENV]
            _end_log(log)
        return figures | {"secret_scan": _scan(root)}


def crash(count: int, workers: int) -> dict[str, Any]:
    """``count`` kill runs shared among ``workers`` processes (each its own sandbox and
    journal), figures added up."""
    shares = [count // workers + (i < count % workers) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_crash_worker, shares))
    total: dict[str, Any] = {"problems": []}
    for part in parts:
        for key, value in part.items():
            if key != "secret_scan":
                total[key] = total.get(key, 0) + value if key != "problems" else total[key] + value
    total["secret_scan"] = _add_scans([part["secret_scan"] for part in parts])
    return total


def suite() -> dict[str, Any]:
    """The whole pytest suite (CI size) under the secret scan, which reports its totals."""
    with tempfile.TemporaryDirectory(prefix="pos-suite-") as tmp:
        report_file = Path(tmp) / "secret-scan.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--secret-scan-report",
                str(report_file),
                "tests",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        tail = done.stdout.strip().splitlines()[-1:] or [done.stderr.strip()[-300:]]
        # No report (pytest itself broke): no figure, rather than a reassuring 0.
        scan = json.loads(report_file.read_text()) if report_file.exists() else {"hits": None}
    return {"pytest_exit_code": done.returncode, "pytest_summary": tail[0], "secret_scan": scan}


def lookups(every: int = 1) -> dict[str, Any]:
    """Every ``every``-th tampering case (1: all) and every paid-after-a-decline case."""
    with tempfile.TemporaryDirectory(prefix="pos-lookups-") as tmp:
        root = Path(tmp)
        journal = JournalStore.open(root / "journal.sqlite3")
        with SandboxServer(root / "sandbox-state") as sandbox:
            cases = tampering_cases()[::every]
            figures = run_tampering(sandbox, journal, cases).as_json()
            figures |= run_declines(sandbox, root)
        journal.close()
    return figures


def _total_hits(scans: list[dict[str, Any]]) -> int | None:
    """All findings; none (not 0) when nothing was scanned or a scan did not report."""
    total = 0
    for scan in scans:
        hits = scan.get("hits")
        if not isinstance(hits, int):
            return None
        total += hits
    return total if scans else None


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline figures the issue asks for, added up over the batteries that ran."""
    net = report.get("network", {})
    crashed = report.get("crash", {})
    bad = report.get("bad_inputs", {})
    scans = [part["secret_scan"] for part in (net, crashed, report.get("suite", {})) if part]

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
        "secret_hits": _total_hits(scans),
        "secret_files_scanned": sum(int(scan.get("files_scanned", 0)) for scan in scans),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops-per-fault", type=int, default=1000)
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lookup-every", type=int, default=1, help="run every Nth lookup case")
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
    if "suite" in only:
        report["suite"] = suite()
    if "lookups" in only:
        report["lookups"] = lookups(args.lookup_every)
    report = summary(report) | report
    report["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
