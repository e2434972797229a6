"""Small widget helpers shared by the screens."""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel, QWidget


def label(text: str, object_name: str, *, parent: QWidget | None = None) -> QLabel:
    widget = QLabel(text, parent)
    widget.setObjectName(object_name)
    widget.setWordWrap(True)
    return widget


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Flip the `invalid` style property and make the stylesheet notice."""
    if widget.property("invalid") == invalid:
        return
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def announce(widget: QWidget, text: str) -> None:
    """Tell screen readers about a payment state change."""
    widget.setAccessibleDescription(text)
    QAccessible.updateAccessibility(QAccessibleEvent(widget, QAccessible.Event.Alert))
