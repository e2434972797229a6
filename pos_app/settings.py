"""User settings: provider profiles and preferences, as JSON in the config folder.

Secrets never live here: a live profile's client secret is in the OS keyring
under ``keyring_service`` / ``secret_key_name(profile)``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

Environment = Literal["sandbox", "live"]
KEYRING_SERVICE = "pos_app"

JUSTIFI_LIVE_API = "https://api.justifi.ai"
JUSTIFI_LIVE_HOSTED = "https://components.justifi.ai/hosted-checkout"


@dataclass(frozen=True)
class ProviderProfile:
    """How to reach one provider account.

    A sandbox profile with no ``api_base_url`` uses the built-in simulator the app
    starts itself; one with a URL talks to a standalone ``pos-app sandbox``.
    """

    name: str
    provider: str
    environment: Environment = "sandbox"
    api_base_url: str | None = None
    hosted_checkout_base_url: str | None = None
    client_id: str | None = None
    sub_account: str | None = None
    currency: str = "USD"

    @property
    def is_sandbox(self) -> bool:
        return self.environment == "sandbox"

    def secret_key_name(self) -> str:
        return f"{self.name}:client_secret"


def default_profiles() -> list[ProviderProfile]:
    return [ProviderProfile(name="Sandbox — JustiFi", provider="justifi")]


@dataclass(frozen=True)
class Settings:
    profiles: list[ProviderProfile] = field(default_factory=default_profiles)
    default_profile: str = "Sandbox — JustiFi"
    locale: str = "en_US"
    store_name: str = "Corner Bakery"

    def active_profile(self) -> ProviderProfile:
        for profile in self.profiles:
            if profile.name == self.default_profile:
                return profile
        return self.profiles[0]


class SettingsError(Exception):
    pass


def load_settings(path: Path) -> Settings:
    """Read settings, writing defaults on first start."""
    if not path.exists():
        settings = Settings()
        save_settings(path, settings)
        return settings
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        profiles = [ProviderProfile(**p) for p in raw.pop("profiles", [])] or default_profiles()
        settings = Settings(profiles=profiles, **raw)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{path} is not valid pos_app settings: {exc}") from exc
    if not settings.profiles:
        settings = replace(settings, profiles=default_profiles())
    return settings


def save_settings(path: Path, settings: Settings) -> None:
    """Atomic write, owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(settings), handle, indent=2, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
