"""Checkout.com's risk flag: an approval its rules flagged is never captured on its own; the
payment stays authorized and a person is told, in Checkout.com's words, to capture or void it.

Only Checkout.com reports a risk flag (``risk.flagged``); the sandbox's flagged test card is
its own (Checkout.com publishes none for this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.checkout_com.mapping import RISK_FLAGGED
from pos_sandbox.server import SandboxServer
from tests.conformance.conftest import PROFILE, Till
from tests.conformance.harness import HARNESSES
from tests.conformance.test_checkouts import RETURN_URL, SALE
from tests.conformance.test_payments import capture, charge, refresh

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pos_app.providers.base import PaymentProvider
    from pos_app.services.payments import PaymentService

FLAGGED_CARD = "4000000000009235"


@pytest.fixture
def cko(tmp_path: Path) -> Iterator[Till]:
    harness = next(h for h in HARNESSES if h.name == "checkout_com")
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    with SandboxServer(tmp_path / "sandbox-state") as sandbox:
        yield Till(sandbox, harness, journal)
    journal.close()


def _held(payment: PaymentRecord) -> None:
    assert payment.state is PaymentState.AUTHORIZED
    assert payment.captured.minor == 0
    assert payment.attention == RISK_FLAGGED


def test_a_flagged_page_payment_is_held_for_review_not_captured(cko: Till) -> None:
    async def pay_on_page(service: PaymentService, _: PaymentProvider) -> PaymentRecord:
        opened = await service.open_checkout(PROFILE, SALE, success_url=RETURN_URL)
        paid = cko.harness.pay(cko.sandbox, opened.session.provider_ref, FLAGGED_CARD)
        assert paid.is_success, paid.text
        return await service.refresh(opened.payment.reference)

    payment = cko.run(pay_on_page)
    _held(payment)
    _held(refresh(cko, payment.reference))  # still so on the next lookup, flagged once


def test_a_flagged_charge_is_held_and_a_manager_can_capture_it(cko: Till) -> None:
    payment = charge(cko, FLAGGED_CARD)
    _held(refresh(cko, payment.reference))
    captured = capture(cko, payment.reference)
    assert captured.state is PaymentState.CAPTURED
    assert captured.attention is None  # dealt with: no longer held
