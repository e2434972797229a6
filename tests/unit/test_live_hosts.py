"""A live profile's secret goes only to its provider's published hosts, and is bound to the
host it was entered for."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pos_app.config.registry import build_provider
from pos_app.config.secrets import SecretStore
from pos_app.config.settings import (
    ProviderProfile,
    Settings,
    SettingsError,
    check_settings,
    profile_problems,
    settings_document,
    settings_from_document,
)
from pos_app.providers.errors import ConfigurationError


def live(provider: str = "justifi", **fields: str) -> ProviderProfile:
    base: dict[str, str] = {"client_id": "live_1", "sub_account": "acc_1"}
    if provider == "checkout_com":
        base = {"processing_channel_id": "pc_1"}
    return ProviderProfile(name="Shop", provider=provider, environment="live", **{**base, **fields})


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("justifi", "https://api.justifi.ai.evil.example"),
        ("justifi", "https://evil.example/justifi"),
        ("checkout_com", "https://api.checkout.com.evil.example"),
        ("recharge", "https://127.0.0.1:8765/recharge"),
        ("payfect", "https://payfect.finance.evil.example"),
    ],
)
def test_a_live_profile_refuses_any_host_its_provider_does_not_publish(
    provider: str, url: str
) -> None:
    profile = live(provider, api_base_url=url)
    [problem] = [p for p in profile_problems(profile) if p.field == "api_base_url"]
    assert "published hosts" in problem.message
    # A hand-edited settings file is refused too: the adapter is never built.
    with pytest.raises(ConfigurationError, match="published hosts"):
        build_provider(profile, secret="live-secret")


def test_published_hosts_and_sandbox_profiles_are_accepted() -> None:
    assert not [
        p
        for p in profile_problems(live(api_base_url="https://api.justifi.ai"))
        if "host" in p.message
    ]
    merchant = live("checkout_com", api_base_url="https://abc123.api.checkout.com")
    assert not [p for p in profile_problems(merchant) if p.field == "api_base_url"]
    sandbox = ProviderProfile(name="Test", provider="justifi", api_base_url="http://127.0.0.1:9/")
    assert not [p for p in profile_problems(sandbox) if p.field == "api_base_url"]


def test_the_secret_is_bound_to_the_host_it_was_entered_for() -> None:
    store = SecretStore()
    default = live("checkout_com")
    store.set(default, "sk_live_default")
    assert default.secret_key_name() == "Shop:secret_key"  # as before for the default host
    moved = live("checkout_com", api_base_url="https://abc123.api.checkout.com")
    assert moved.secret_key_name() == "Shop:secret_key@abc123.api.checkout.com"
    assert store.get(moved) is None  # pointed elsewhere: the secret must be entered again


def test_an_administrator_approved_host_is_accepted_for_that_profile_and_provider_only() -> None:
    store = SecretStore()
    proxy = live("checkout_com", api_base_url="https://payments.store.example")
    store.approve_hosts(proxy, ["payments.store.example"])
    approved = store.approved_hosts(proxy)
    assert approved == {"payments.store.example"}
    assert not [p for p in profile_problems(proxy, approved) if p.field == "api_base_url"]
    adapter = build_provider(proxy, secret="sk_live", approved_hosts=approved)
    assert adapter.key == "checkout_com"

    # Another host, or the same name on another provider, is not covered by the approval.
    elsewhere = live("checkout_com", api_base_url="https://evil.example")
    with pytest.raises(ConfigurationError, match="published hosts"):
        build_provider(elsewhere, secret="sk_live", approved_hosts=store.approved_hosts(elsewhere))
    payfect = live("payfect", api_base_url="https://payments.store.example")
    assert store.approved_hosts(payfect) == frozenset()


def test_renaming_keeps_the_secret_and_approvals_but_a_new_host_asks_for_the_secret_again() -> None:
    store = SecretStore()
    shop = live("checkout_com", api_base_url="https://payments.store.example")
    store.set(shop, "sk_live_1")
    store.approve_hosts(shop, ["payments.store.example"])

    renamed = replace(shop, name="Shop 2")
    store.move(shop, renamed)
    assert store.get(renamed) == "sk_live_1"
    assert store.approved_hosts(renamed) == {"payments.store.example"}
    assert store.get(shop) is None
    assert store.approved_hosts(shop) == frozenset()

    moved = replace(renamed, api_base_url="https://abc123.api.checkout.com")
    store.move(renamed, moved)
    assert store.get(moved) is None  # entered for another host: never carried over
    assert store.get(renamed) is None


def test_reading_the_settings_file_leaves_hosts_to_the_keyrings_approvals() -> None:
    proxy = live("checkout_com", api_base_url="https://payments.store.example")
    settings = Settings().with_profile(proxy)
    # The file alone cannot say whether an administrator approved the host: it loads ...
    assert settings_from_document(settings_document(settings)) == settings
    # ... and the app, which asks the keyring, refuses it until one did.
    with pytest.raises(SettingsError, match="unless an administrator approves it"):
        check_settings(settings, {})
    check_settings(settings, {"Shop": frozenset({"payments.store.example"})})
