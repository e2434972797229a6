"""Lookups held against the sale: provider answers that are not the sale's never become money.

Two batteries, shared by ``tests/reliability/test_lookup_tampering.py`` (small) and
``benchmarks/reliability.py --only lookups`` (all cases):

* tampering — for every provider and every way its customer pays on a page (hosted, link), a
  checkout is opened and paid with an approving card, then every lookup of it is answered
  with one field changed (the sandbox's ``tamper`` fault): the amount one minor unit more or
  less or a hundred times more, another currency, another sale's reference, no reference;
  and, where the provider has an API for it (JustiFi's ``PATCH /v1/checkouts/{id}``), the
  amount really changed at the provider before the customer paid. The till must not record
  it as paid and must flag it for a person.
* paid after a decline — the customer's first card is declined, the cashier ends the sale
  there, then the customer pays on the same checkout anyway (the page still takes a card);
  reconciliation must flag it. (While the sale is open, another card on the same page is
  the sale's own payment: tests/conformance/test_checkouts.py.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.errors import ProviderError
from pos_app.services.outcomes import flagged_answer
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_sandbox.server import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_SUB_ACCOUNT,
    SandboxServer,
)
from tests.conformance.harness import APPROVED_CARD, HARNESSES, Harness, add_fault, control

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SALE = Sale(Money(2050, "USD"), "Two croissants")
PROFILE = "Till"
OTHER_REFERENCE = "S-20261122-OTHER1"
_MONEY_RECORDED = frozenset(
    {PaymentState.AUTHORIZED, PaymentState.CAPTURED, PaymentState.PARTIALLY_CAPTURED}
)


@dataclass(frozen=True)
class Fields:
    """Where one provider's lookup answer carries the sale's figures."""

    lookup_path: str  # fnmatch pattern of the GET whose answer decides once paid
    amount: str
    currency: str
    reference: str
    # The sale's amount written as this provider writes it, scaled by a number of minor units.
    amount_as: Callable[[int], Any]
    other_currency: str
    reference_as: Callable[[str | None], Any] = lambda ref: ref


def _decimal(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _recharge_reference(reference: str | None) -> Any:
    return [{"name": "pos_reference", "value": reference}] if reference else []


FIELDS = {
    "justifi": Fields(
        "/justifi/v1/checkouts/*",
        "data.payment_amount",
        "data.payment_currency",
        "data.metadata.pos_reference",
        lambda minor: minor,
        "cad",
    ),
    # A paid page's lookup reads the payment made on it: its figures decide.
    "checkout_com": Fields(
        "/checkout-com/payments/pay_*",
        "amount",
        "currency",
        "reference",
        lambda minor: minor,
        "EUR",
    ),
    "recharge": Fields(
        "/recharge/checkouts/*",
        "checkout.total_price",
        "checkout.currency",
        "checkout.order_attributes",
        _decimal,
        "EUR",
        _recharge_reference,
    ),
    "payfect": Fields(
        "/payfect/api/v1/checkouts/*",
        "amountTotal",
        "currency",
        "clientReferenceId",
        _decimal,
        "usdc",
    ),
}


@dataclass(frozen=True)
class Case:
    provider: str
    method: PaymentMethod
    name: str
    tamper: dict[str, Any] | None  # the sandbox fault; None: changed at the provider instead

    def __str__(self) -> str:
        return f"{self.provider}-{self.method.value}-{self.name}"


def _methods(harness: Harness) -> list[PaymentMethod]:
    provider = harness.build("http://127.0.0.1:9")  # never called: capabilities only
    methods = [PaymentMethod.HOSTED_CHECKOUT]
    if "pay_by_link" in {c.value for c in provider.capabilities}:
        methods.append(PaymentMethod.PAY_BY_LINK)
    asyncio.run(provider.aclose())
    return methods


def tampering_cases() -> list[Case]:
    cases: list[Case] = []
    minor = SALE.amount.minor
    for harness in HARNESSES:
        f = FIELDS[harness.name]
        changes = {
            "amount one minor unit more": (f.amount, f.amount_as(minor + 1)),
            "amount one minor unit less": (f.amount, f.amount_as(minor - 1)),
            "amount a hundred times more": (f.amount, f.amount_as(minor * 100)),
            "another currency": (f.currency, f.other_currency),
            "another sale's reference": (f.reference, f.reference_as(OTHER_REFERENCE)),
            "no reference": (f.reference, f.reference_as(None)),
        }
        for method in _methods(harness):
            for name, (target, value) in changes.items():
                fault = {"kind": "tamper", "method": "GET", "path": f.lookup_path}
                cases.append(
                    Case(harness.name, method, name, {**fault, "field": target, "value": value})
                )
            if harness.name == "justifi":
                cases.append(Case(harness.name, method, "amount changed at the provider", None))
    return cases


@dataclass
class Outcome:
    case: str
    state: str
    attention: str | None
    lookup_error: str | None = None

    @property
    def recorded_as_paid(self) -> bool:
        return PaymentState(self.state) in _MONEY_RECORDED

    @property
    def flagged(self) -> bool:
        return flagged_answer(self.attention)


@dataclass
class Figures:
    outcomes: list[Outcome] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        wrong = [o.case for o in self.outcomes if o.recorded_as_paid]
        unflagged = [o.case for o in self.outcomes if not o.flagged]
        return {
            "lookup_tampering_cases": len(self.outcomes),
            "recorded_as_paid_wrongly": len(wrong),
            "flagged": sum(o.flagged for o in self.outcomes),
            "not_flagged": unflagged[:10],
            "recorded_as_paid": wrong[:10],
        }


def _harness(name: str) -> Harness:
    return next(h for h in HARNESSES if h.name == name)


def _pay(
    sandbox: SandboxServer, harness: Harness, method: PaymentMethod, ref: str, card: str
) -> None:
    if harness.name == "checkout_com" and method is PaymentMethod.PAY_BY_LINK:
        answer = control(sandbox, "checkout-com/pay", {"link_id": ref, "card": card})
    else:
        answer = harness.pay(sandbox, ref, card)
    assert answer.is_success, answer.text


def change_justifi_amount(sandbox: SandboxServer, checkout_id: str, minor: int) -> None:
    """What anyone holding the account's API keys can do to an open checkout."""
    api = f"{sandbox.base_url}/justifi"
    token = httpx.post(
        f"{api}/oauth/token",
        json={"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET},
        timeout=30,
    ).json()["access_token"]
    answer = httpx.patch(
        f"{api}/v1/checkouts/{checkout_id}",
        headers={"Authorization": f"Bearer {token}", "Sub-Account": SANDBOX_SUB_ACCOUNT},
        json={"amount": minor},
        timeout=30,
    )
    assert answer.is_success, answer.text


async def _refresh(service: PaymentService, reference: str) -> tuple[PaymentRecord, str | None]:
    try:
        return await service.refresh(reference), None
    except ProviderError as error:  # an answer that cannot be read: flagged, and said so
        record = service.journal.get(reference)
        assert record is not None
        return record, error.message


def run_tampering_case(sandbox: SandboxServer, journal: JournalStore, case: Case) -> Outcome:
    harness = _harness(case.provider)

    async def go() -> Outcome:
        provider = harness.build(sandbox.base_url)
        service = PaymentService(journal, {PROFILE: provider})
        try:
            opened = await service.open_checkout(
                PROFILE, SALE, method=case.method, success_url="https://pos.invalid/ok"
            )
            ref = opened.session.provider_ref
            if case.tamper is None:
                await asyncio.to_thread(change_justifi_amount, sandbox, ref, 100)
            await asyncio.to_thread(_pay, sandbox, harness, case.method, ref, APPROVED_CARD)
            if case.tamper is not None:
                await asyncio.to_thread(add_fault, sandbox, **{**case.tamper, "times": None})
            payment, error = await _refresh(service, opened.payment.reference)
            return Outcome(str(case), payment.state.value, payment.attention, error)
        finally:
            await asyncio.to_thread(sandbox.control.clear_faults)
            await provider.aclose()

    return asyncio.run(go())


def run_tampering(
    sandbox: SandboxServer, journal: JournalStore, cases: list[Case] | None = None
) -> Figures:
    figures = Figures()
    for case in cases if cases is not None else tampering_cases():
        figures.outcomes.append(run_tampering_case(sandbox, journal, case))
    return figures


# -- paid after a decline -----------------------------------------------------------------


def decline_cases() -> list[Case]:
    """Every way to pay where a declined card leaves the checkout payable."""
    cases = []
    for harness in HARNESSES:
        if harness.declining_card is None:
            continue
        for method in _methods(harness):
            cases.append(Case(harness.name, method, "paid after a decline", None))
    return cases


def run_decline_case(sandbox: SandboxServer, journal: JournalStore, case: Case) -> Outcome:
    harness = _harness(case.provider)
    assert harness.declining_card is not None

    async def go() -> Outcome:
        provider = harness.build(sandbox.base_url)
        service = PaymentService(journal, {PROFILE: provider})
        try:
            opened = await service.open_checkout(
                PROFILE, SALE, method=case.method, success_url="https://pos.invalid/ok"
            )
            ref, reference = opened.session.provider_ref, opened.payment.reference
            await asyncio.to_thread(
                _pay, sandbox, harness, case.method, ref, harness.declining_card
            )
            declined, _ = await _refresh(service, reference)
            assert declined.state is PaymentState.PENDING, str(case)
            assert declined.decline_code, str(case)
            cancelled = await service.cancel_checkout(reference)  # the cashier gives up
            assert cancelled.state is PaymentState.FAILED, (str(case), cancelled.state)
            # The sale is over at the till; the customer pays on the same page anyway.
            await asyncio.to_thread(_pay, sandbox, harness, case.method, ref, APPROVED_CARD)
            await service.reconcile()
            payment = journal.get(reference)
            assert payment is not None
            return Outcome(str(case), payment.state.value, payment.attention)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def run_declines(sandbox: SandboxServer, folder: Path) -> dict[str, Any]:
    """Each case on a journal of its own: reconciliation looks at every open sale in it."""
    outcomes = []
    for number, case in enumerate(decline_cases()):
        journal = JournalStore.open(folder / f"journal-{number}.sqlite3")
        outcomes.append(run_decline_case(sandbox, journal, case))
        journal.close()
    unflagged = [
        o.case for o in outcomes if not (o.attention and "paid after a decline" in o.attention)
    ]
    return {
        "paid_after_decline_cases": len(outcomes),
        "paid_after_decline_unflagged": len(unflagged),
        "unflagged": unflagged[:10],
    }
