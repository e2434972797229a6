"""The customer-facing window: the QR code, the amount and what is happening, nothing else.

It opens on a second screen when there is one, can be moved to any screen, and remembers
where it was in ``customer_display.json`` in the config dir (a small JSON file rather than
QSettings: the app keeps all its state under AppPaths, and tests point that at a temp dir).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QMoveEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from pos_app.gui.messages import TRAINING_CUSTOMER
from pos_app.gui.widgets.common import announce, label
from pos_app.gui.widgets.qr import QrCode

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

PLACE_FILE = "customer_display.json"
DEFAULT_SIZE = (640, 760)
SAVE_DELAY_MS = 400  # a drag sends many moves; write once it settles


@dataclass(frozen=True)
class ScreenArea:
    name: str
    rect: QRect  # available geometry


def choose_geometry(
    saved: dict[str, object] | None, screens: list[ScreenArea], size: tuple[int, int]
) -> QRect:
    """Where the window goes: its remembered place if that still lies on a screen, else
    centred on the second screen (the one facing the customer), else on the only one."""
    if saved is not None:
        try:
            rect = QRect(int(saved["x"]), int(saved["y"]), int(saved["w"]), int(saved["h"]))  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError):
            rect = QRect()
        if rect.isValid() and any(s.rect.contains(rect.center()) for s in screens):
            return rect
    if not screens:
        return QRect(0, 0, *size)
    target = screens[1] if len(screens) > 1 else screens[0]
    width = min(size[0], target.rect.width())
    height = min(size[1], target.rect.height())
    rect = QRect(0, 0, width, height)
    rect.moveCenter(target.rect.center())
    return rect


def current_screens() -> list[ScreenArea]:
    return [ScreenArea(s.name(), s.availableGeometry()) for s in QGuiApplication.screens()]


class CustomerDisplay(QWidget):
    def __init__(self, config_dir: Path, *, store_name: str = "") -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("Screen")
        self.setWindowTitle(f"{store_name} — please pay here" if store_name else "Please pay here")
        self.setAccessibleName("Customer display")
        # Showing it must not take the keyboard away from the cashier's window.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._place_file = config_dir / PLACE_FILE
        self._placed = False

        # A training sale tells the customer too: nobody should think they paid for real.
        self.training = label(TRAINING_CUSTOMER, "TrainingBadge")
        self.training.setAccessibleName("Training sale")
        self.training.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.training.setVisible(False)
        self.heading = label("Scan to pay", "ScreenTitle")
        self.amount = label("", "ResultAmount")
        self.description = label("", "ResultDetail")
        self.qr = QrCode(minimum=300)
        self.status = label("", "CheckoutStatus")
        self.expiry = label("", "Timer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(self.training)
        for widget in (self.heading, self.amount, self.description):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(widget)
        layout.addWidget(self.qr, 1)
        for widget in (self.status, self.expiry):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(widget)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_place)

    # -- what the customer sees -----------------------------------------------------

    def show_link(self, amount: str, description: str, url: str, *, training: bool = False) -> None:
        """``training``: a sandbox sale, said at the top until the next sale is shown."""
        self.training.setVisible(training)
        self.heading.setText("Scan to pay")
        self.amount.setText(amount)
        self.description.setText(description)
        self.qr.set_data(url)
        self.qr.setVisible(True)
        self.set_status("Scan the code with your phone's camera.")
        self.expiry.clear()
        self.open()

    def show_amount(
        self, amount: str, description: str, prompt: str, *, training: bool = False
    ) -> None:
        """A card-present sale: the amount to approve and what to do, no code to scan."""
        self.training.setVisible(training)
        self.heading.setText("Please pay")
        self.amount.setText(amount)
        self.description.setText(description)
        self.qr.set_data("")
        self.qr.setVisible(False)
        self.set_status(prompt)
        self.expiry.clear()
        self.open()

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        announce(self.status, text)

    def set_expiry(self, text: str) -> None:
        self.expiry.setText(text)

    def show_outcome(self, title: str, detail: str) -> None:
        """The end of the sale; the code goes so nobody pays an old link."""
        self.heading.setText(title)
        self.qr.set_data("")
        self.qr.setVisible(False)
        self.set_status(detail)
        self.expiry.clear()

    def show_expired(self) -> None:
        self.qr.set_faded(True)
        self.set_status("This code has expired. Please wait for a new one.")
        self.expiry.clear()

    def open(self) -> None:
        if not self._placed:
            self.setGeometry(choose_geometry(self._load_place(), current_screens(), DEFAULT_SIZE))
            self._placed = True
        keyboard_owner = QApplication.activeWindow()
        self.show()
        # Some window systems activate new windows anyway: give the keyboard back.
        if keyboard_owner is not None and keyboard_owner is not self:
            keyboard_owner.activateWindow()

    # -- remembering the place --------------------------------------------------------

    def save_place(self) -> None:
        geometry = self.geometry()
        place = {
            "x": geometry.x(),
            "y": geometry.y(),
            "w": geometry.width(),
            "h": geometry.height(),
            "screen": self.screen().name() if self.screen() else "",
        }
        try:
            self._place_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._place_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)  # also when an older file was 0644
                handle.write(json.dumps(place))
        except OSError as error:
            log.warning("Could not remember the customer display's place: %s", error)

    def _load_place(self) -> dict[str, object] | None:
        try:
            loaded = json.loads(self._place_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        if self._placed and self.isVisible():
            self._save_timer.start()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._placed and self.isVisible():
            self._save_timer.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._placed:
            self.save_place()
        super().closeEvent(event)
