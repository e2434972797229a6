"""The one place that turns a provider profile into a working adapter.

profile (+ the keyring secret, or the sandbox's built-in credentials) → where it talks
(``endpoints``) → a ``ProviderSetup`` → its provider's ``ProviderSpec.build`` → the adapter.
Adapters are imported on first use: they pull in httpx, which start-up does not need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pos_app.config.settings import ProviderProfile, profile_problems
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.spec import ProviderSetup, ProviderSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pos_app.providers.base import PaymentProvider
    from pos_app.providers.types import AmountLimits


@dataclass(frozen=True)
class SandboxCredentials:
    """The simulator's published test credentials, handed in by the composition root (only
    it may import pos_sandbox): provider key → profile field (its ``credential_field`` for
    the secret, its ``fields`` for the rest, ``public_key`` for card fields) → value."""

    by_provider: Mapping[str, Mapping[str, str]]

    def of(self, provider: str) -> Mapping[str, str]:
        return self.by_provider.get(provider, {})


@dataclass(frozen=True)
class Endpoints:
    api: str
    hosted: str | None


def kind_of(profile: ProviderProfile) -> ProviderSpec:
    kind = profile.kind
    if kind is None:
        raise ConfigurationError(f"Profile “{profile.name}” names an unknown provider")
    return kind


def uses_builtin_sandbox(profile: ProviderProfile) -> bool:
    """A sandbox profile without a URL talks to the simulator the app starts itself."""
    return profile.is_sandbox and not profile.api_base_url


def endpoints(
    profile: ProviderProfile,
    sandbox_url: str | None,
    approved_hosts: frozenset[str] = frozenset(),
) -> Endpoints:
    """Where the profile's API and hosted pages are: its own URLs, else the defaults.

    A live profile is refused any host its provider does not publish (a hand-edited
    settings file included): its secret would be sent there. ``approved_hosts`` are the
    ones an administrator approved for it (from the keyring).
    """
    kind = kind_of(profile)
    problems = [
        p.message
        for p in profile_problems(profile, approved_hosts)
        if p.field in ("api_base_url", "hosted_checkout_base_url")
    ]
    if problems and not profile.is_sandbox:
        raise ConfigurationError(" ".join(problems), provider=kind.key)
    if profile.api_base_url:
        api = profile.api_base_url.rstrip("/")
    elif profile.is_sandbox:
        if sandbox_url is None:
            raise ConfigurationError("The built-in sandbox is not running", provider=kind.key)
        api = f"{sandbox_url.rstrip('/')}/{kind.sandbox_prefix}"
    else:
        api = kind.live_api
    hosted: str | None = None
    if kind.has_hosted_url:
        if profile.hosted_checkout_base_url:
            hosted = profile.hosted_checkout_base_url.rstrip("/")
        elif profile.is_sandbox:
            # The simulator serves the hosted pages under the provider's prefix.
            hosted = f"{api}/{kind.sandbox_hosted_path}" if kind.sandbox_hosted_path else api
        else:
            hosted = kind.live_hosted
    return Endpoints(api, hosted)


def amount_limits(profile: ProviderProfile) -> AmountLimits:
    """The profile's limits without importing its adapter (start-up path)."""
    return kind_of(profile).amount_limits(profile.currency)


def build_provider(
    profile: ProviderProfile,
    *,
    secret: str | None,
    sandbox_url: str | None = None,
    sandbox_credentials: SandboxCredentials | None = None,
    approved_hosts: frozenset[str] = frozenset(),
) -> PaymentProvider:
    """The adapter for ``profile``; ConfigurationError says what is missing.

    ``secret`` is the live profile's keyring secret (ignored for sandbox profiles, which
    use ``sandbox_credentials``). ``sandbox_url`` is the built-in simulator's root URL.
    """
    kind = kind_of(profile)
    published: Mapping[str, str] = {}
    if profile.is_sandbox:
        if sandbox_credentials is None:
            raise ConfigurationError("Sandbox credentials were not provided", provider=kind.key)
        published = sandbox_credentials.of(kind.key)
        secret = published.get(kind.credential_field)
    where = endpoints(profile, sandbox_url, approved_hosts)  # an unapproved host: refused first
    if not secret:
        raise ConfigurationError(
            f"No {kind.credential_label.lower()} is saved for “{profile.name}”: "
            "enter it in Settings.",
            provider=kind.key,
        )
    return kind.build(
        ProviderSetup(
            api_base_url=where.api,
            hosted_base_url=where.hosted,
            secret=secret,
            currency=profile.currency,
            options=provider_options(profile, published),
            sandbox=profile.is_sandbox,
        )
    )


def provider_options(profile: ProviderProfile, published: Mapping[str, str]) -> dict[str, str]:
    """The profile's own provider fields; one left empty takes the sandbox's published value
    (``published`` is empty for a live profile)."""
    kind = kind_of(profile)
    return {name: getattr(profile, name) or published.get(name, "") for name in kind.fields}
