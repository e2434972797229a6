"""Render every screen of pos_app to PNGs for review (screenshots/, not committed).

Drives the real app against the built-in sandbox, the way the e2e tests do.
`--docs` also refreshes the few images the README shows (docs/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from pos_app.bootstrap.app import PosApplication, prepare_qt  # noqa: E402
from pos_app.domain.vocabulary import PaymentMethod  # noqa: E402
from pos_app.gui.gc_guard import MainThreadGarbageCollector  # noqa: E402
from pos_app.platform.paths import AppPaths  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from pos_app.gui.screens.cashier import CashierScreen

DOCS = {"cashier.png", "hosted-checkout.png", "approved.png", "payments.png"}


def pump_until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Run the Qt event loop until predicate() holds (checked every 20 ms)."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer(interval=20)
    timer.timeout.connect(
        lambda: loop.quit() if predicate() or time.monotonic() > deadline else None
    )
    timer.start()
    if not predicate():
        loop.exec()
    timer.stop()
    if not predicate():
        raise TimeoutError("condition not reached")


def js(page: Any, script: str) -> Any:
    box: list[Any] = []
    page.runJavaScript(script, 0, box.append)
    pump_until(lambda: bool(box))
    return box[0]


def settle(ms: int = 300) -> None:
    """Let layout and web paint finish before a grab.

    A fixed frame budget for rendering, not a wait for state (that is pump_until).
    """
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot(widget: QWidget, out: Path, name: str) -> None:
    settle()
    widget.grab().save(str(out / name))
    print(out / name)


def pay(
    pos: PosApplication,
    amount: str,
    description: str,
    card: str,
    out: Path,
    shot: str | None,
    *,
    declined: bool = False,
) -> None:
    cashier = pos.window.cashier
    spare = pos.window.checkout.spare_view
    if spare is not None:  # the page opens in the view made between sales, as in the app
        pump_until(lambda: spare.ready)
    cashier.clear()
    QTest.keyClicks(cashier.amount_field, amount)
    QTest.keyClicks(cashier.description_field, description)
    QTest.keyClick(cashier.description_field, Qt.Key.Key_Return)
    checkout = pos.window.checkout
    pump_until(lambda: checkout.web_view is not None)
    page = checkout.web_view.page()  # type: ignore[union-attr]
    pump_until(lambda: js(page, "document.querySelector('#card-number') !== null") is True)
    fields = {
        "#cardholder-name": "Leslie Knope",
        "#card-number": card,
        "#card-expiry": "12/30",
        "#card-cvc": "123",
        "#postal-code": "10001",
    }
    js(
        page,
        "".join(
            f"document.querySelector({json.dumps(k)}).value = {json.dumps(v)};"
            for k, v in fields.items()
        )
        + "true",
    )
    if shot:
        shoot(pos.window, out, shot)
    js(page, "document.querySelector('#pay-button').click(); true")
    if declined:  # the page takes another card; the till says so and waits on
        pump_until(lambda: checkout.status_label.text().startswith("Card declined"))
        settle()
        return
    pump_until(lambda: checkout.stack.currentWidget() is checkout.result)


def changed_at_provider_shot(pos: PosApplication, out: Path) -> None:
    """The checkout changed to 1.00 at the provider while the customer pays: never approved."""
    from tests.reliability.lookup_tampering import change_justifi_amount

    cashier = ring_up(pos, "17.99", "Birthday cake")
    QTest.keyClick(cashier.description_field, Qt.Key.Key_Return)
    checkout = pos.window.checkout
    pump_until(lambda: checkout.web_view is not None)
    [payment] = [p for p in pos.journal.page_payments(offset=0, limit=1)]
    assert pos.sandbox is not None
    assert payment.provider_ref is not None
    change_justifi_amount(pos.sandbox, payment.provider_ref, 100)
    pump_until(lambda: checkout.stack.currentWidget() is checkout.result)
    shoot(pos.window, out, "check-this-payment.png")
    QTest.keyClick(checkout.result.button, Qt.Key.Key_Return)


def record_environments(pos: PosApplication) -> None:
    """Each payment records its profile's environment (sandbox: training), as the
    composition root has the payments service do (harmless once it does itself)."""
    assert pos.payments is not None

    def environment_of(name: str) -> Any:
        profile = pos.settings.profile(name)
        return profile.environment if profile is not None else None

    pos.payments.environment_of = environment_of


def live_sale(pos: PosApplication) -> None:
    """A 50.00 sale taken earlier today on a live profile (written straight into the journal:
    the screenshots only reach the sandbox), so End of shift has real money beside training."""
    from datetime import timedelta

    from pos_app.domain.money import Money
    from pos_app.domain.payment import PaymentState

    [first] = pos.journal.page_payments(offset=0, limit=1, descending=False)
    at = first.created_at - timedelta(seconds=1)  # the oldest: never the one refunded below
    reference = f"S-{at:%Y%m%d}-LIVE01"
    pos.journal.create_payment(
        reference=reference,
        profile="High street",
        provider="checkout_com",
        method="direct_charge",
        amount=Money(5000, "USD"),
        description="Wedding cake deposit",
        now=at,
        environment="live",
    )
    pos.journal.update_payment(
        reference,
        now=at,
        state=PaymentState.CAPTURED,
        authorized_minor=5000,
        captured_minor=5000,
        card_brand="visa",
        card_last4="1111",
        note="Paid at the provider",
    )


def ring_up(pos: PosApplication, amount: str, description: str) -> CashierScreen:
    """Back on the cashier screen, a new sale typed in; returns the screen."""
    pos.window.cashier_button.click()
    cashier = pos.window.cashier
    cashier.clear()
    QTest.keyClicks(cashier.amount_field, amount)
    QTest.keyClicks(cashier.description_field, description)
    return cashier


def browser_shot(pos: PosApplication, out: Path) -> None:
    """Till option "secure pages in the web browser": the till waits and polls."""
    window = pos.window
    cashier = ring_up(pos, "8.75", "Rye bread")

    checkout = window.checkout
    checkout.set_browser(lambda url: True)  # no real browser here; pretend it opened
    try:
        cashier.method_buttons[PaymentMethod.HOSTED_CHECKOUT].click()
        pump_until(checkout.browser_panel.isVisible)
        settle(300)
        shoot(window, out, "hosted-in-browser.png")
        checkout.cancel()
        pump_until(lambda: checkout.result.isVisible())
        QTest.keyClick(checkout.result.button, Qt.Key.Key_Return)
    finally:
        checkout.set_browser(None)


def card_form_shot(pos: PosApplication, out: Path) -> None:
    """The JustiFi card form (the real component, from `pos-app assets fetch`), ready for a
    card; or, without the component installed, the screen that says how to get it."""
    window = pos.window
    cashier = ring_up(pos, "17.99", "Two coffees")

    checkout = window.checkout
    spare = checkout.spare_view
    if spare is not None:
        pump_until(lambda: spare.ready)
    cashier.method_buttons[PaymentMethod.EMBEDDED_CHECKOUT].click()
    pump_until(lambda: checkout.card_form is not None or checkout.result.isVisible())
    form = checkout.card_form
    if form is None:
        shoot(window, out, "card-form.png")  # "Card form not installed" and how to fix it
    else:
        page = form.view.page()
        # Every card field's iframe has drawn at its height: the form is ready for a card.
        ready = (
            "(function () { function all(root) { var found = Array.from("
            "root.querySelectorAll('iframe')); root.querySelectorAll('*').forEach(function (e) {"
            " if (e.shadowRoot) { found = found.concat(all(e.shadowRoot)); } }); return found; }"
            " var frames = all(document).filter(function (f) {"
            " return f.src.indexOf('/justifi/iframe/') >= 0; });"
            " return frames.length >= 4 && frames.every(function (f) {"
            " return f.getBoundingClientRect().height > 10; }); })()"
        )
        pump_until(lambda: js(page, ready) is True)
        settle(800)
        shoot(window, out, "card-form.png")
        checkout.cancel()
    pump_until(lambda: checkout.result.isVisible())
    QTest.keyClick(checkout.result.button, Qt.Key.Key_Return)


def link_shots(pos: PosApplication, out: Path) -> None:
    """Pay by link: the QR on the till, and the customer's own window."""
    window = pos.window
    cashier = ring_up(pos, "12.50", "Sourdough loaf")

    before = pos.journal.count_payments()
    cashier.method_buttons[PaymentMethod.PAY_BY_LINK].click()
    checkout = window.checkout
    pump_until(lambda: pos.journal.count_payments() > before and checkout.link_panel.isVisible())
    settle(600)
    shoot(window, out, "pay-by-link.png")
    if pos.customer_display is not None and pos.customer_display.isVisible():
        shoot(pos.customer_display, out, "customer-display.png")
    checkout.cancel()
    pump_until(lambda: checkout.result.isVisible())
    QTest.keyClick(checkout.result.button, Qt.Key.Key_Return)


