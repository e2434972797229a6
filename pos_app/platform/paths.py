"""Where pos_app keeps its files: one place decides, everything else asks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "pos_app"
APP_AUTHOR = "pos_app"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @classmethod
    def under(cls, basedir: Path) -> AppPaths:
        """Everything below one folder (--basedir, tests)."""
        base = basedir.expanduser().resolve()
        return cls(base / "config", base / "data", base / "logs", base / "cache")

    @classmethod
    def for_user(cls) -> AppPaths:
        """The platform's usual per-user locations."""
        import platformdirs  # only needed without --basedir

        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
            Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
            Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
            Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)),
        )

    @classmethod
    def resolve(cls, basedir: Path | None) -> AppPaths:
        return cls.under(basedir) if basedir is not None else cls.for_user()

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def journal_file(self) -> Path:
        return self.data_dir / "journal.sqlite3"

    @property
    def sandbox_state_dir(self) -> Path:
        return self.data_dir / "sandbox"

    @property
    def web_assets_dir(self) -> Path:
        """npm packages the embedded checkout serves (``pos-app assets fetch``)."""
        return self.cache_dir / "web-assets"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "pos_app.log"

    def ensure(self) -> None:
        """Create the folders, readable by the owner only (they hold payment data)."""
        for folder in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            made = [folder, *(p for p in folder.parents if not p.exists())]
            folder.mkdir(parents=True, exist_ok=True)
            for path in made:  # the app's own parent folders too (…/state/pos_app)
                os.chmod(path, 0o700)
