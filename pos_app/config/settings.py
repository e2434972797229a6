"""User settings: provider profiles and preferences, as JSON in the config folder.

Secrets never live here: a live profile's secret is in the OS keyring under
``KEYRING_SERVICE`` / ``profile.secret_key_name()`` (see pos_app/config/secrets.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pos_app.domain.money import MoneyError, currency_exponent
from pos_app.providers.registry import PROVIDERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.spec import ProviderSpec

Environment = Literal["sandbox", "live"]
ENVIRONMENTS: tuple[Environment, ...] = ("sandbox", "live")
KEYRING_SERVICE = "pos_app"
SETTINGS_VERSION = 2  # files without a version are the JustiFi-only format; they still load

MAX_IDLE_LOCK_MINUTES = 720  # IdleLock's longest: 12 hours


FIELD_LABELS = {
    "name": "Name",
    "provider": "Provider",
    "environment": "Environment",
    "api_base_url": "API base URL",
    "hosted_checkout_base_url": "Hosted checkout URL",
    "client_id": "Client ID",
    "sub_account": "Sub-account",
    "currency": "Currency",
    "processing_channel_id": "Processing channel",
    "billing_country": "Billing country",
    "auth_style": "Account type",
    "api_version": "API version",
    "receipt_email": "Receipt email",
    "hosted_flow": "Hosted page",
}


@dataclass(frozen=True)
class ProviderProfile:
    """How to reach one provider account.

    A sandbox profile with no ``api_base_url`` uses the built-in simulator the app
    starts itself; one with a URL talks to a standalone ``pos-app sandbox``. Empty
    optional fields fall back to the provider's defaults (see pos_app/config/registry.py).
    """

    name: str
    provider: str
    environment: Environment = "sandbox"
    api_base_url: str | None = None
    hosted_checkout_base_url: str | None = None
    client_id: str | None = None
    sub_account: str | None = None
    currency: str = "USD"
    processing_channel_id: str | None = None
    billing_country: str | None = None
    auth_style: str | None = None
    api_version: str | None = None
    receipt_email: str | None = None
    hosted_flow: str | None = None  # JustiFi: "checkout" (default) or "checkout_session"

    @property
    def is_sandbox(self) -> bool:
        return self.environment == "sandbox"

    @property
    def kind(self) -> ProviderSpec | None:
        return PROVIDERS.get(self.provider)

    @property
    def provider_name(self) -> str:
        kind = self.kind
        return kind.display_name if kind else self.provider

    @property
    def needs_secret(self) -> bool:
        """Sandbox profiles use the simulator's built-in credentials."""
        return not self.is_sandbox

    def secret_key_name(self) -> str:
        """The keyring entry of this profile's secret, bound to the host it is sent to: a
        profile pointed at another host finds no secret there and asks for it again."""
        kind = self.kind
        name = f"{self.name}:{kind.credential_field if kind else 'client_secret'}"
        host = self.api_host()
        return name if host is None or (kind and host == _host(kind.live_api)) else f"{name}@{host}"

    def api_host(self) -> str | None:
        """The host a live profile's secret goes to (None for sandbox profiles)."""
        kind = self.kind
        if self.is_sandbox or kind is None:
            return None
        return _host(self.api_base_url or kind.live_api)


def sandbox_profile(provider: str) -> ProviderProfile:
    kind = PROVIDERS[provider]
    return ProviderProfile(
        name=f"Sandbox — {kind.display_name}", provider=provider, currency=kind.default_currency
    )


def default_profiles() -> tuple[ProviderProfile, ...]:
    return tuple(sandbox_profile(key) for key in PROVIDERS)


