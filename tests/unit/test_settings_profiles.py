"""Provider profiles on disk: what a fresh till gets, what old files hold, what is refused."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pos_app.config.settings import (
    ProviderProfile,
    Settings,
    SettingsError,
    load_settings,
    profile_problems,
    save_settings,
    settings_problems,
)

if TYPE_CHECKING:
    from pathlib import Path

OLD_FORMAT = {
    "profiles": [
        {
            "name": "Shop",
            "provider": "justifi",
            "environment": "live",
            "api_base_url": None,
            "hosted_checkout_base_url": None,
            "client_id": "live_abc",
            "sub_account": "acc_123",
            "currency": "USD",
        },
        {
            "name": "Sandbox — JustiFi",
            "provider": "justifi",
            "environment": "sandbox",
            "api_base_url": None,
            "hosted_checkout_base_url": None,
            "client_id": None,
            "sub_account": None,
            "currency": "USD",
        },
    ],
    "default_profile": "Shop",
    "locale": "en_GB",
    "store_name": "Old Mill",
}


def messages(profile: ProviderProfile) -> str:
    return " ".join(p.message for p in profile_problems(profile))


def test_a_fresh_install_gets_one_sandbox_profile_per_provider(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = load_settings(path)
    assert {p.provider for p in settings.profiles} == {
        "justifi",
        "checkout_com",
        "recharge",
        "payfect",
    }
    assert all(p.is_sandbox for p in settings.profiles)
    assert settings.active_profile().provider == "justifi"
    payfect = next(p for p in settings.profiles if p.provider == "payfect")
    assert payfect.currency == "USD"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_profiles_survive_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    live = ProviderProfile(
        name="High street",
        provider="checkout_com",
        environment="live",
        processing_channel_id="pc_abc",
        billing_country="GB",
        currency="GBP",
    )
    settings = Settings().with_profile(live).with_default("High street")
    save_settings(path, settings)
    loaded = load_settings(path)
    assert loaded == settings
    assert loaded.active_profile() == live
    assert "secret" not in path.read_text(encoding="utf-8").lower()


def test_an_old_settings_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(OLD_FORMAT), encoding="utf-8")
    settings = load_settings(path)
    assert [p.name for p in settings.profiles] == ["Shop", "Sandbox — JustiFi"]
    assert settings.active_profile().client_id == "live_abc"
    assert settings.locale == "en_GB"
    assert settings.store_name == "Old Mill"


def test_a_broken_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"profiles": [{"name": "x", "provider": "justifi", "colour": 3}]}', "utf-8")
    with pytest.raises(SettingsError, match="colour"):
        load_settings(path)
    assert "colour" in path.read_text(encoding="utf-8")


def test_saving_refuses_invalid_settings_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(path, Settings())
    before = path.read_text(encoding="utf-8")
    duplicate = Settings().with_profile(
        ProviderProfile(name="Sandbox — JustiFi", provider="payfect")
    )
    with pytest.raises(SettingsError, match="already called"):
        save_settings(path, duplicate)
    assert path.read_text(encoding="utf-8") == before


def test_duplicate_names_differing_only_in_case_are_refused() -> None:
    settings = Settings().with_profile(
        ProviderProfile(name="sandbox — justifi", provider="justifi")
    )
    assert any("already called" in p.message for p in settings_problems(settings))


def test_the_default_must_be_one_of_the_profiles() -> None:
    problems = settings_problems(Settings().with_default("Nowhere"))
    assert [p.message for p in problems] == ["The default profile “Nowhere” does not exist."]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "  "}, "Give the profile a name"),
        ({"provider": "stripe"}, "Unknown provider “stripe”"),
        ({"api_base_url": "api.justifi.ai"}, "is not a web address"),
        ({"api_base_url": "https://api.example.com/?a=1"}, "plain address"),
        ({"currency": "EUR"}, "JustiFi takes USD or CAD, not “EUR”"),
        ({"currency": "XYZ"}, "JustiFi takes USD or CAD"),
    ],
)
def test_bad_profiles_are_refused_with_a_clear_message(
    changes: dict[str, str], expected: str
) -> None:
    profile = replace(ProviderProfile(name="Shop", provider="justifi"), **changes)  # type: ignore[arg-type]
    assert expected in messages(profile)


def test_a_live_profile_must_use_https() -> None:
    profile = ProviderProfile(
        name="Shop",
        provider="justifi",
        environment="live",
        api_base_url="http://api.justifi.ai",
        client_id="live_1",
        sub_account="acc_1",
    )
    assert "must use https://" in messages(profile)
    assert messages(replace(profile, environment="sandbox")) == ""


def test_a_live_profile_needs_its_account_fields() -> None:
    justifi = ProviderProfile(name="Shop", provider="justifi", environment="live")
    assert "needs a Client ID" in messages(justifi)
    assert "needs a Sub-account" in messages(justifi)
    cko = ProviderProfile(name="Shop", provider="checkout_com", environment="live")
    assert "needs a Processing channel" in messages(cko)


@pytest.mark.parametrize(
    ("provider", "currency", "accepted"),
    [
        ("payfect", "USD", True),
        ("payfect", "EUR", False),
        ("checkout_com", "JPY", True),
        ("checkout_com", "KWD", True),
        ("checkout_com", "usd", False),
        ("checkout_com", "ABC", False),
        ("recharge", "EUR", True),
        ("recharge", "JPY", False),
    ],
)
def test_currency_must_be_one_the_provider_takes(
    provider: str, currency: str, accepted: bool
) -> None:
    profile = ProviderProfile(name="Shop", provider=provider, currency=currency)
    assert (profile_problems(profile) == []) is accepted, messages(profile)


def test_provider_specific_fields_are_checked() -> None:
    cko = ProviderProfile(name="S", provider="checkout_com", billing_country="gb")
    assert "two-letter code" in messages(cko)
    recharge = ProviderProfile(name="R", provider="recharge", api_version="2020-01")
    assert "2021-01, 2021-11" in messages(recharge)
    assert "not an email" in messages(replace(recharge, api_version=None, receipt_email="x"))
