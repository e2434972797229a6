"""Everything the app writes is readable by the cashier's account only (0600 files, 0700
folders), and QtWebEngine, whose checkout profiles are off the record, writes nothing.

The app runs as ``pos-app`` does: the platform's folders (the temporary HOME and XDG folders
of tests/conftest.py), a log file at DEBUG, the built-in sandbox; it takes one card payment
through the hosted checkout page and saves the customer window's place.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pos_app.gui.screens.customer_display import PLACE_FILE, CustomerDisplay
from pos_app.platform.log import configure_logging
from pos_app.platform.paths import AppPaths
from pos_sandbox.state import DB_FILENAME, Store
from tests.e2e.conftest import Till
from tests.e2e.test_hosted_checkout import customer_pays, ring_up, wait_for_result

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

# Not ours: the XDG base folders (a desktop session makes them; here mkdir(parents=True) did)
# and Mesa's shader cache (the graphics driver's, for Qt's software rendering).
XDG_BASES = ("config", "cache", "data", "state")
NOT_OURS = ("cache/mesa_shader_cache",)


def modes_under(root: Path) -> dict[str, int]:
    """Every folder and file below ``root``, with its ``st_mode`` (type and permissions)."""
    modes: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            modes[path.relative_to(root).as_posix()] = path.lstat().st_mode
    return modes


def not_owner_only(modes: dict[str, int]) -> dict[str, str]:
    return {
        name: oct(stat.S_IMODE(mode))
        for name, mode in modes.items()
        if stat.S_IMODE(mode) != (0o700 if stat.S_ISDIR(mode) else 0o600)
    }


@pytest.fixture
def logging_as_the_app_does() -> Iterator[AppPaths]:
    """The user's platform folders, made and logged to at DEBUG as ``run_gui`` does."""
    paths = AppPaths.for_user()
    paths.ensure()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(paths.log_file, logging.DEBUG)
    yield paths
    root.removeHandler(handler)
    handler.close()
    root.setLevel(level)


def test_a_sale_leaves_only_owner_only_files_and_nothing_from_the_web_view(
    qtbot: QtBot, qloop: object, logging_as_the_app_does: AppPaths, tmp_path: Path
) -> None:
    paths = logging_as_the_app_does
    home = tmp_path / "home"
    assert paths.data_dir.is_relative_to(home)  # the isolated folders, not the real ones
    till = Till(qtbot, paths)
    pos = till.start()
    try:
        ring_up(qtbot, pos, "17.99", "One chocolate donut")
        customer_pays(qtbot, pos, "4242 4242 4242 4242")
        assert wait_for_result(qtbot, pos) == "Approved"
        while_open = modes_under(home)  # the journal's -wal and -shm live while it is open
        assert pos.customer_display is not None
        pos.customer_display.save_place()
    finally:
        till.stop_all()
    modes = while_open | modes_under(home)

    def app(path: Path) -> str:
        return path.relative_to(home).as_posix()

    sandbox = app(paths.sandbox_state_dir)
    expected_files = {
        app(paths.settings_file),
        app(paths.config_dir / PLACE_FILE),
        app(paths.journal_file),
        app(paths.journal_file) + "-wal",
        app(paths.journal_file) + "-shm",
        app(paths.log_file),
        *(f"{sandbox}/{DB_FILENAME}{end}" for end in ("", "-wal", "-shm")),
    }
    files = {name for name, mode in modes.items() if stat.S_ISREG(mode)}
    ours = {name for name in files if not name.startswith(NOT_OURS)}
    # Nothing else: no QtWebEngine storage, cache or crash dump, no stray file of ours.
    assert ours == expected_files
    checked = {
        name: mode
        for name, mode in modes.items()
        if name not in XDG_BASES and not name.startswith((sandbox, *NOT_OURS))
    }
    assert {app(paths.journal_file) + "-wal", app(paths.log_file)} <= set(checked)
    assert not_owner_only(checked) == {}


def test_the_sandbox_state_is_owner_only(app_paths: AppPaths) -> None:
    store = Store(app_paths.sandbox_state_dir / DB_FILENAME)
    store.put("payment", "py_1", {"amount": 1799})
    modes = modes_under(app_paths.sandbox_state_dir.parent)
    store.close()
    assert {name for name in modes if name.startswith("sandbox")} >= {"sandbox/" + DB_FILENAME}
    assert not_owner_only(modes) == {}


def test_the_customer_windows_place_is_owner_only(qapp: QApplication, app_paths: AppPaths) -> None:
    display = CustomerDisplay(app_paths.config_dir)
    try:
        display.save_place()
    finally:
        display.deleteLater()
    assert not_owner_only(modes_under(app_paths.config_dir)) == {}


def test_a_log_file_after_rotation_is_owner_only(app_paths: AppPaths) -> None:
    handler = configure_logging(app_paths.log_file, logging.INFO)
    try:
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.doRollover()
        logging.getLogger("pos_app.test").info("after the rollover")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    modes = modes_under(app_paths.log_dir)
    assert set(modes) == {"pos_app.log", "pos_app.log.1"}
    assert not_owner_only(modes) == {}


def test_the_folders_the_app_makes_on_the_way_are_owner_only(tmp_path: Path) -> None:
    paths = AppPaths.for_user()
    paths.ensure()
    state = tmp_path / "home" / "state"
    assert paths.log_dir.is_relative_to(state)
    assert not_owner_only(modes_under(state)) == {}
