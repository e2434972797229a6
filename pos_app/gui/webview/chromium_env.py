"""Environment QtWebEngine reads when it first loads; must run before that import."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def prepare_chromium_environment() -> None:
    # Chromium refuses to start as root with its sandbox on; ordinary users keep the sandbox.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        log.warning("Running as root: Chromium's sandbox is disabled for the checkout web view")
    # No update checks, sync or other calls home from the checkout view.
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    extra = "--disable-background-networking --disable-component-update --disable-sync"
    if extra not in flags:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} {extra}".strip()
