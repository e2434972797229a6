"""Profile → adapter: the right provider, its limits, and the profile's fields reach the config."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from pos_app.config.registry import SandboxCredentials, amount_limits, build_provider
from pos_app.config.settings import ProviderProfile, default_profiles
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.registry import PROVIDERS

if TYPE_CHECKING:
    from pos_app.providers.base import PaymentProvider

CREDENTIALS = SandboxCredentials(
    {
        "justifi": {"client_id": "test_id", "client_secret": "secret", "sub_account": "acc_1"},
        "checkout_com": {
            "secret_key": "sk_sbox_" + "a" * 27,
            "public_key": "pk_sbox_" + "a" * 27,
            "processing_channel_id": "pc_1",
        },
        "recharge": {"access_token": "token"},
        "payfect": {"api_key": "Key.value"},
    }
)
SANDBOX_URL = "http://127.0.0.1:9"


def build(profile: ProviderProfile) -> PaymentProvider:
    provider = build_provider(
        profile, secret=None, sandbox_url=SANDBOX_URL, sandbox_credentials=CREDENTIALS
    )
    asyncio.run(provider.aclose())
    return provider


@pytest.mark.parametrize("profile", default_profiles(), ids=lambda p: p.provider)
def test_each_sandbox_profile_builds_its_own_providers_adapter(profile: ProviderProfile) -> None:
    provider = build(profile)
    assert provider.key == profile.provider
    assert provider.display_name == PROVIDERS[profile.provider].display_name
    assert provider.limits == amount_limits(profile)
    assert provider.limits.currency == "USD"


def test_limits_follow_the_profile_currency() -> None:
    yen = ProviderProfile(name="Tokyo", provider="checkout_com", currency="JPY")
    assert amount_limits(yen).currency == "JPY"
    assert amount_limits(ProviderProfile(name="J", provider="justifi")).minimum == 51


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (ProviderProfile(name="R", provider="recharge", api_version="1999-01"), "1999-01"),
        (ProviderProfile(name="C", provider="checkout_com", billing_country="gb"), "'gb'"),
        (ProviderProfile(name="P", provider="payfect", currency="EUR"), "EUR"),
    ],
)
def test_provider_fields_reach_the_adapters_config(profile: ProviderProfile, message: str) -> None:
    """The adapter's own checks see what the profile holds (so nothing is silently dropped)."""
    with pytest.raises(ConfigurationError, match=message):
        build(profile)


def test_a_sandbox_profile_needs_the_sandbox_credentials() -> None:
    with pytest.raises(ConfigurationError, match="Sandbox credentials"):
        build_provider(ProviderProfile(name="S", provider="payfect"), secret=None)


def test_an_unknown_provider_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown provider"):
        build_provider(ProviderProfile(name="S", provider="stripe"), secret="x")
