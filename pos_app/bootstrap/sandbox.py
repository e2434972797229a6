"""The built-in sandbox, wired into the till: its published credentials and webhook secrets,
and the one in-process simulator that serves all four providers, started on first need.

The only module of pos_app besides cli.py that imports pos_sandbox, and only inside
functions: a till that never trains loads no web server (tests/unit/test_sandbox_boundary.py).
Nothing here imports Qt, so tests that only need the credentials run without it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pos_app.config.registry import SandboxCredentials

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from concurrent.futures import Executor
    from pathlib import Path

    from pos_sandbox.server import SandboxServer as SandboxServer


def sandbox_credentials() -> SandboxCredentials:
    """The simulator's published test credentials."""
    from pos_sandbox import credentials as published

    return SandboxCredentials(
        {
            "justifi": {
                "client_id": published.JUSTIFI_CLIENT_ID,
                "client_secret": published.JUSTIFI_CLIENT_SECRET,
                "sub_account": published.JUSTIFI_SUB_ACCOUNT,
            },
            "checkout_com": {
                "secret_key": published.CHECKOUT_COM_SECRET_KEY,
                "public_key": published.CHECKOUT_COM_PUBLIC_KEY,
                "processing_channel_id": published.CHECKOUT_COM_PROCESSING_CHANNEL,
            },
            "recharge": {"access_token": published.RECHARGE_ACCESS_TOKEN},
            "payfect": {"api_key": published.PAYFECT_API_KEY},
        }
    )


def webhook_secrets(providers: Iterable[str]) -> dict[str, str]:
    """The secret the simulator signs each of ``providers``' webhook events with."""
    from pos_sandbox.credentials import WEBHOOK_SECRETS

    return {key: WEBHOOK_SECRETS[key] for key in providers}


class BuiltinSandbox:
    """The in-process simulator: started once, lazily, by the first profile that needs it
    (``url``), on ``executor``; stopped with the app."""

    def __init__(self, state_dir: Path, *, assets_dir: Path, executor: Executor) -> None:
        self._state_dir = state_dir
        self._assets_dir = assets_dir
        self._executor = executor
        self._lock: asyncio.Lock | None = None
        self.server: SandboxServer | None = None  # None until training starts

    async def url(self) -> str:
        """The running simulator's root URL, starting it on first use."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.server is None:
                from pos_sandbox.server import SandboxServer

                server = SandboxServer(self._state_dir, assets_root=self._assets_dir)
                await asyncio.get_running_loop().run_in_executor(self._executor, server.start)
                self.server = server
                await self._serve_card_form_assets(server)
            return self.server.base_url

    async def _serve_card_form_assets(self, server: SandboxServer) -> None:
        """Point the sandbox's card-form host at the verified npm files, when fetched
        (in-process: no request can tell the sandbox which files to serve)."""
        from pos_app.platform.assets import cached_assets

        found = await asyncio.get_running_loop().run_in_executor(
            self._executor, cached_assets, self._assets_dir
        )
        if found is not None:  # else the card form says how to fetch them
            server.serve_component_assets(found.webcomponents_dir, found.iframe_resizer_file)

    async def register_webhooks(self, urls: Mapping[str, str]) -> None:
        """Have the running simulator deliver each provider's events to ``urls[provider]``."""
        assert self.server is not None
        control = self.server.control
        loop = asyncio.get_running_loop()
        for key in sorted(urls):
            endpoint = {"provider": key, "url": urls[key]}
            await loop.run_in_executor(self._executor, control.post, "webhooks/endpoints", endpoint)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
