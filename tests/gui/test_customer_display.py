"""The customer's window: on the second screen when there is one, and back where it was left."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect

from pos_app.gui.screens.customer_display import (
    DEFAULT_SIZE,
    PLACE_FILE,
    CustomerDisplay,
    ScreenArea,
    choose_geometry,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pytestqt.qtbot import QtBot

TILL = ScreenArea("till", QRect(0, 0, 1280, 800))
FACING = ScreenArea("facing", QRect(1280, 0, 1024, 768))


def test_with_two_screens_it_opens_on_the_second() -> None:
    rect = choose_geometry(None, [TILL, FACING], DEFAULT_SIZE)
    assert FACING.rect.contains(rect)
    assert rect.center() == FACING.rect.center()


def test_with_one_screen_it_fits_on_it() -> None:
    small = ScreenArea("laptop", QRect(0, 0, 1024, 600))
    rect = choose_geometry(None, [small], DEFAULT_SIZE)
    assert small.rect.contains(rect)


def test_a_remembered_place_wins_but_not_on_a_screen_that_is_gone() -> None:
    saved: dict[str, object] = {"x": 100, "y": 50, "w": 500, "h": 600}
    assert choose_geometry(saved, [TILL, FACING], DEFAULT_SIZE) == QRect(100, 50, 500, 600)
    on_facing: dict[str, object] = {"x": 1400, "y": 50, "w": 500, "h": 600}
    # The second screen was unplugged: back onto a screen that exists.
    assert TILL.rect.contains(choose_geometry(on_facing, [TILL], DEFAULT_SIZE))
    for broken in ({"x": "left"}, {"x": 1, "y": 2}, {"x": 1, "y": 2, "w": 0, "h": 0}):
        assert TILL.rect.contains(choose_geometry(broken, [TILL], DEFAULT_SIZE))


def test_it_remembers_where_it_was_moved_across_restarts(qtbot: QtBot, tmp_path: Path) -> None:
    display = CustomerDisplay(tmp_path)
    qtbot.addWidget(display)
    display.show_link("$17.99", "Cake", "https://pay.example/abc")
    assert display.isVisible()
    display.setGeometry(120, 80, 520, 640)
    display.close()
    saved = json.loads((tmp_path / PLACE_FILE).read_text())
    assert (saved["x"], saved["y"], saved["w"], saved["h"]) == (120, 80, 520, 640)

    again = CustomerDisplay(tmp_path)
    qtbot.addWidget(again)
    again.show_link("$5.00", "Coffee", "https://pay.example/def")
    assert again.geometry() == QRect(120, 80, 520, 640)
    assert again.amount.text() == "$5.00"
    assert again.qr.data == "https://pay.example/def"


def test_a_move_is_saved_once_it_settles(qtbot: QtBot, tmp_path: Path) -> None:
    display = CustomerDisplay(tmp_path)
    qtbot.addWidget(display)
    display.show_link("$17.99", "Cake", "https://pay.example/abc")
    display.move(200, 90)
    qtbot.waitUntil(lambda: (tmp_path / PLACE_FILE).exists())
    moved = display.geometry()
    assert moved.x() >= 200  # the window's inside starts after its frame
    qtbot.waitUntil(lambda: json.loads((tmp_path / PLACE_FILE).read_text())["x"] == moved.x())


def test_the_outcome_replaces_the_code(qtbot: QtBot, tmp_path: Path) -> None:
    display = CustomerDisplay(tmp_path)
    qtbot.addWidget(display)
    display.show_link("$17.99", "Cake", "https://pay.example/abc")
    display.show_outcome("Thank you", "Payment received.")
    assert display.heading.text() == "Thank you"
    assert display.status.text() == "Payment received."
    assert not display.qr.isVisible()
    assert display.qr.data == ""
