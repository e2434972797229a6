"""Hides Qt from Python, as if PySide6 were not installed: scripts/test-without-qt.sh puts
this directory first on PYTHONPATH, so the test run and every process it starts import it.

It shadows any other sitecustomize (a venv's Python has none; Debian's only hooks apport).
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

HIDDEN = frozenset({"PySide6", "shiboken6", "qasync", "pytestqt"})


class HideQt(MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (Qt is hidden by tests/_noqt)", name=fullname
            )
        return None


sys.meta_path.insert(0, HideQt())