def reader_shots(pos: PosApplication, out: Path) -> None:
    """The card reader: the sandbox's simulated reader waiting for the card, its approval,
    and a provider without card-present payments (empty reader list)."""
    from pos_app.bootstrap.reader_setup import build_reader
    from pos_app.bootstrap.sandbox import sandbox_credentials
    from pos_app.services.reader import Gesture, ReaderState, UnavailableReader

    window = pos.window
    assert pos.provider is not None
    assert pos.sandbox is not None
    # What app.py hands the window for the default profile (harmless if it already did).
    window.set_reader(
        build_reader(
            pos.profile,
            pos.provider,
            sandbox_url=pos.sandbox.base_url,
            credentials=sandbox_credentials(),
        )
    )

    def start(amount: str, description: str) -> None:
        ring_up(pos, amount, description).method_buttons[PaymentMethod.CARD_READER].click()

    screen = window.card_reader
    start("6.40", "Cappuccino and a croissant")
    reader = screen.reader
    assert reader is not None
    pump_until(lambda: reader.status.state is ReaderState.WAITING_FOR_CARD)
    shoot(window, out, "card-reader.png")
    screen.customer_does(Gesture.TAP)
    pump_until(lambda: screen.stack.currentWidget() is screen.result)
    shoot(window, out, "card-reader-approved.png")
    QTest.keyClick(screen.result.button, Qt.Key.Key_Return)

    window.set_reader(UnavailableReader("Checkout.com"))
    start("3.00", "Espresso")
    shoot(screen, out, "card-reader-unavailable.png")  # the screen only: the profile differs
    screen.back_to_sale()
    window.cashier.clear()


