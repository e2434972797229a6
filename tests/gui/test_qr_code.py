"""The QR code a phone scans: every module drawn where segno put it, sharp and large."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pos_app.gui.widgets.qr import QUIET_ZONE, LinkPanel, QrCode, qr_matrix

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

URL = "http://127.0.0.1:41234/justifi/hosted-checkout/cho_NR68JgjGaj6xhZR49aOzki"


def sampled_modules(widget: QrCode) -> list[list[bool]]:
    """Read the drawn code back the way a scanner would: the centre of each module."""
    image = widget.grab().toImage()
    rect = widget.code_rect()
    count = len(widget.matrix)
    module = rect.width() // count
    rows = []
    for y in range(count):
        row = []
        for x in range(count):
            centre_x = rect.x() + x * module + module // 2
            centre_y = rect.y() + y * module + module // 2
            rgb = image.pixel(centre_x, centre_y)
            row.append(((rgb >> 16 & 0xFF) + (rgb >> 8 & 0xFF) + (rgb & 0xFF)) < 3 * 128)
        rows.append(row)
    return rows


@pytest.mark.parametrize("size", [(300, 300), (640, 480), (333, 901)])
def test_the_drawn_code_is_the_encoded_link_at_any_size(
    qtbot: QtBot, size: tuple[int, int]
) -> None:
    widget = QrCode()
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.set_data(URL)
    widget.show()
    matrix = qr_matrix(URL)
    assert widget.matrix == matrix
    assert sampled_modules(widget) == matrix
    rect = widget.code_rect()
    # Whole pixels per module (no blurred edges), as large as the widget allows.
    assert rect.width() == rect.height()
    assert rect.width() % len(matrix) == 0
    assert rect.width() > min(size) - len(matrix)


def test_the_code_keeps_its_quiet_zone_and_finder_patterns() -> None:
    matrix = qr_matrix(URL)
    assert not any(matrix[0])
    assert not any(row[0] for row in matrix)
    top_left = [row[QUIET_ZONE : QUIET_ZONE + 7] for row in matrix[QUIET_ZONE : QUIET_ZONE + 7]]
    assert all(top_left[0])
    assert all(top_left[6])
    assert top_left[3][3]
    assert not top_left[1][1]


def test_an_expired_link_is_greyed_so_nobody_scans_it(qtbot: QtBot) -> None:
    panel = LinkPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    panel.show_link(URL)
    assert panel.url.text() == URL
    assert not panel.new_link_button.isVisible()
    assert sampled_modules(panel.qr) == qr_matrix(URL)
    panel.show_expired()
    assert panel.new_link_button.isVisible()
    assert not any(any(row) for row in sampled_modules(panel.qr))  # nothing dark enough to read
    assert "Scan to pay" in panel.qr.accessibleDescription()