@dataclass(frozen=True)
class Settings:
    profiles: tuple[ProviderProfile, ...] = field(default_factory=default_profiles)
    default_profile: str = "Sandbox — JustiFi"
    locale: str = "en_US"
    store_name: str = "Corner Bakery"
    # A loopback receiver for provider webhooks (the built-in sandbox delivers to it); the
    # checkout screen's polling goes on either way.
    webhooks: bool = False
    webhook_port: int = 0  # 0: any free port
    # Providers' secure pages open in the system browser instead of the till's own view
    # (the till then polls: it cannot see the browser's return URLs).
    secure_page_in_browser: bool = False
    # Staff (they apply once users exist): sign-in on start, auto-lock after idle minutes,
    # and refunds / voids above these amounts (minor units of the default profile's
    # currency; None: no amount rule) need a manager's PIN. Older files lack them: defaults.
    require_sign_in: bool = True
    idle_lock_minutes: int = 15
    refund_approval_limit_minor: int | None = None
    void_approval_limit_minor: int | None = None
    # A shift's (the local day's) refunds above this need a manager; None: the refund limit.
    shift_refund_approval_limit_minor: int | None = None

    def active_profile(self) -> ProviderProfile:
        return self.profile(self.default_profile) or self.profiles[0]

    def profile(self, name: str) -> ProviderProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def with_profile(self, profile: ProviderProfile, *, replacing: str | None = None) -> Settings:
        """Add ``profile``, or put it in the place of the one called ``replacing``."""
        if replacing is None:
            return replace(self, profiles=(*self.profiles, profile))
        profiles = tuple(profile if p.name == replacing else p for p in self.profiles)
        default = profile.name if self.default_profile == replacing else self.default_profile
        return replace(self, profiles=profiles, default_profile=default)

    def without_profile(self, name: str) -> Settings:
        return replace(self, profiles=tuple(p for p in self.profiles if p.name != name))

    def with_default(self, name: str) -> Settings:
        return replace(self, default_profile=name)


class SettingsError(Exception):
    pass


# -- validation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason settings are refused; ``field`` lets the form point at the culprit."""

    profile: str
    field: str
    message: str
    # An administrator may lift this one (a live host the provider does not publish).
    approvable: bool = False


def unpublished_hosts(profile: ProviderProfile) -> dict[str, str]:
    """The URL fields of a live profile whose host its provider does not publish → host."""
    kind = profile.kind
    if profile.is_sandbox or kind is None:
        return {}
    found = {}
    for name in ("api_base_url", "hosted_checkout_base_url"):
        host = _host(getattr(profile, name) or "")
        if host and not kind.publishes(host):
            found[name] = host
    return found


def profile_problems(
    profile: ProviderProfile, approved_hosts: frozenset[str] = frozenset()
) -> list[Problem]:
    """What is wrong with one profile on its own (names are checked across profiles).

    ``approved_hosts``: unpublished hosts an administrator approved for this profile (kept
    in the keyring, never in the settings file: see SecretStore.approved_hosts).
    """
    found: list[Problem] = []

    def problem(name: str, message: str) -> None:
        found.append(Problem(profile.name, name, message))

    if not profile.name.strip():
        problem("name", "Give the profile a name.")
    elif profile.name != profile.name.strip():
        problem("name", "The name must not start or end with spaces.")
    kind = profile.kind
    if kind is None:
        names = ", ".join(k.display_name for k in PROVIDERS.values())
        problem("provider", f"Unknown provider “{profile.provider}” (choose one of {names}).")
    if profile.environment not in ENVIRONMENTS:
        problem("environment", f"Environment must be sandbox or live, not “{profile.environment}”.")
    for name in ("api_base_url", "hosted_checkout_base_url"):
        message = _url_problem(getattr(profile, name), live=not profile.is_sandbox)
        if message:
            problem(name, f"{FIELD_LABELS[name]}: {message}")
    if kind is None:
        return found
    for name, host in unpublished_hosts(profile).items():
        if host not in approved_hosts:
            found.append(
                Problem(
                    profile.name,
                    name,
                    f"A live {kind.display_name} profile talks only to "
                    f"{kind.display_name}'s published hosts ({', '.join(kind.live_hosts)}); "
                    f"“{host}” is not one of them unless an administrator approves it "
                    "(Settings, with their PIN and the secret typed again).",
                    approvable=True,
                )
            )
    currency_message = _currency_problem(kind, profile.currency)
    if currency_message:
        problem("currency", currency_message)
    if not profile.is_sandbox:
        for name in kind.live_required:
            if not (getattr(profile, name) or "").strip():
                problem(name, f"A live {kind.display_name} profile needs a {FIELD_LABELS[name]}.")
    found.extend(_provider_field_problems(profile, kind))
    return found


