"""The one place that turns a provider profile into a working adapter.

profile (+ the keyring secret, or the sandbox's built-in credentials) → the adapter's
config → the adapter. Adapters are imported on first use: they pull in httpx, which
start-up does not need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pos_app.config.settings import PROVIDER_KINDS, ProviderKind, ProviderProfile, profile_problems
from pos_app.providers.base import PaymentProvider
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.types import AmountLimits


@dataclass(frozen=True)
class SandboxCredentials:
    """The simulator's published test credentials, handed in by the composition root
    (only it may import pos_sandbox)."""

    justifi_client_id: str
    justifi_client_secret: str
    justifi_sub_account: str
    checkout_com_secret_key: str
    checkout_com_public_key: str
    checkout_com_processing_channel: str
    recharge_access_token: str
    payfect_api_key: str


@dataclass(frozen=True)
class Endpoints:
    api: str
    hosted: str | None


def kind_of(profile: ProviderProfile) -> ProviderKind:
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
            hosted = f"{api}/hosted-checkout" if kind.key == "justifi" else api
        else:
            hosted = kind.live_hosted
    return Endpoints(api, hosted)


def amount_limits(profile: ProviderProfile) -> AmountLimits:
    """The profile's limits without importing its adapter (start-up path)."""
    kind = kind_of(profile)
    if kind.key == "justifi":
        from pos_app.providers.justifi.limits import amount_limits as justifi

        return justifi(profile.currency)
    if kind.key == "checkout_com":
        from pos_app.providers.checkout_com.limits import amount_limits as checkout_com

        return checkout_com(profile.currency)
    if kind.key == "recharge":
        from pos_app.providers.recharge.limits import amount_limits as recharge

        return recharge(profile.currency)
    from pos_app.providers.payfect.limits import amount_limits as payfect

    return payfect(profile.currency)


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
    if profile.is_sandbox:
        if sandbox_credentials is None:
            raise ConfigurationError("Sandbox credentials were not provided", provider=kind.key)
        credentials = sandbox_credentials
        secret = _sandbox_secret(kind.key, credentials)
    where = endpoints(profile, sandbox_url, approved_hosts)  # an unapproved host: refused first
    if not secret:
        raise ConfigurationError(
            f"No {kind.credential_label.lower()} is saved for “{profile.name}”: "
            "enter it in Settings.",
            provider=kind.key,
        )
    builder = _BUILDERS[kind.key]
    return builder(profile, where, secret, sandbox_credentials if profile.is_sandbox else None)


def _sandbox_secret(key: str, credentials: SandboxCredentials) -> str:
    return {
        "justifi": credentials.justifi_client_secret,
        "checkout_com": credentials.checkout_com_secret_key,
        "recharge": credentials.recharge_access_token,
        "payfect": credentials.payfect_api_key,
    }[key]


def _justifi(
    profile: ProviderProfile, where: Endpoints, secret: str, sandbox: SandboxCredentials | None
) -> PaymentProvider:
    from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider

    return JustifiProvider(
        JustifiConfig(
            api_base_url=where.api,
            hosted_checkout_base_url=where.hosted or "",
            client_id=profile.client_id or (sandbox.justifi_client_id if sandbox else ""),
            client_secret=secret,
            sub_account=profile.sub_account or (sandbox.justifi_sub_account if sandbox else ""),
            currency=profile.currency,
            **_justifi_flow(profile, where),
        )
    )


def _justifi_flow(profile: ProviderProfile, where: Endpoints) -> dict[str, Any]:
    """The legacy session flow, when the profile asks for it (its pages: JustiFi's, or the
    simulator's under the same prefix)."""
    if profile.hosted_flow != "checkout_session":
        return {}
    flow: dict[str, Any] = {"hosted_flow": "checkout_session"}
    if profile.is_sandbox:
        flow["legacy_session_base_url"] = f"{where.api}/r"
    return flow


def _checkout_com(
    profile: ProviderProfile, where: Endpoints, secret: str, sandbox: SandboxCredentials | None
) -> PaymentProvider:
    from pos_app.providers.checkout_com.adapter import CheckoutComConfig, CheckoutComProvider

    channel = profile.processing_channel_id or (
        sandbox.checkout_com_processing_channel if sandbox else ""
    )
    config = CheckoutComConfig(
        api_base_url=where.api,
        secret_key=secret,
        processing_channel_id=channel,
        currency=profile.currency,
        auth_style="raw" if profile.auth_style == "raw" else "bearer",
    )
    if profile.billing_country:  # else the adapter's default
        config = replace(config, billing_country=profile.billing_country)
    return CheckoutComProvider(config)


SANDBOX_RECEIPT_EMAIL = "receipts@sandbox.pos-app.invalid"


def _recharge(
    profile: ProviderProfile, where: Endpoints, secret: str, sandbox: SandboxCredentials | None
) -> PaymentProvider:
    from pos_app.providers.recharge.adapter import RechargeConfig, RechargeProvider

    config = RechargeConfig(
        api_base_url=where.api,
        access_token=secret,
        currency=profile.currency,
        hosted_base_url=where.hosted or "",
        # ReCharge will not charge a checkout without an email; a sandbox till needs none set.
        receipt_email=profile.receipt_email
        or (SANDBOX_RECEIPT_EMAIL if profile.is_sandbox else None),
    )
    if profile.api_version:  # else the adapter's default
        config = replace(config, api_version=profile.api_version)
    return RechargeProvider(config)


def _payfect(
    profile: ProviderProfile, where: Endpoints, secret: str, sandbox: SandboxCredentials | None
) -> PaymentProvider:
    from pos_app.providers.payfect.adapter import PayfectConfig, PayfectProvider

    return PayfectProvider(
        PayfectConfig(api_base_url=where.api, api_key=secret, sale_currency=profile.currency)
    )


_Builder = Callable[[ProviderProfile, Endpoints, str, SandboxCredentials | None], PaymentProvider]
_BUILDERS: dict[str, _Builder] = {
    "justifi": _justifi,
    "checkout_com": _checkout_com,
    "recharge": _recharge,
    "payfect": _payfect,
}
assert set(_BUILDERS) == set(PROVIDER_KINDS), "every provider kind needs a builder"
