"""The network fault battery: sales, captures, refunds and voids on every provider, each with
one network fault injected on its mutating request, then reconciliation and the checks.

Used at a small size by ``test_network_faults.py`` and at full size by
``benchmarks/reliability.py``. Each operation's set-up runs on a clean client; only the
operation under test meets the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import IntentOutcome, JournalStore, PaymentRecord
from pos_app.providers.types import Capability, PaymentSource
from pos_app.services.payments import OperationFailed, PaymentRefused, PaymentService
from pos_app.services.sale import Sale
from tests.conformance.harness import APPROVED_CARD, HARNESSES, Harness, add_fault, control
from tests.reliability import provider_truth, retry_rule
from tests.reliability.tills import Built, build

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pos_sandbox.server import SandboxServer

SALE = Sale(Money(2050, "USD"), "Reliability battery")
RETURN_URL = "https://pos.invalid/ok"
PART_REFUND = Money(500, "USD")
# Seconds the client waits for a dropped or slow answer. Short, so a thousand cost little;
# under heavy CPU load the provider may still be applying the first attempt when the keyed
# retry arrives (409 in progress), which is the in-flight case of its own fault kind.
SHORT_READ = 0.3
LANDING_DEADLINE = 10.0  # a parked request must land at the provider within this

# Fault kinds, as the issue names them (bursts vary in length with the operation's index).
FAULT_KINDS = (
    "no_fault",  # the control: every operation must simply succeed
    "connection_refused",
    "reset_before_apply",
    "reset_after_apply",
    "response_dropped",
    "latency_beyond_timeout",
    "5xx_burst",
    "429_storm",
    "409_in_flight",
)
_SLOW = frozenset({"response_dropped", "latency_beyond_timeout", "409_in_flight"})
_HOLD_CONTROLS = {
    "justifi": "justifi/hold-requests",
    "checkout_com": "checkout-com/hold-requests",
}


def _fault_body(kind: str, index: int, short_read: float) -> dict[str, Any] | None:
    match kind:
        case "reset_before_apply":
            return {"kind": "reset_before", "times": 1}
        case "reset_after_apply":
            return {"kind": "reset_after", "times": 1}
        case "response_dropped":
            return {"kind": "drop_response", "times": 1}
        case "latency_beyond_timeout":
            return {"kind": "latency", "latency_ms": int(short_read * 3000), "times": 1}
        case "5xx_burst":  # 1 to 5 in a row: some outlast the retries
            return {"kind": "status", "status": 500 + (index % 4), "times": 1 + index % 5}
        case "429_storm":  # 1 to 8 in a row
            return {"kind": "status", "status": 429, "retry_after": 0, "times": 1 + index % 8}
    return None


@dataclass(frozen=True)
class Operation:
    provider: str
    name: str  # charge, capture, refund, void, checkout, pay_checkout
    path: str  # the mutating request's path, as a fault pattern

    def __str__(self) -> str:
        return f"{self.provider}:{self.name}"


def operations(harness: Harness, capabilities: frozenset[Capability]) -> list[Operation]:
    """Every mutating operation the provider offers, with the path the fault aims at."""
    found = [Operation(harness.name, "checkout", harness.create_checkout_path)]
    if Capability.DIRECT_CHARGE not in capabilities:
        return found
    if harness.charge_needs_checkout:
        return [*found, Operation(harness.name, "pay_checkout", harness.charge_path)]
    base = harness.charge_path
    action = {"justifi": ("capture", "refunds", "void")}.get(
        harness.name, ("captures", "refunds", "voids")
    )
    found.append(Operation(harness.name, "charge", base))
    if Capability.AUTHORIZE_CAPTURE in capabilities:
        found.append(Operation(harness.name, "capture", f"{base}/*/{action[0]}"))
    if Capability.REFUND in capabilities:
        found.append(Operation(harness.name, "refund", f"{base}/*/{action[1]}"))
    if Capability.VOID in capabilities:
        found.append(Operation(harness.name, "void", f"{base}/*/{action[2]}"))
    return found


def applies(kind: str, operation: Operation) -> bool:
    """409s come from idempotency keys; keyless providers have none to conflict on."""
    return kind != "409_in_flight" or operation.provider in _HOLD_CONTROLS


@dataclass
class Figures:
    """What one fault kind did to the operations it hit."""

    kind: str
    operations: int = 0
    attempts: int = 0
    longest_run: int = 0
    duplicates: int = 0
    missing_in_journal: int = 0
    over_refunds: int = 0
    disagreements: int = 0  # journal and provider differ, and nobody is told
    unresolved: int = 0  # intents left without an outcome and without an attention note
    verified: int = 0  # ended in a state a fresh lookup confirms
    in_doubt: int = 0  # ended in doubt (or contested), shown as "needs attention" with a reason
    retry_rule_breaches: list[str] = field(default_factory=list)
    setup_failures: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        return self.verified + self.in_doubt

    def as_json(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "attempts_per_operation": round(self.attempts / max(self.operations, 1), 2),
            "longest_retry_run": self.longest_run,
            "retry_rule_breaches": len(self.retry_rule_breaches),
            "setup_failures": len(self.setup_failures),
            "duplicates": self.duplicates,
            "missing_in_journal": self.missing_in_journal,
            "over_refunds": self.over_refunds,
            "disagreements": self.disagreements,
            "unresolved": self.unresolved,
            "verified_final": self.verified,
            "in_doubt_with_reason": self.in_doubt,
            "accounted_pct": round(100 * self.accounted / max(self.operations, 1), 2),
            "outcomes": dict(self.outcomes),
        }


def dead_base_url() -> str:
    """A loopback address nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Battery:
    """One sandbox, one journal, a clean adapter per provider; faults on one operation at a time."""

    def __init__(
        self, sandbox: SandboxServer, journal: JournalStore, *, short_read: float = SHORT_READ
    ) -> None:
        self.sandbox = sandbox
        self.journal = journal
        self.short_read = short_read
        self.harnesses = {h.name: h for h in HARNESSES}
        self.clean: dict[str, Built] = {}

    async def __aenter__(self) -> Battery:
        for name in self.harnesses:
            self.clean[name] = build(name, self.sandbox.base_url, sandbox=self.sandbox.control)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for built in self.clean.values():
            await built.provider.aclose()

    def all_operations(self) -> list[Operation]:
        return [
            op
            for name, harness in self.harnesses.items()
            for op in operations(harness, self.clean[name].provider.capabilities)
        ]

    def operations_for(self, kind: str) -> list[Operation]:
        return [op for op in self.all_operations() if applies(kind, op)]

    def service(self, provider: str, built: Built | None = None) -> PaymentService:
        """A till whose profile is named after the provider (one profile per provider)."""
        return PaymentService(self.journal, {provider: (built or self.clean[provider]).provider})

    async def run(self, kind: str, count: int) -> Figures:
        """``count`` operations under fault ``kind``, round-robin over every provider's."""
        ops = self.operations_for(kind)
        figures = Figures(kind)
        references: list[str] = []
        for index in range(count):
            reference = await self._one(kind, ops[index % len(ops)], index, figures)
            if reference is not None:
                references.append(reference)
        await self._reconcile()
        for reference in references:
            await self._check(reference, figures)
        return figures

    async def _one(self, kind: str, op: Operation, index: int, figures: Figures) -> str | None:
        try:
            reference, source = await self._set_up(op)
        except (OperationFailed, PaymentRefused, AssertionError) as error:
            # Set-up runs without faults; a failure there is the battery's own problem.
            figures.setup_failures.append(f"{op}: {error!r}")
            return None
        base = dead_base_url() if kind == "connection_refused" else self.sandbox.base_url
        faulty = build(
            op.provider,
            base,
            read_timeout=self.short_read if kind in _SLOW else 10.0,
            sandbox=self.sandbox.control,
        )
        service = self.service(op.provider, faulty)
        try:
            with self._armed(kind, op, index) as parked:
                before = provider_truth.fingerprint(self.sandbox.state_dir, reference or "-")
                outcome, reference = await self._act(service, op, reference, source)
            if any(parked):
                self._wait_for_landing(reference, before)
        finally:
            await faulty.provider.aclose()
        attempts = faulty.transport.attempts
        figures.operations += 1
        figures.attempts += len(attempts)
        figures.longest_run = max(figures.longest_run, retry_rule.longest_run(attempts))
        figures.retry_rule_breaches += [f"{op}: {v}" for v in retry_rule.violations(attempts)]
        figures.outcomes[f"{op} {outcome}"] += 1
        return reference

    async def _set_up(self, op: Operation) -> tuple[str | None, PaymentSource | None]:
        """Bring the payment to where the operation starts: (its reference, None for a new
        sale; the card the operation pays with, made before any fault is armed)."""
        service = self.service(op.provider)
        harness = self.harnesses[op.provider]
        make = harness.card_source
        if op.name == "checkout":
            return None, None
        assert make is not None
        if op.name == "charge":
            return None, make(self.sandbox, APPROVED_CARD)
        if op.name == "pay_checkout":
            opened = await service.open_checkout(op.provider, SALE, success_url=RETURN_URL)
            return opened.payment.reference, make(self.sandbox, APPROVED_CARD)
        source = make(self.sandbox, APPROVED_CARD)
        held = await service.charge(op.provider, SALE, source, capture=op.name == "refund")
        assert held.state in (PaymentState.AUTHORIZED, PaymentState.CAPTURED), held
        return held.reference, None

    async def _act(
        self,
        service: PaymentService,
        op: Operation,
        reference: str | None,
        source: PaymentSource | None,
    ) -> tuple[str, str]:
        """Runs the operation; (how it ended for the cashier, the payment's reference)."""
        try:
            payment = await perform(service, op, reference, source)
        except OperationFailed as failure:
            return f"failed:{type(failure.error).__name__}", failure.payment.reference
        except PaymentRefused as refusal:  # a guard: only right if the journal is in doubt
            assert reference is not None, refusal  # noqa: PT017 - a harness, not a raises
            return "refused", reference
        return f"ok:{payment.state.value}", payment.reference

    @contextlib.contextmanager
    def _armed(self, kind: str, op: Operation, index: int) -> Iterator[list[int]]:
        """Arms the fault; yields a list that holds, once disarmed, how many requests the
        provider had parked (they land after the release)."""
        body = _fault_body(kind, index, self.short_read)
        hold = _HOLD_CONTROLS.get(op.provider) if kind == "409_in_flight" else None
        parked: list[int] = []
        if body is not None:
            add_fault(self.sandbox, method="POST", path=op.path, **body)
        if hold is not None:
            control(self.sandbox, hold, {"enabled": True})
        try:
            yield parked
        finally:
            if hold is not None:
                parked.append(int(control(self.sandbox, hold, {"enabled": False}).json()["parked"]))
            self.sandbox.control.request("DELETE", "faults", timeout=30)

    def _wait_for_landing(self, reference: str, before: str) -> None:
        """A request parked at the provider lands later: wait until the provider shows it."""
        deadline = time.monotonic() + LANDING_DEADLINE
        while provider_truth.fingerprint(self.sandbox.state_dir, reference) == before:
            assert time.monotonic() < deadline, f"the parked request for {reference} never landed"
            time.sleep(0.01)

    async def _reconcile(self) -> None:
        clean = {name: built.provider for name, built in self.clean.items()}
        await PaymentService(self.journal, clean).reconcile()

    async def _check(self, reference: str, figures: Figures) -> None:
        payment = self.journal.get(reference)
        assert payment is not None, reference
        clean = self.clean[payment.provider].provider
        held = await provider_truth.held_for(clean, self.sandbox.state_dir, reference)
        problems = judge(payment, held, self.journal)
        figures.duplicates += "duplicate" in problems
        figures.missing_in_journal += "missing_in_journal" in problems
        figures.over_refunds += "over_refund" in problems
        figures.disagreements += "disagreement" in problems
        figures.unresolved += "unresolved" in problems
        if not problems and payment.state is PaymentState.IN_DOUBT:
            figures.in_doubt += 1  # awaiting a lookup, with the reason shown to a person
        elif not problems:
            figures.verified += 1
        figures.problems += [f"{reference} ({payment.provider}): {p}" for p in problems.values()]