def staff_shots(pos: PosApplication, out: Path) -> None:
    """Set-up, users, audit, a manager's approval and the sign-in screen."""
    from pos_app.domain.users import Role
    from pos_app.gui.dialogs.refund import RefundDialog

    window = pos.window
    window.set_up_staff()
    screen = window.sign_in_screen
    assert screen is not None
    QTest.keyClicks(screen.setup_name, "Ada Lovelace")
    shoot(window, out, "staff-setup.png")
    screen.setup_pin.setText("246813")
    screen.setup_confirm.setText("246813")
    screen.create_button.click()
    ada = pos.staff.users.find("Ada Lovelace")
    assert ada is not None
    pos.staff.users.add_user(ada, "Max Power", Role.MANAGER, "580246")
    pos.staff.users.add_user(ada, "Cal Ripken", Role.CASHIER, "1357")
    window.users_button.click()
    window.users.select("Cal Ripken")
    shoot(window, out, "users.png")
    window.audit_button.click()
    window.audit.verify()
    pump_until(lambda: window.audit.outcome.text().startswith(("✓", "✗")))
    shoot(window, out, "audit.png")

    window.sign_out()
    screen.name.setText("Cal Ripken")
    screen.pin.setText("0000")
    screen.submit()
    shoot(window, out, "sign-in-refused.png")
    for _ in range(9):  # locked out: an administrator is told on signing in
        screen.pin.setText("0000")
        screen.submit()
    screen.name.setText("Ada Lovelace")
    screen.pin.setText("246813")
    screen.submit()
    shoot(window, out, "lockout-alert.png")
    host_approval_shot(pos, out)
    cal = pos.staff.users.find("Cal Ripken")
    assert cal is not None
    pos.staff.users.change_pin(ada, cal.id, "7531")
    window.sign_out()
    screen.name.setText("Cal Ripken")
    screen.pin.setText("7531")
    screen.submit()
    window.payments_button.click()
    payments = window.payments
    pump_until(lambda: payments.model.rowCount() >= 1)
    approved = next(
        p
        for p in pos.journal.page_payments(offset=0, limit=10)
        if p.refunded_minor == 0 and p.captured_minor
    )
    payments.open_payment(approved.reference)
    pump_until(lambda: not payments.detail.refund_button.isHidden())
    payments.detail.start_refund()
    refund = payments.detail.dialog
    assert isinstance(refund, RefundDialog)
    refund.reason.setCurrentText("Item returned")
    refund.confirm_button.click()
    gate = window.approval_gate
    assert gate is not None
    pump_until(lambda: gate.dialog is not None and gate.dialog.isVisible())
    dialog = gate.dialog
    assert dialog is not None
    dialog.manager.setText("Max Power")
    dialog.pin.setText("999999")
    dialog.accept()
    shoot(dialog, out, "approval.png")
    dialog.reject()
    pump_until(lambda: payments.detail.outcome.text().startswith("Not approved"))
    pos.staff.users.sign_out(pos.staff.session, reason="idle")  # what the idle lock does
    window.lock("Locked after 15 minutes without activity. Sign in to carry on where you left off.")
    shoot(window, out, "sign-in.png")


