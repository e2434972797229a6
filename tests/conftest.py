"""Shared test set-up: offscreen Qt, isolated paths and keyring for every test, and the
``gui``, ``webengine`` and ``slow`` markers."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keyring: never the developer's real one (each test gets an in-memory one, below).
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

from pos_app.platform.paths import AppPaths
from tests import import_graph

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

# Qt only where it is installed: scripts/test-without-qt.sh hides it (tests/_noqt) to run
# the tests that do not need it, as they must on a machine without Qt.
try:
    HAVE_QT = importlib.util.find_spec("PySide6") is not None
except ImportError:  # hidden
    HAVE_QT = False


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin("pytest-qt"):  # its option in pyproject.toml, then unknown
        parser.addini("qt_api", "pytest-qt's Qt binding, unused without pytest-qt")


def pytest_configure(config: pytest.Config) -> None:
    if HAVE_QT:
        from PySide6.QtCore import QCoreApplication, Qt

        from pos_app.gui.webview.chromium_env import prepare_chromium_environment

        prepare_chromium_environment()
        # Must precede the QApplication pytest-qt creates, so QtWebEngine can load lazily.
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


# Markers (declared in pyproject.toml), from what each test needs, so that no test file
# carries them:
# - gui: it needs Qt: importing its module and the conftest.py files above it imports Qt
#   (tests/import_graph.py reads that from the sources of tests, pos_app and pos_sandbox;
#   imports inside functions do not count), or it uses a pytest-qt fixture (as qloop does),
#   or it needs Qt only once running (QT_AT_RUN_TIME). All of tests/gui and tests/e2e is gui
#   through their conftest.py. Where Qt is hidden such modules cannot even be imported, so
#   they are not collected (pytest_ignore_collect), and -m "not gui" does the rest.
# - webengine: its module, or a module of tests/ it imports, imports QtWebEngine or the
#   app's web view, or runs JavaScript with tests/e2e's helpers. That marks every test that
#   opens a QtWebEngine page or profile, and others of the same modules.
# - slow: tests/e2e (each test starts the whole app) and tests/reliability (crash, power-loss
#   and fault batteries): a seventh of the tests, half of the suite's time (--durations).
QT = frozenset({"PySide6", "shiboken6", "qasync", "pytestqt"})  # as tests/_noqt hides them
QT_FIXTURES = frozenset({"qapp", "qtbot", "qtmodeltester", "qtlog"})
QT_AT_RUN_TIME = (  # what no import shows (the run without Qt finds any missing here)
    "tests/reliability/test_benchmark_secrets.py",  # loads benchmarks/reliability.py by path
    "tests/integration/test_cli.py::test_exit_when_ready_",  # starts the whole app
)
WEBENGINE = (
    "PySide6.QtWebEngine",
    "pos_app.gui.webview.view",
    "tests.e2e.conftest.run_js",
    "tests.e2e.conftest.wait_for_js",
)
SLOW_DIRS = frozenset({"e2e", "reliability"})


def _needs_qt(file: Path) -> bool:
    return any(module.partition(".")[0] in QT for module in import_graph.reached(file))


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    if HAVE_QT:
        return None
    file = collection_path / "conftest.py" if collection_path.is_dir() else collection_path
    return (file.suffix == ".py" and _needs_qt(file)) or None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            _needs_qt(item.path)
            or QT_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            or item.nodeid.startswith(QT_AT_RUN_TIME)
        ):
            item.add_marker(pytest.mark.gui)
        tests_imported = import_graph.reached(item.path, frozenset({"tests"}))
        if any(module.startswith(WEBENGINE) for module in tests_imported):
            item.add_marker(pytest.mark.webengine)
        if SLOW_DIRS.intersection(item.path.relative_to(import_graph.ROOT / "tests").parts):
            item.add_marker(pytest.mark.slow)


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
    import pos_app.config.secrets

    backend = MemoryKeyring()
    trusted = pos_app.config.secrets.TRUSTED_BACKENDS | {pos_app.config.secrets.backend_id(backend)}
    monkeypatch.setattr(pos_app.config.secrets, "TRUSTED_BACKENDS", trusted)
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
    return


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
    import qasync

    from pos_app.gui.gc_guard import MainThreadGarbageCollector
    from pos_app.gui.resources import stylesheet

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
