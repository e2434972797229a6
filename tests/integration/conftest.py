from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pos_app.sandbox.server import SandboxServer


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """The sandbox serving on a free loopback port, with its state in a fresh directory."""
    with SandboxServer(tmp_path / "sandbox-state") as server:
        yield server
