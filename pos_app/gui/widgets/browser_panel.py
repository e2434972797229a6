"""The waiting panel when the provider's secure page is open in the system browser.

The till cannot see that page (nor intercept its return URLs), so it says where the page
is, offers to open it again, and relies on polling the provider for the outcome.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from pos_app.gui.widgets.common import label

# Opens a URL outside the till; False when nothing could open it.
BrowserOpener = Callable[[str], bool]


def system_browser(url: str) -> bool:
    from PySide6.QtCore import QUrl

    return QDesktopServices.openUrl(QUrl(url))


class BrowserPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = label("The secure page is open in the web browser", "SectionTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explain = label(
            "The customer pays there. This screen checks with the provider every few "
            "seconds and shows the result here; press Cancel if the customer changes "
            "their mind.",
            "Hint",
        )
        self.explain.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url = label("", "Hint")
        self.url.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setAccessibleName("Secure page address")
        self.open_again_button = QPushButton("Open the page again  F6")
        self.open_again_button.setAccessibleName("Open the secure page in the web browser again")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 40, 24, 40)
        layout.setSpacing(12)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.explain)
        layout.addSpacing(8)
        layout.addWidget(self.url)
        layout.addWidget(self.open_again_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def show_url(self, url: str, *, opened: bool) -> None:
        self.url.setText(url)
        self.title.setText(
            "The secure page is open in the web browser"
            if opened
            else "The web browser could not be opened"
        )
        if not opened:
            self.explain.setText(
                "Open this address in a browser for the customer, or press Cancel and choose "
                "another way to pay. The till keeps checking with the provider."
            )
