from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pos_app.journal.store import JournalStore
from pos_sandbox.server import SandboxServer
from tests.reliability.fast_tls import shared_tls_context
from tests.sandbox.conftest import sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["sandbox"]  # the integration tests' per-test sandbox, for the double-submit tests


@pytest.fixture(autouse=True, scope="module")
def _one_tls_context() -> Iterator[None]:
    with shared_tls_context():
        yield


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One sandbox for a whole battery module: its runs are independent sales."""
    with SandboxServer(tmp_path_factory.mktemp("sandbox-state")) as server:
        yield server


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()
