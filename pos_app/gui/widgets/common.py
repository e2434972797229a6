"""Small widget helpers shared by the screens."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel, QWidget


def label(text: str, object_name: str, *, parent: QWidget | None = None) -> QLabel:
    """A label that shows its text as it is: a description or a provider's message that
    looks like HTML (``<h1>APPROVED</h1>``) is never rendered as markup."""
    widget = QLabel(text, parent)
    widget.setObjectName(object_name)
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def plain_tip(text: str) -> str:
    """A tooltip that shows ``text`` literally (Qt renders any tooltip that looks like
    HTML as HTML, so it is escaped and wrapped as rich text on purpose)."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""


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
