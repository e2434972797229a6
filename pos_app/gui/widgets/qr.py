"""A QR code drawn from segno's module matrix: crisp at any size, scannable from a phone."""

from __future__ import annotations

import segno
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QPushButton, QSizePolicy, QVBoxLayout, QWidget

from pos_app.gui.widgets.common import label

QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks


def qr_matrix(data: str) -> list[list[bool]]:
    """Dark (True) and light modules, quiet zone included. Error level M survives smudges."""
    code = segno.make(data, error="m", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]


class QrCode(QWidget):
    """Paints whole-pixel modules (a blurred edge makes phones fail to scan)."""

    def __init__(self, parent: QWidget | None = None, *, minimum: int = 240) -> None:
        super().__init__(parent)
        self._data = ""
        self._matrix: list[list[bool]] = []
        self._faded = False
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Payment QR code")

    @property
    def data(self) -> str:
        return self._data

    @property
    def matrix(self) -> list[list[bool]]:
        return self._matrix

    def set_data(self, data: str) -> None:
        self._data = data
        self._matrix = qr_matrix(data) if data else []
        self._faded = False
        self.setAccessibleDescription(f"Scan to pay: {data}" if data else "")
        self.update()

    def set_faded(self, faded: bool) -> None:
        """An expired or used link stays visible but greyed, so nobody scans it."""
        self._faded = faded
        self.update()

    def code_rect(self) -> QRect:
        """Where the code is drawn: square, centred, a whole number of pixels per module."""
        count = len(self._matrix)
        if count == 0:
            return QRect()
        module = max(1, min(self.width(), self.height()) // count)
        side = module * count
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._matrix:
            return
        rect = self.code_rect()
        module = rect.width() // len(self._matrix)
        modules = [
            QRect(rect.x() + x * module, rect.y() + y * module, module, module)
            for y, row in enumerate(self._matrix)
            for x, on in enumerate(row)
            if on
        ]
        painter = QPainter(self)
        painter.fillRect(rect, QColor("white"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#b0b0b0" if self._faded else "black"))
        # One call for all modules: a fillRect per module crashed PySide6 6.12 at exit.
        painter.drawRects(modules)
        painter.end()


class LinkPanel(QWidget):
    """The till's half of pay-by-link: the code, the URL to read out, and "New link"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.qr = QrCode()
        self.url = label("", "Hint")
        self.url.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setAccessibleName("Payment link")
        self.new_link_button = QPushButton("New link  F6")
        self.new_link_button.setObjectName("Primary")
        self.new_link_button.setAccessibleName("Make a new payment link")
        self.new_link_button.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(self.qr, 1)
        layout.addWidget(self.url)
        layout.addWidget(self.new_link_button, 0, Qt.AlignmentFlag.AlignHCenter)

    def show_link(self, url: str) -> None:
        self.qr.set_data(url)
        self.url.setText(url)
        self.new_link_button.setVisible(False)

    def show_expired(self) -> None:
        self.qr.set_faded(True)
        self.new_link_button.setVisible(True)
        self.new_link_button.setFocus()


__all__ = ["QUIET_ZONE", "LinkPanel", "QrCode", "qr_matrix"]
