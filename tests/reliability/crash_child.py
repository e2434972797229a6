"""A till in its own process, for the crash battery to SIGKILL at chosen points.

Run as ``python -m tests.reliability.crash_child JOURNAL SANDBOX_URL TOKEN``. Reads one JSON command
per line on stdin and answers one JSON line on stdout:

* ``{"do": "op", "op": [provider, name, path], "reference": ..., "token": ..., "kill_at": ...}``
  runs one operation through PaymentService; answers ``{"done": outcome}``;
* ``{"do": "reconcile", "kill_at": ...}`` runs start-up reconciliation; answers ``{"done": ...}``.

At the named kill point the till says ``{"at": point}`` and stops dead, waiting to be killed:
``before_intent`` / ``after_intent`` (around writing the intent), ``after_apply`` (the provider
answered, the outcome is not yet written), ``reconcile`` (reconciliation about to record what
it found).
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path
from typing import Any

from pos_app.journal.db import connect
from pos_app.journal.store import Intent, IntentOutcome, JournalStore
from pos_app.platform.log import configure_logging
from pos_app.providers.types import PaymentSource, SourceKind
from pos_app.services.payments import OperationFailed, PaymentRefused, PaymentService
from pos_sandbox.control import SandboxControl
from tests.reliability.network import Operation, perform
from tests.reliability.tills import build

PROVIDERS = ("justifi", "checkout_com", "recharge", "payfect")
# Set by benchmarks/reliability.py: log at DEBUG to this file, through the app's handler.
DEBUG_LOG_ENV = "POS_RELIABILITY_DEBUG_LOG"


def say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def halt(point: str) -> None:
    """Announce the kill point, then wait for the SIGKILL that is coming."""
    say({"at": point})
    threading.Event().wait()


class HookedJournal(JournalStore):
    """The real journal, stopping dead at the kill point it is given."""

    kill_at: str | None = None

    def begin_intent(self, reference: str, **kwargs: Any) -> Intent:
        if self.kill_at == "before_intent":
            halt("before_intent")
        intent = super().begin_intent(reference, **kwargs)
        if self.kill_at == "after_intent":
            halt("after_intent")
        return intent

    def finish_intent(self, intent_id: int, outcome: IntentOutcome, **kwargs: Any) -> None:
        if self.kill_at in ("after_apply", "reconcile"):
            halt(self.kill_at)
        super().finish_intent(intent_id, outcome, **kwargs)


async def serve(journal: HookedJournal, sandbox: SandboxControl) -> None:
    built = {name: build(name, sandbox.base_url, sandbox=sandbox) for name in PROVIDERS}
    service = PaymentService(journal, {name: b.provider for name, b in built.items()})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            journal.kill_at = command.get("kill_at")
            if command["do"] == "reconcile":
                report = await service.reconcile()
                say(
                    {
                        "done": {
                            "resolved": len(report.resolved),
                            "attention": len(report.needs_attention),
                        }
                    }
                )
                continue
            op = Operation(*command["op"])
            token = command.get("token")
            source = PaymentSource(SourceKind.TOKEN, token) if token else None
            try:
                payment = await perform(service, op, command.get("reference"), source)
                say({"done": f"ok:{payment.state.value}", "reference": payment.reference})
            except OperationFailed as failure:
                say({"done": "failed", "reference": failure.payment.reference})
            except PaymentRefused as refusal:
                say({"done": f"refused:{refusal}", "reference": command.get("reference")})
    finally:
        for b in built.values():
            await b.provider.aclose()


def debug_log(log_file: Path) -> logging.Handler:
    """The app's own log handler at DEBUG, never rotated, so the scan reads every line."""
    handler = configure_logging(log_file, logging.DEBUG)
    if isinstance(handler, logging.handlers.RotatingFileHandler):
        handler.maxBytes = 0
    return handler


def main() -> None:
    log_file = os.environ.get(DEBUG_LOG_ENV)
    if log_file:  # the benchmark scans what the till logs for secrets
        debug_log(Path(log_file))
    else:
        logging.disable(logging.CRITICAL)
    journal = HookedJournal(connect(Path(sys.argv[1])))
    asyncio.run(serve(journal, SandboxControl(sys.argv[2], sys.argv[3])))


if __name__ == "__main__":
    main()
