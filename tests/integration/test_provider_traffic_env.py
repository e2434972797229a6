"""Provider traffic ignores the environment: a proxy or CA bundle named in a variable (set by
a login script, malware, or a well-meaning admin) never sees or steers a provider request."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from tests.conformance.harness import HARNESSES, Harness

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer


@pytest.mark.parametrize("harness", HARNESSES, ids=str)
def test_proxy_and_ca_variables_are_not_followed(
    sandbox: SandboxServer, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")

    async def check() -> None:
        provider = harness.build(sandbox.base_url)
        try:
            await provider.check_connection()  # reached the sandbox directly
        finally:
            await provider.aclose()

    asyncio.run(check())
