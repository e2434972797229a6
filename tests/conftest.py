"""Shared test set-up: offscreen Qt, isolated paths and keyring for every test."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keyring: never the developer's real one (each test gets an in-memory one, below).
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from pos_app.gui.webview.chromium_env import prepare_chromium_environment

prepare_chromium_environment()

from PySide6.QtCore import QCoreApplication, Qt  # noqa: E402

# Must precede the QApplication pytest-qt creates, so QtWebEngine can load lazily.
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from pos_app.gui.gc_guard import MainThreadGarbageCollector  # noqa: E402
from pos_app.gui.resources import stylesheet  # noqa: E402
from pos_app.paths import AppPaths  # noqa: E402


class MemoryKeyring(KeyringBackend):
    """A keyring that lives as long as one test: what the OS keyring would hold."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such password")


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Every test sees an empty, working keyring, trusted as an OS keyring would be; tests
    of the no-keyring case swap it."""
    import pos_app.secrets

    backend = MemoryKeyring()
    trusted = pos_app.secrets.TRUSTED_BACKENDS | {pos_app.secrets.backend_id(backend)}
    monkeypatch.setattr(pos_app.secrets, "TRUSTED_BACKENDS", trusted)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """platformdirs and anything else that looks at HOME or XDG sees only tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    yield


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread() -> Iterator[None]:
    """As the app does (gui/gc_guard.py), for every test: no automatic collection, which
    could start on a sandbox or receiver thread and destroy Qt objects a GUI test left in a
    cycle there; instead a collection at each test's end, here, when the usual thresholds
    are passed."""
    gc.disable()
    yield
    gc.disable()  # a test's qloop hands collection back to Python when it stops
    first, second, third = gc.get_count()
    limits = gc.get_threshold()
    if first > limits[0]:
        gc.collect(2 if third > limits[2] else 1 if second > limits[1] else 0)


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    paths = AppPaths.under(tmp_path / "pos")
    paths.ensure()
    return paths


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """asyncio on the Qt thread, driven by whatever Qt event loop pytest-qt spins."""
    qapp.setStyleSheet(stylesheet())
    collector = MainThreadGarbageCollector()  # as the app does: Qt objects die on this thread
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    # Undo what already_running=True did, so later tests can use asyncio.run().
    asyncio.events._set_running_loop(None)
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop._after_run_forever()
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    loop.close()
    asyncio.set_event_loop(None)
    del loop
    collector.stop()
