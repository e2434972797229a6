"""Locating files in resources/ both from a checkout and from an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def resource_path(name: str) -> Path:
    for root in (_PACKAGE / "_resources", _PACKAGE.parent / "resources"):
        candidate = root / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"pos_app resource {name!r} is missing")


def stylesheet() -> str:
    """The app's style sheet; ``@RESOURCES@`` stands for the resources folder (Qt style
    sheets resolve relative URLs against the working directory, not the sheet)."""
    sheet = resource_path("style.qss")
    return sheet.read_text(encoding="utf-8").replace("@RESOURCES@", sheet.parent.as_posix())
