"""The crash battery: a till process SIGKILLed at chosen points, restarted, reconciled, checked.

The sandbox runs as its own process (``python -m pos_app sandbox``), so it outlives the till.
Each run: set the payment up (in this process, on the same journal file), start the
operation in the till process, kill it at the run's point, let the provider finish what it
had, restart the till (sometimes killing it again mid-reconciliation), reconcile, then check
the journal against the provider.

Kill points, all chosen deterministically (the till announces the point and waits to die,
or the provider holds the request while the kill happens):

``before_intent``   the sale is recorded, its intent not yet written;
``after_intent``    the intent is written, nothing sent;
``in_flight``       sent: a keyed request held by the provider (it lands after the kill), or a
                    keyless one applied whose answer never comes;
``after_apply``     the provider answered, the outcome not yet written;
``reconcile``       (on restart) reconciliation killed before it records what it found.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import httpx

from pos_app.journal.store import JournalStore
from pos_sandbox.control import SandboxControl
from tests.conformance.harness import add_fault
from tests.reliability import provider_truth
from tests.reliability.network import Battery, Operation, judge
from tests.reliability.tills import sandbox_time

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer

KILL_POINTS = ("before_intent", "after_intent", "in_flight", "after_apply")
ROOT = Path(__file__).resolve().parents[2]
_HOLDS = {"justifi": "justifi", "checkout_com": "checkout-com"}
_ANSWER_DEADLINE = 30.0


@dataclass
class StandaloneSandbox:
    """``pos-app sandbox`` in its own process; quacks like SandboxServer for the helpers."""

    state_dir: Path
    base_url: str = ""
    process: subprocess.Popen[str] | None = None
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def control(self) -> SandboxControl:
        return SandboxControl(self.base_url, self.control_token)

    def __enter__(self) -> StandaloneSandbox:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pos_app",
                "sandbox",
                "--port",
                "0",
                "--state",
                str(self.state_dir),
                "--control-token",
                self.control_token,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("Sandbox listening on "), line
        self.base_url = line.rsplit(" ", 1)[1].strip()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)
        cast("IO[str]", self.process.stdout).close()


class Till:
    """The till process: commands in, one JSON line out per command (or a kill point)."""

    def __init__(self, journal: Path, sandbox: SandboxControl) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.crash_child",
                str(journal),
                sandbox.base_url,
                sandbox.token,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: dict[str, Any]) -> None:
        stdin = cast("IO[str]", self.process.stdin)
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()

    def answer(self) -> dict[str, Any]:
        line = cast("IO[str]", self.process.stdout).readline()
        assert line, f"the till died unasked (exit {self.process.poll()})"
        return dict(json.loads(line))

    def answered(self) -> bool:
        """Whether an answer is waiting to be read (without reading it)."""
        readable, _, _ = select.select([cast("IO[str]", self.process.stdout)], [], [], 0)
        return bool(readable)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                cast("IO[str]", stream).close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            cast("IO[str]", self.process.stdin).close()
        self.process.wait(timeout=30)
        cast("IO[str]", self.process.stdout).close()


@dataclass
class CrashFigures:
    runs: int = 0
    kills: int = 0
    double_charges: int = 0
    missing_in_journal: int = 0
    unresolved: int = 0
    over_refunds: int = 0
    disagreements: int = 0
    needs_attention: int = 0
    integrity_failures: int = 0
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "problems"} | {
            "problems": self.problems[:5]
        }


class CrashBattery:
    def __init__(self, sandbox: StandaloneSandbox, journal_path: Path) -> None:
        self.sandbox = sandbox
        self.journal_path = journal_path
        self.journal = JournalStore.open(journal_path)
        self.till: Till | None = None

    def close(self) -> None:
        if self.till is not None:
            self.till.close()
        self.journal.close()

    def _fresh_till(self) -> Till:
        if self.till is None:
            self.till = Till(self.journal_path, self.sandbox.control)
        return self.till

    def _kill(self, figures: CrashFigures) -> None:
        assert self.till is not None
        self.till.kill()
        self.till = None
        figures.kills += 1

    async def run(self, count: int, only: set[str] | None = None) -> CrashFigures:
        """``count`` runs over every (operation, kill point); ``only`` limits the operations
        (``provider:name``)."""
        figures = CrashFigures()
        async with Battery(cast("SandboxServer", self.sandbox), self.journal) as battery:
            ops = [op for op in battery.all_operations() if only is None or str(op) in only]
            plan = [(op, point) for op in ops for point in KILL_POINTS]
            for index in range(count):
                op, point = plan[index % len(plan)]
                reference = await self._one(battery, op, point, index, figures)
                await self._check(battery, reference, figures)
        return figures

    async def _one(
        self, battery: Battery, op: Operation, point: str, index: int, figures: CrashFigures
    ) -> str:
        if op.provider == "recharge":
            # Let ReCharge's rate-limit bucket drain (on the sandbox clock): a 429 would be
            # answered in place of the charge the kill point is waiting for.
            await sandbox_time(self.sandbox.control)(30)
        reference, source = await battery._set_up(op)
        before = self.journal.count_payments()
        till = self._fresh_till()
        command: dict[str, Any] = {
            "do": "op",
            "op": [op.provider, op.name, op.path],
            "reference": reference,
            "token": source.value if source else None,
            "kill_at": None if point == "in_flight" else point,
        }
        figures.runs += 1
        if point == "in_flight":
            self._in_flight(op, till, command, reference, figures)
        else:
            till.send(command)
            answer = till.answer()
            assert answer.get("at") == point, answer
            self._kill(figures)
        if reference is None:
            assert self.journal.count_payments() == before + 1
            reference = self.journal.page_payments(offset=0, limit=1)[0].reference
        self._check_integrity(figures)
        # Restart; every other time, die again while reconciling.
        if index % 2 and self.journal.unresolved_intents():
            self._fresh_till().send({"do": "reconcile", "kill_at": "reconcile"})
            answer = self._fresh_till().answer()
            if "at" in answer:
                self._kill(figures)
        self._fresh_till().send({"do": "reconcile"})
        assert "done" in self._fresh_till().answer()
        return reference

    def _in_flight(
        self,
        op: Operation,
        till: Till,
        command: dict[str, Any],
        reference: str | None,
        figures: CrashFigures,
    ) -> None:
        hold = _HOLDS.get(op.provider)
        control = f"{self.sandbox.base_url}/_sandbox"
        token = self.sandbox.control.headers
        sales_before = self.journal.count_payments()
        if hold is not None:  # held after its key is claimed: lands once released
            httpx.post(
                f"{control}/{hold}/hold-requests", json={"enabled": True}, timeout=30, headers=token
            )
            till.send(command)
            parked = httpx.post(
                f"{control}/{hold}/held-requests/wait",
                json={"count": 1, "timeout": 20},
                timeout=30,
                headers=token,
            )
            assert parked.status_code == 200, parked.text
            self._kill(figures)
            before = provider_truth.fingerprint(self.sandbox.state_dir, reference or "")
            httpx.post(
                f"{control}/{hold}/hold-requests",
                json={"enabled": False},
                timeout=30,
                headers=token,
            )
            if reference is not None:
                self._wait_for_change(reference, before)
            else:
                self._wait_for_new_sale(sales_before)
            return
        # Keyless: applied, and the answer never comes; killed once the provider has it.
        add_fault(
            cast("SandboxServer", self.sandbox),
            kind="drop_response",
            method="POST",
            path=op.path,
            times=1,
        )
        before = provider_truth.fingerprint(self.sandbox.state_dir, reference or "")
        till.send(command)
        try:
            if reference is not None:
                self._wait_for_change(reference, before, till)
            else:
                self._wait_for_new_sale(sales_before)
        finally:
            self._kill(figures)
            httpx.delete(f"{control}/faults", timeout=30)

    def _wait_for_change(self, reference: str, before: str, till: Till | None = None) -> None:
        """Until the provider's objects for ``reference`` change, or the till answered (the
        provider refused, so nothing will land: it is killed after its answer instead)."""
        deadline = time.monotonic() + _ANSWER_DEADLINE
        while provider_truth.fingerprint(self.sandbox.state_dir, reference) == before:
            if till is not None and till.answered():
                return
            assert time.monotonic() < deadline, f"nothing landed for {reference}"
            time.sleep(0.01)

    def _wait_for_new_sale(self, sales_before: int) -> None:
        """A new sale's reference is not known here yet: wait for the journal's newest to
        reach the provider."""
        deadline = time.monotonic() + _ANSWER_DEADLINE
        while True:
            if self.journal.count_payments() > sales_before:
                newest = self.journal.page_payments(offset=0, limit=1)[0].reference
                if provider_truth.sale_objects(self.sandbox.state_dir, newest):
                    return
            assert time.monotonic() < deadline, "the sale never reached the provider"
            time.sleep(0.01)

    def _check_integrity(self, figures: CrashFigures) -> None:
        with contextlib.closing(sqlite3.connect(self.journal_path)) as db:
            if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                figures.integrity_failures += 1

    async def _check(self, battery: Battery, reference: str, figures: CrashFigures) -> None:
        payment = self.journal.get(reference)
        assert payment is not None
        clean = battery.clean[payment.provider].provider
        held = await provider_truth.held_for(clean, self.sandbox.state_dir, reference)
        problems = judge(payment, held, self.journal)
        figures.double_charges += "duplicate" in problems
        figures.missing_in_journal += "missing_in_journal" in problems
        figures.over_refunds += "over_refund" in problems
        figures.disagreements += "disagreement" in problems
        figures.unresolved += "unresolved" in problems
        figures.needs_attention += bool(payment.attention)
        figures.problems += [f"{reference} ({payment.provider}): {p}" for p in problems.values()]


def run_crash_battery(state: Path, count: int, only: set[str] | None = None) -> CrashFigures:
    with StandaloneSandbox(state / "sandbox-state") as sandbox:
        battery = CrashBattery(sandbox, state / "journal.sqlite3")
        try:
            return asyncio.run(battery.run(count, only))
        finally:
            battery.close()