def settings_problems(
    settings: Settings, approved_hosts: Mapping[str, frozenset[str]] | None = None
) -> list[Problem]:
    """Everything wrong with ``settings``.

    ``approved_hosts``: profile name → the unpublished hosts an administrator approved for
    it. None (reading the file, where the keyring is not at hand) leaves live hosts to the
    registry, which refuses to build an adapter for an unapproved one.
    """
    approved = approved_hosts or {}
    found: list[Problem] = []
    if not settings.profiles:
        found.append(Problem("", "name", "Keep at least one provider profile."))
    seen: set[str] = set()
    for profile in settings.profiles:
        found.extend(
            p
            for p in profile_problems(profile, approved.get(profile.name, frozenset()))
            if approved_hosts is not None or not p.approvable
        )
        key = profile.name.strip().casefold()
        if key in seen:
            found.append(
                Problem(
                    profile.name, "name", f"Another profile is already called “{profile.name}”."
                )
            )
        seen.add(key)
    found.extend(_staff_problems(settings))
    if settings.profiles and settings.profile(settings.default_profile) is None:
        found.append(
            Problem(
                settings.default_profile,
                "name",
                f"The default profile “{settings.default_profile}” does not exist.",
            )
        )
    return found


def _staff_problems(settings: Settings) -> list[Problem]:
    found: list[Problem] = []
    minutes = settings.idle_lock_minutes
    if not _is_int(minutes) or not 1 <= minutes <= MAX_IDLE_LOCK_MINUTES:
        found.append(
            Problem(
                "",
                "idle_lock_minutes",
                f"The auto-lock time is 1 to {MAX_IDLE_LOCK_MINUTES} minutes, not “{minutes}”.",
            )
        )
    for name in ("require_sign_in", "secure_page_in_browser", "webhooks"):
        if not isinstance(getattr(settings, name), bool):
            found.append(Problem("", name, f"{name} is true or false."))
    for name in (
        "refund_approval_limit_minor",
        "void_approval_limit_minor",
        "shift_refund_approval_limit_minor",
    ):
        limit = getattr(settings, name)
        if limit is not None and (not _is_int(limit) or limit < 0):
            found.append(
                Problem("", name, f"An approval limit is whole minor units (cents), not “{limit}”.")
            )
    return found


def _is_int(value: object) -> bool:
    """Integers only: JSON's true/false are ints to Python, and floats never hold money."""
    return isinstance(value, int) and not isinstance(value, bool)


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _url_problem(url: str | None, *, live: bool) -> str | None:
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"“{url}” is not a web address (it should start with https://)."
    if parts.query or parts.fragment or " " in url:
        return f"“{url}” must be a plain address, without spaces, ? or #."
    if live and parts.scheme != "https":
        return "a live profile must use https:// (secrets and card data travel over it)."
    return None


def _currency_problem(kind: ProviderSpec, currency: str) -> str | None:
    if kind.currencies is not None:
        if currency in kind.currencies:
            return None
        return f"{kind.display_name} takes {' or '.join(kind.currencies)}, not “{currency}”."
    try:
        exponent = currency_exponent(currency)
    except MoneyError:
        return f"“{currency}” is not a currency code this app knows."
    if currency != currency.upper():
        return f"Write the currency code in capitals: {currency.upper()}."
    counted_otherwise = kind.currency_problem(currency)
    if counted_otherwise:
        return counted_otherwise
    if kind.exponent is not None and exponent != kind.exponent:
        return (
            f"{kind.display_name} prices in amounts with {kind.exponent} decimal places; "
            f"{currency} has {exponent}."
        )
    return None