def judge(
    payment: PaymentRecord, held: list[provider_truth.Held], journal: JournalStore
) -> dict[str, str]:
    """What is wrong between the journal's record and the provider's objects, by kind."""
    problems: dict[str, str] = {}
    if len(held) > 1:
        problems["duplicate"] = f"{len(held)} sale objects at the provider: {held}"
    money = [h for h in held if h.takes_money]
    told = bool(payment.attention)
    if money and payment.state not in provider_truth.MONEY_STATES and not told:
        problems["missing_in_journal"] = (
            f"provider holds money ({money[0].state.value}) but the journal says "
            f"{payment.state.value} with no attention note"
        )
    captured = sum(h.captured for h in held)
    refunded = sum(h.refunded for h in held)
    if refunded > captured or payment.refunded_minor > payment.captured_minor:
        problems["over_refund"] = f"refunded {refunded} of {captured} captured"
    if captured > payment.amount.minor:
        problems["duplicate"] = f"captured {captured} for a sale of {payment.amount.minor}"
    if held and not told and payment.state is not PaymentState.IN_DOUBT:
        truth = held[0]
        if (truth.state, truth.captured, truth.refunded) != (
            payment.state,
            payment.captured_minor,
            payment.refunded_minor,
        ) and truth.kind in provider_truth.PAYMENT_KINDS:
            problems["disagreement"] = (
                f"provider {truth.state.value} {truth.captured}/{truth.refunded}, journal "
                f"{payment.state.value} {payment.captured_minor}/{payment.refunded_minor}"
            )
    open_intents = [
        i
        for i in journal.intents_for(payment.reference)
        if i.outcome in (None, IntentOutcome.UNKNOWN)
    ]
    if open_intents and not told:
        problems["unresolved"] = f"{len(open_intents)} intents without outcome or attention note"
    return problems


