"""The card-reader screen in the main window (F8), against the sandbox: the simulated reader's
paths end in a journaled card-reader payment or in nothing charged; a profile whose provider
has no card-present payments says so with an empty reader list."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from pos_app.bootstrap.reader_setup import build_reader
from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import amount_limits, build_provider
from pos_app.config.settings import ProviderProfile, sandbox_profile
from pos_app.domain.payment import PaymentState
from pos_app.gui.main_window import MainWindow
from pos_app.gui.messages import DECLINE_MESSAGES
from pos_app.gui.tasks import TaskRunner
from pos_app.journal.store import JournalStore, PaymentRecord
from pos_app.providers.types import DeclineCode
from pos_app.services.payments import PaymentService
from pos_app.services.reader import Gesture, ReaderState
from pos_sandbox.server import SandboxServer
from tests.conformance.harness import add_fault, count_objects
from tests.gui.bridging import bridged

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.gui.screens.card_reader import CardReaderScreen
    from pos_app.providers.base import PaymentProvider

WAIT_MS = 20_000


class Till:
    """The main window selling through one profile, with the reader reader_setup builds."""

    def __init__(
        self, qtbot: QtBot, tmp_path: Path, sandbox: SandboxServer, profile: ProviderProfile
    ) -> None:
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.journal = JournalStore.open(tmp_path / "journal.sqlite3")
        self.tasks = TaskRunner()
        self.provider: PaymentProvider = build_provider(
            profile,
            secret=None if profile.is_sandbox else "sk_live_not_used_here",
            sandbox_url=sandbox.base_url,
            sandbox_credentials=sandbox_credentials(),
        )
        # Each payment records its profile's environment, as the app's composition root does.
        payments = PaymentService(
            self.journal,
            {profile.name: self.provider},
            environments=lambda name: profile.environment if name == profile.name else None,
        )
        queries, events = bridged(self.journal)
        self.window = MainWindow(
            queries=queries,
            events=events,
            limits=amount_limits(profile),
            locale="en_US",
            profile_name=profile.name,
            provider_name=profile.provider_name,
            sandbox=profile.is_sandbox,
            store_name="Corner Bakery",
            tasks=self.tasks,
        )
        qtbot.addWidget(self.window)
        self.window.resize(1280, 800)
        self.window.provider_ready(
            payments,
            profile.name,
            "Connected",
            card_form=False,
        )
        self.window.set_reader(
            build_reader(
                profile,
                self.provider,
                sandbox_url=sandbox.base_url,
                credentials=sandbox_credentials(),
            )
        )
        self.window.show()
        self.window.activateWindow()  # shortcuts (F8, Esc, Enter) go to the active window
        qtbot.waitUntil(self.window.isActiveWindow)

    @property
    def screen(self) -> CardReaderScreen:
        return self.window.card_reader

    def sell_by_reader(self, amount: str = "8.99", description: str = "Flat white") -> None:
        cashier = self.window.cashier
        QTest.keyClicks(cashier.amount_field, amount)
        QTest.keyClicks(cashier.description_field, description)
        QTest.keyClick(cashier, Qt.Key.Key_F8)
        assert self.window.stack.currentWidget() is self.screen

    def wait_for_card(self) -> None:
        reader = self.screen.reader
        assert reader is not None
        self.qtbot.waitUntil(
            lambda: reader.status.state is ReaderState.WAITING_FOR_CARD, timeout=WAIT_MS
        )

    def customer_does(self, gesture: Gesture) -> None:
        self.wait_for_card()
        self.screen.gesture_buttons[gesture].click()

    def wait_for_result(self) -> None:
        self.qtbot.waitUntil(
            lambda: self.screen.stack.currentWidget() is self.screen.result, timeout=WAIT_MS
        )

    def wait_for_status(self, text: str) -> None:
        self.qtbot.waitUntil(lambda: text in self.screen.status_label.text(), timeout=WAIT_MS)

    def only_payment(self) -> PaymentRecord:
        assert self.journal.count_payments() == 1
        reference = self.screen.result.reference.text().split()[-1]
        payment = self.journal.get(reference)
        assert payment is not None
        return payment

    def close(self) -> None:
        self.window.shutdown()
        self.tasks.cancel_all()
        done = asyncio.ensure_future(self.provider.aclose())
        self.qtbot.waitUntil(done.done, timeout=WAIT_MS)
        self.journal.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox-state") as server:
        yield server


def open_till(
    qtbot: QtBot, tmp_path: Path, sandbox: SandboxServer, profile: ProviderProfile
) -> Iterator[Till]:
    till = Till(qtbot, tmp_path, sandbox, profile)
    yield till
    till.close()


@pytest.fixture
def justifi(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    sandbox: SandboxServer,
) -> Iterator[Till]:
    yield from open_till(qtbot, tmp_path, sandbox, sandbox_profile("justifi"))


@pytest.mark.parametrize("gesture", [Gesture.TAP, Gesture.INSERT])
def test_a_tapped_or_inserted_card_is_approved_and_journaled_as_a_card_reader_sale(
    justifi: Till, gesture: Gesture
) -> None:
    justifi.sell_by_reader("8.99", "Flat white")
    screen = justifi.screen
    justifi.wait_for_card()
    assert screen.amount_label.text() == "$8.99"  # what the customer sees
    assert screen.status_label.text() == "Present, tap or insert the card"
    assert screen.countdown_label.text() == "Waiting for the card: 1:30 left"
    assert [screen.reader_list.item(i).text() for i in range(screen.reader_list.count())] == [
        "Sandbox reader"
    ]
    justifi.customer_does(gesture)
    justifi.wait_for_result()
    assert screen.result.title.text() == "Approved"
    assert screen.result.detail.text() == "Paid by Visa •••• 4242 at the card reader."
    assert screen.result.training.isVisible()  # the sandbox reader: practice, no real money
    assert screen.result.training.text().startswith("TRAINING")
    payment = justifi.only_payment()
    assert (payment.state, payment.method, payment.amount.minor, payment.environment) == (
        PaymentState.CAPTURED,
        "card_reader",
        899,
        "sandbox",
    )
    assert count_objects(justifi.sandbox, "payment") == 1
    QTest.keyClick(screen, Qt.Key.Key_Return)  # New sale
    assert justifi.window.stack.currentWidget() is justifi.window.cashier
    assert justifi.window.cashier.amount_field.text() == ""


def test_a_declining_card_ends_declined_in_the_journal_too(justifi: Till) -> None:
    justifi.sell_by_reader()
    justifi.customer_does(Gesture.DECLINING_CARD)
    justifi.wait_for_result()
    assert justifi.screen.result.title.text() == "Declined"
    assert justifi.screen.result.detail.text() == DECLINE_MESSAGES[DeclineCode.DECLINED]
    payment = justifi.only_payment()
    assert (payment.state, payment.method) == (PaymentState.DECLINED, "card_reader")


def test_a_card_removed_too_soon_charges_nothing_and_the_cashier_can_try_again(
    justifi: Till,
) -> None:
    justifi.sell_by_reader()
    screen = justifi.screen
    justifi.customer_does(Gesture.REMOVE_EARLY)
    justifi.wait_for_status("The card was removed too soon.")
    assert "Nothing was charged." in screen.status_label.text()
    assert screen.retry_button.isVisible()
    assert screen.back_button.isVisible()
    assert not screen.cancel_button.isVisible()
    assert justifi.journal.count_payments() == 0
    QTest.keyClick(screen, Qt.Key.Key_Return)  # Try again
    justifi.customer_does(Gesture.TAP)
    justifi.wait_for_result()
    assert screen.result.title.text() == "Approved"
    assert justifi.only_payment().state is PaymentState.CAPTURED


def test_no_card_in_time_times_out_with_nothing_charged_anywhere(justifi: Till) -> None:
    justifi.screen.read_timeout_s = 0.3  # the 90 s wait, shortened
    justifi.sell_by_reader()
    justifi.wait_for_status("No card was presented in time. Nothing was charged.")
    screen = justifi.screen
    assert not any(button.isEnabled() for button in screen.gesture_buttons.values())
    assert screen.countdown_label.text() == ""
    assert justifi.journal.count_payments() == 0
    assert count_objects(justifi.sandbox, "payment") == 0


def test_cancel_gives_up_the_read_and_going_back_keeps_the_sale(justifi: Till) -> None:
    justifi.sell_by_reader("12.50", "Sourdough loaf")
    screen = justifi.screen
    justifi.wait_for_card()
    QTest.keyClick(screen, Qt.Key.Key_Escape)
    justifi.wait_for_status("Cancelled. Nothing was charged.")
    screen.gesture_buttons[Gesture.TAP].click()  # too late: the reader stopped waiting
    QTest.keyClick(justifi.window, Qt.Key.Key_F1)  # the Cashier: back to the sale
    cashier = justifi.window.cashier
    justifi.qtbot.waitUntil(lambda: justifi.window.stack.currentWidget() is cashier)
    assert not justifi.window.selling
    assert (cashier.amount_field.text(), cashier.description_field.text()) == (
        "12.50",
        "Sourdough loaf",
    )
    assert justifi.journal.count_payments() == 0
    assert count_objects(justifi.sandbox, "payment") == 0


@pytest.mark.parametrize(
    ("profile", "provider_name"),
    [
        (
            ProviderProfile(
                name="High street",
                provider="checkout_com",
                environment="live",
                currency="USD",
                processing_channel_id="pc_livechannel000000000000",
            ),
            "Checkout.com",
        ),
        (sandbox_profile("payfect"), "Payfect"),
    ],
    ids=["live-checkout-com", "sandbox-payfect"],
)
def test_a_provider_without_card_present_payments_says_so_with_no_readers(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    sandbox: SandboxServer,
    profile: ProviderProfile,
    provider_name: str,
) -> None:
    for till in open_till(qtbot, tmp_path, sandbox, profile):
        till.sell_by_reader("3.00", "Espresso")
        screen = till.screen
        sentence = f"Card reader payments are not yet available for {provider_name}."
        assert screen.reader_list.count() == 0
        assert screen.notice_label.text() == sentence
        assert screen.status_label.text().startswith(sentence)
        assert screen.practice.isHidden()
        assert screen.back_button.isVisible()
        QTest.keyClick(screen, Qt.Key.Key_Return)  # Back to sale
        assert till.window.stack.currentWidget() is till.window.cashier
        assert till.journal.count_payments() == 0


def test_esc_while_the_card_is_being_charged_waits_for_the_answer(justifi: Till) -> None:
    add_fault(justifi.sandbox, kind="latency", latency_ms=800, path="/justifi/v1/payments")
    justifi.sell_by_reader()
    screen = justifi.screen
    justifi.customer_does(Gesture.TAP)
    reader = screen.reader
    assert reader is not None
    justifi.qtbot.waitUntil(lambda: reader.status.state is ReaderState.PROCESSING, timeout=WAIT_MS)
    QTest.keyClick(screen, Qt.Key.Key_Escape)
    assert screen.status_label.text().startswith("The card is being charged: wait")
    justifi.wait_for_result()
    assert screen.result.title.text() == "Approved"
    assert justifi.only_payment().state is PaymentState.CAPTURED


def test_a_charge_without_an_answer_is_saved_for_checking_and_the_sale_kept(
    justifi: Till,
) -> None:
    add_fault(justifi.sandbox, kind="status", status=503, path="/justifi/v1/payments", times=20)
    justifi.sell_by_reader("4.20", "Tea")
    screen = justifi.screen
    justifi.customer_does(Gesture.TAP)
    justifi.wait_for_result()
    assert screen.result.title.text() == "Payment not confirmed"
    assert screen.result.detail.text().startswith("JustiFi did not answer in time.")
    payment = justifi.only_payment()
    assert (payment.state, payment.method) == (PaymentState.IN_DOUBT, "card_reader")
    assert screen.result.button.text() == "Back to sale  ⏎"
    QTest.keyClick(screen, Qt.Key.Key_Return)
    assert justifi.window.cashier.amount_field.text() == "4.20"  # the sale is still there
