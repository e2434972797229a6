"""Each way to pay on the checkout screen, against the sandbox with the real adapters.

``ScreenTill`` is the checkout screen on its own (the main window's wiring is not under
test here): a real PaymentService over a real adapter, the real journal, the sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import shiboken6

from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.gui.screens.checkout import CheckoutScreen
from pos_app.gui.screens.customer_display import CustomerDisplay
from pos_app.gui.tasks import TaskRunner
from pos_app.gui.webview.view import CheckoutWebView
from pos_app.journal.store import JournalStore
from pos_app.services.payments import PaymentService
from pos_app.services.sale import Sale
from pos_sandbox.server import SandboxServer
from tests.conformance.harness import APPROVED_CARD, HARNESSES, Harness, control
from tests.e2e.conftest import wait_for_js
from tests.gui.bridging import events_for

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Coroutine, Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from pos_app.providers.base import PaymentProvider

T = TypeVar("T")
BUILD = {h.name: h for h in HARNESSES}
RESULT_TIMEOUT_MS = 30_000
# Every sandbox page's button: the card form's Pay, or the crypto page's "I have sent it".
PAGE_READY = "document.querySelector('#pay-button, #received-button') !== null"


class ScreenTill:
    def __init__(
        self, qtbot: QtBot, sandbox: SandboxServer, journal: JournalStore, tmp_path: Path, name: str
    ) -> None:
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.journal = journal
        self.harness: Harness = BUILD[name]
        self.provider: PaymentProvider = self.harness.build(sandbox.base_url)
        self.service = PaymentService(journal, {"Till": self.provider})
        self.tasks = TaskRunner()
        self.screen = CheckoutScreen(locale="en_US", tasks=self.tasks)
        self.screen.set_payments(self.service, "Till", events_for(self.service.journal))
        self.display = CustomerDisplay(tmp_path / "config", store_name="Donut Shop")
        self.screen.set_customer_display(self.display)
        qtbot.addWidget(self.screen)
        qtbot.addWidget(self.display)
        self.screen.resize(1280, 800)
        self.screen.show()
        # Shortcuts (Enter, Esc, F5) only reach the active window, as on a real till.
        self.screen.activateWindow()
        qtbot.waitUntil(self.screen.isActiveWindow)

    def wait(self, coro: Coroutine[Any, Any, T]) -> T:
        task = self.tasks.start(coro)
        self.qtbot.waitUntil(task.done, timeout=20_000)
        return task.result()

    def wait_for_result(self) -> str:
        screen = self.screen
        self.qtbot.waitUntil(
            lambda: screen.stack.currentWidget() is screen.result, timeout=RESULT_TIMEOUT_MS
        )
        return screen.result.title.text()

    def close(self) -> None:
        if shiboken6.isValid(self.screen):  # a test may already have torn the window down
            self.screen.shutdown()
        self.tasks.cancel_all()
        self.wait(self.provider.aclose())


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path / "sandbox-state") as server:
        yield server


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def make_till(
    qtbot: QtBot,
    qloop: asyncio.AbstractEventLoop,
    sandbox: SandboxServer,
    journal: JournalStore,
    tmp_path: Path,
) -> Iterator[Any]:
    made: list[ScreenTill] = []

    def make(name: str) -> ScreenTill:
        till = ScreenTill(qtbot, sandbox, journal, tmp_path, name)
        made.append(till)
        return till

    yield make
    for till in made:
        till.close()


def test_the_secure_page_is_still_what_start_hosted_opens(qtbot: QtBot, make_till: Any) -> None:
    till = make_till("checkout_com")
    till.screen.start(Sale(Money(525, "USD"), "Coffee"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(lambda: till.screen.web_view is not None, timeout=20_000)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.PENDING
    assert not till.screen.link_panel.isVisible()
    assert not till.display.isVisible()  # the customer display is for links only


@pytest.mark.parametrize("name", [h.name for h in HARNESSES])
def test_every_provider_with_a_secure_page_ends_on_the_looked_up_outcome(
    qtbot: QtBot, make_till: Any, name: str
) -> None:
    till: ScreenTill = make_till(name)
    till.screen.start(Sale(Money(2500, "USD"), "Layer cake"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(lambda: till.screen.web_view is not None, timeout=20_000)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.provider_ref is not None
    # The customer pays on the page (headless here); only the lookup tells the till.
    paid = till.harness.pay(till.sandbox, payment.provider_ref, APPROVED_CARD)
    assert paid.is_success, paid.text
    assert till.wait_for_result() == "Approved"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.CAPTURED
    assert payment.amount == Money(2500, "USD")


@pytest.mark.parametrize("name", [h.name for h in HARNESSES])
def test_sales_in_a_row_show_their_pages_in_views_made_between_sales(
    qtbot: QtBot, make_till: Any, name: str
) -> None:
    till: ScreenTill = make_till(name)
    till.screen.keep_spare_view()  # as the app does once QtWebEngine has started
    spare = till.screen.spare_view
    assert spare is not None
    for cents in (2500, 1250):
        qtbot.waitUntil(lambda: spare.ready, timeout=30_000)
        # The last sale's view is deleted once the event loop gets to it.
        qtbot.waitUntil(lambda: len(till.screen.findChildren(CheckoutWebView)) == 1)
        [primed] = till.screen.findChildren(CheckoutWebView)
        till.screen.start(Sale(Money(cents, "USD"), "Layer cake"), PaymentMethod.HOSTED_CHECKOUT)
        qtbot.waitUntil(lambda: till.screen.web_view is not None, timeout=20_000)
        assert till.screen.web_view is primed
        qtbot.waitUntil(primed.isVisible)  # the screen's layout shows it
        wait_for_js(qtbot, primed.page, PAGE_READY)  # the provider's page, in the spare
        payment = till.journal.page_payments(offset=0, limit=1)[0]
        assert payment.amount == Money(cents, "USD")
        assert payment.provider_ref is not None
        paid = till.harness.pay(till.sandbox, payment.provider_ref, APPROVED_CARD)
        assert paid.is_success, paid.text
        assert till.wait_for_result() == "Approved"
        till.screen.result.button.click()  # New sale: the next spare is made now


@pytest.mark.parametrize("name", ["justifi", "checkout_com", "recharge", "payfect"])
def test_a_secure_page_opened_in_the_system_browser_ends_on_the_looked_up_outcome(
    qtbot: QtBot, make_till: Any, name: str
) -> None:
    till: ScreenTill = make_till(name)
    opened: list[str] = []
    till.screen.set_browser(lambda url: opened.append(url) is None)
    till.screen.start(Sale(Money(2500, "USD"), "Layer cake"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(lambda: bool(opened), timeout=20_000)
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.provider_ref is not None
    assert payment.method == "hosted_checkout"
    # The till shows no page of its own: it says where the page is and keeps polling.
    assert till.screen.web_view is None
    assert till.screen.browser_panel.isVisible()
    assert till.screen.browser_panel.url.text() == opened[0]
    assert "web browser" in till.screen.status_label.text()
    till.screen.browser_panel.open_again_button.click()
    assert opened == [opened[0], opened[0]]
    if name == "checkout_com":  # its link page: a hosted page needing no return URL
        body = {"link_id": payment.provider_ref, "card": APPROVED_CARD}
        paid = control(till.sandbox, "checkout-com/pay", body)
    else:
        paid = till.harness.pay(till.sandbox, payment.provider_ref, APPROVED_CARD)
    assert paid.is_success, paid.text
    assert till.wait_for_result() == "Approved"
    [payment] = till.journal.page_payments(offset=0, limit=5)
    assert payment.state is PaymentState.CAPTURED
    assert not till.screen.browser_panel.isVisible()


def test_when_no_browser_opens_the_address_is_shown_to_open_by_hand(
    qtbot: QtBot, make_till: Any
) -> None:
    till: ScreenTill = make_till("justifi")
    till.screen.set_browser(lambda url: False)
    till.screen.start(Sale(Money(900, "USD"), "Bagels"), PaymentMethod.HOSTED_CHECKOUT)
    qtbot.waitUntil(till.screen.browser_panel.isVisible, timeout=20_000)
    assert till.screen.browser_panel.title.text() == "The web browser could not be opened"
    assert till.screen.browser_panel.url.text().startswith(till.sandbox.base_url)
    assert till.screen.web_view is None