async def perform(
    service: PaymentService,
    op: Operation,
    reference: str | None,
    source: PaymentSource | None,
) -> PaymentRecord:
    """The operation itself, as the cashier's button runs it."""
    if op.name == "checkout":
        return (await service.open_checkout(op.provider, SALE, success_url=RETURN_URL)).payment
    if op.name == "charge":
        assert source is not None
        return await service.charge(op.provider, SALE, source)
    assert reference is not None
    if op.name == "pay_checkout":
        assert source is not None
        return await service.complete_checkout(reference, source)
    if op.name == "capture":
        return await service.capture(reference)
    if op.name == "refund":
        caps = service.provider_for(op.provider).capabilities
        amount = PART_REFUND if Capability.PARTIAL_REFUND in caps else SALE.amount
        return await service.refund(reference, amount, "Battery")
    return await service.void(reference, "Battery")


def run_battery(
    sandbox: SandboxServer,
    journal: JournalStore,
    kinds: tuple[str, ...],
    count: int,
    progress: Callable[[Figures], None] = lambda _: None,
) -> list[Figures]:
    async def go() -> list[Figures]:
        results = []
        async with Battery(sandbox, journal) as battery:
            for kind in kinds:
                figures = await battery.run(kind, count)
                progress(figures)
                results.append(figures)
        return results

    return asyncio.run(go())
