from __future__ import annotations

from tests.sandbox.conftest import sandbox

__all__ = ["sandbox"]  # the adapters' tests run against the same per-test sandbox
