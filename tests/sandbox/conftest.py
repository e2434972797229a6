from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from pos_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """The sandbox serving on a free loopback port, with its state in a fresh directory."""
    with SandboxServer(tmp_path / "sandbox-state") as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """An HTTP client of that sandbox, carrying its control token."""
    with httpx.Client(
        base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
    ) as http:
        yield http
