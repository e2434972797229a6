from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import pytest

from pos_app.journal.store import JournalStore
from pos_app.services.payments import PaymentService
from pos_sandbox.server import SandboxServer
from tests.conformance.harness import HARNESSES, Harness

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path

    from pos_app.providers.base import PaymentProvider

T = TypeVar("T")
PROFILE = "Till"


class Till:
    """One provider's adapter on the sandbox, behind the real PaymentService and journal."""

    def __init__(self, sandbox: SandboxServer, harness: Harness, journal: JournalStore) -> None:
        self.sandbox = sandbox
        self.harness = harness
        self.journal = journal
        self.base_url = sandbox.base_url

    def run(self, body: Callable[[PaymentService, PaymentProvider], Awaitable[T]]) -> T:
        async def go() -> T:
            provider = self.harness.build(self.base_url)
            try:
                return await body(PaymentService(self.journal, {PROFILE: provider}), provider)
            finally:
                await provider.aclose()

        return asyncio.run(go())


@pytest.fixture(params=HARNESSES, ids=str)
def harness(request: pytest.FixtureRequest) -> Harness:
    h: Harness = request.param
    return h


@pytest.fixture
def till(tmp_path: Path, harness: Harness) -> Iterator[Till]:
    journal = JournalStore.open(tmp_path / "journal.sqlite3")
    with SandboxServer(tmp_path / "sandbox-state") as sandbox:
        yield Till(sandbox, harness, journal)
    journal.close()