# How a choice field's unknown value is named in its problem.
_CHOICE_NAMES = {
    "auth_style": "account type",
    "hosted_flow": "hosted page",
    "api_version": "API version",
}


def _provider_field_problems(profile: ProviderProfile, kind: ProviderSpec) -> list[Problem]:
    """The provider's own fields: a choice among its values, then the provider's checks."""
    values = {name: getattr(profile, name) or "" for name in kind.fields}
    found: list[Problem] = []
    for name, allowed in kind.choices.items():
        value = values.get(name, "")
        if value and value not in allowed:
            if name == "api_version":
                message = f"{kind.display_name} API version must be one of {', '.join(allowed)}."
            else:
                message = f"Unknown {_CHOICE_NAMES.get(name, name)} “{value}”."
            found.append(Problem(profile.name, name, message))
    found.extend(
        Problem(profile.name, name, message) for name, message in kind.field_problems(values)
    )
    return found


def check_settings(
    settings: Settings, approved_hosts: Mapping[str, frozenset[str]] | None = None
) -> None:
    problems = settings_problems(settings, approved_hosts)
    if problems:
        raise SettingsError("\n".join(p.message for p in problems))


# -- on disk -----------------------------------------------------------------------------

_PROFILE_FIELDS = frozenset(f.name for f in fields(ProviderProfile))
_SETTINGS_FIELDS = frozenset(f.name for f in fields(Settings)) - {"profiles"}


def load_settings(path: Path) -> Settings:
    """Read settings, writing defaults on first start."""
    if not path.exists():
        settings = Settings()
        save_settings(path, settings)
        return settings
    try:
        return settings_from_document(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, SettingsError) as exc:
        raise SettingsError(f"{path} is not valid pos_app settings: {exc}") from exc


def settings_document(settings: Settings) -> dict[str, Any]:
    """What ``save_settings`` writes (and ``settings_from_document`` reads back)."""
    return {"version": SETTINGS_VERSION, **asdict(settings)}


def settings_from_document(document: object) -> Settings:
    """Settings from their JSON document; TypeError/ValueError/SettingsError say what is off."""
    if not isinstance(document, dict):
        raise TypeError("the file does not hold a JSON object")
    raw: dict[str, Any] = dict(document)
    raw.pop("version", None)
    profiles = tuple(_profile_from(p) for p in raw.pop("profiles", []))
    unknown = set(raw) - _SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    settings = Settings(profiles=profiles or default_profiles(), **raw)
    check_settings(settings)
    return settings


def settings_changes(previous: Settings, settings: Settings) -> dict[str, Any]:
    """Which settings and profiles differ: what the audit trail records of a change."""
    profiles = {p.name: p for p in settings.profiles}
    before = {p.name: p for p in previous.profiles}
    return {
        "changed": sorted(
            name
            for name in vars(settings)
            if name != "profiles" and getattr(settings, name) != getattr(previous, name)
        ),
        "profiles_added": sorted(profiles.keys() - before.keys()),
        "profiles_removed": sorted(before.keys() - profiles.keys()),
        "profiles_edited": sorted(
            n for n in profiles.keys() & before.keys() if profiles[n] != before[n]
        ),
        "default_profile": settings.default_profile,
    }


def _profile_from(raw: object) -> ProviderProfile:
    if not isinstance(raw, dict):
        raise TypeError("a profile is not a JSON object")
    unknown = set(raw) - _PROFILE_FIELDS
    if unknown:
        raise TypeError(f"unknown profile field(s) {', '.join(sorted(unknown))}")
    return ProviderProfile(**raw)


def save_settings(path: Path, settings: Settings) -> None:
    """Validate, then write atomically with owner-only permissions."""
    check_settings(settings)
    document = settings_document(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
