"""The web component assets for tests: pos_app.platform.assets with a cache in the real home.

Tests move HOME and XDG_CACHE_HOME per test, so the cache is resolved once, at import time:
``$POS_APP_ASSETS_CACHE`` or ``~/.cache/pos_app-test-assets`` of the real home.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from pos_app.platform import assets
from pos_app.platform.assets import AssetsUnavailable, WebComponentAssets

__all__ = ["CACHE_DIR", "AssetsUnavailable", "WebComponentAssets", "fetch_assets"]


def _real_home() -> Path:
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        return Path.home()


CACHE_DIR = Path(
    os.environ.get("POS_APP_ASSETS_CACHE") or _real_home() / ".cache" / "pos_app-test-assets"
)


def fetch_assets() -> WebComponentAssets:
    return assets.fetch_assets(CACHE_DIR)