def host_approval_shot(pos: PosApplication, out: Path) -> None:
    """A live profile on a host the provider does not publish: an administrator approves."""
    window = pos.window
    window.settings_button.click()
    settings = window.settings
    settings.new_profile()
    form = settings.form
    form.name.setText("High street")
    form.provider.setCurrentIndex(form.provider.findData("checkout_com"))
    form.environment.setCurrentIndex(form.environment.findData("live"))
    form.processing_channel_id.setText("pc_live_1")
    form.api_base_url.setText("https://payments-proxy.corner-bakery.example")
    form.secret.setText("sk_live_example")
    settings.save()
    dialog = settings.host_dialog
    assert dialog is not None
    dialog.admin.setText("Ada Lovelace")
    settle()
    shoot(dialog, out, "host-approval.png")
    dialog.reject()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--docs", action="store_true", help="also copy the README images to docs/")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import qasync

    app = prepare_qt()
    collector = MainThreadGarbageCollector(app)
    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths.under(Path(tmp))
        paths.ensure()
        installed = AppPaths.for_user().web_assets_dir  # `pos-app assets fetch` put it there
        if installed.is_dir():
            shutil.copytree(installed, paths.web_assets_dir, dirs_exist_ok=True)
        pos = PosApplication(paths)
        window = pos.window
        window.resize(1280, 800)
        window.show()
        window.cashier.focus_amount()
        task = asyncio.ensure_future(pos.connect())
        pump_until(lambda: window.cashier.ready)
        record_environments(pos)
        window.checkout.keep_spare_view()  # as the app does once QtWebEngine has started
        shoot(window, args.out, "cashier-empty.png")

        QTest.keyClicks(window.cashier.amount_field, "17.999")
        QTest.keyClicks(window.cashier.description_field, "x")
        window.cashier.description_field.clear()
        QTest.keyClicks(window.cashier.description_field, " ")
        shoot(window, args.out, "cashier-invalid.png")
        window.cashier.clear()
        QTest.keyClicks(window.cashier.amount_field, "17.99")
        QTest.keyClicks(window.cashier.description_field, "One chocolate donut")
        shoot(window, args.out, "cashier.png")

        pay(
            pos,
            "17.99",
            "One chocolate donut",
            "4242 4242 4242 4242",
            args.out,
            "hosted-checkout.png",
        )
        shoot(window, args.out, "approved.png")
        QTest.keyClick(window.checkout.result.button, Qt.Key.Key_Return)
        pay(pos, "5.25", "Coffee", "4000 0000 0000 0002", args.out, None, declined=True)
        shoot(window, args.out, "declined.png")
        QTest.keyClick(window.checkout.cancel_button, Qt.Key.Key_Escape)  # the cashier gives up
        pump_until(lambda: window.checkout.stack.currentWidget() is window.checkout.result)
        QTest.keyClick(window.checkout.result.button, Qt.Key.Key_Return)
        changed_at_provider_shot(pos, args.out)
        window.payments_button.click()
        window.payments.filters.training.setChecked(True)  # they are all training sales
        pump_until(lambda: window.payments.model.rowCount() == 3)
        shoot(window, args.out, "payments.png")
        approved = window.payments.model.payment_at(2).reference  # newest first
        window.payments.open_payment(approved)
        settle()
        shoot(window, args.out, "payment-detail.png")
        window.payments.detail.start_refund()
        settle()
        dialog = window.payments.detail.dialog
        if dialog is not None:
            shoot(dialog, args.out, "refund-dialog.png")
            dialog.reject()
        live_sale(pos)
        window.shift_button.click()
        window.shift.refresh()
        settle()
        shoot(window, args.out, "end-of-shift.png")
        window.shift.include_training.setChecked(True)
        settle()
        shoot(window, args.out, "end-of-shift-training.png")
        window.shift.include_training.setChecked(False)
        link_shots(pos, args.out)
        card_form_shot(pos, args.out)
        browser_shot(pos, args.out)
        reader_shots(pos, args.out)

        window.settings_button.click()
        settings = window.settings
        settings.select("Sandbox — Checkout.com")
        settings.check_connection()
        pump_until(lambda: settings.status.text().startswith(("✓", "✗")))
        shoot(window, args.out, "settings.png")
        settings.new_profile()
        form = settings.form
        form.name.setText("High street")
        form.provider.setCurrentIndex(form.provider.findData("checkout_com"))
        form.environment.setCurrentIndex(form.environment.findData("live"))
        form.api_base_url.setText("http://api.checkout.com")
        settings.save()
        shoot(window, args.out, "settings-invalid.png")
        staff_shots(pos, args.out)

        done = asyncio.ensure_future(pos.aclose())
        pump_until(done.done)
        assert task.done()
    collector.stop()
    if args.docs:
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        for name in DOCS:
            shutil.copy(args.out / name, docs / name)


if __name__ == "__main__":
    main()
