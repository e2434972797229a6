"""Every provider's sandbox profile builds an adapter that really reaches the simulator."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import build_provider, endpoints
from pos_app.config.settings import ProviderProfile, default_profiles
from pos_app.providers.errors import ConfigurationError
from pos_app.providers.registry import PROVIDERS

if TYPE_CHECKING:
    from pos_sandbox.server import SandboxServer

SANDBOX_PROFILES = {p.provider: p for p in default_profiles()}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_sandbox_profile_connects(sandbox: SandboxServer, provider: str) -> None:
    profile = SANDBOX_PROFILES[provider]

    async def check() -> str:
        adapter = build_provider(
            profile,
            secret=None,
            sandbox_url=sandbox.base_url,
            sandbox_credentials=sandbox_credentials(),
        )
        try:
            await adapter.check_connection()
            return adapter.key
        finally:
            await adapter.aclose()

    assert asyncio.run(check()) == provider


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_live_profile_aimed_at_another_host_is_never_built(
    sandbox: SandboxServer, provider: str
) -> None:
    """A live profile pointed at the simulator (or any host its provider does not publish)
    would send the keyring's secret there: it is refused before anything is sent."""
    kind = PROVIDERS[provider]
    credentials = sandbox_credentials()
    profile = replace(
        SANDBOX_PROFILES[provider],
        environment="live",
        api_base_url=f"{sandbox.base_url}/{kind.sandbox_prefix}",
        hosted_checkout_base_url=f"{sandbox.base_url}/{kind.sandbox_prefix}",
        client_id="live_not_known_here",
        sub_account=credentials.of("justifi")["sub_account"],
        processing_channel_id=credentials.of("checkout_com")["processing_channel_id"],
    )
    with pytest.raises(ConfigurationError, match="published hosts"):
        build_provider(profile, secret="the-live-secret")


def test_a_live_profile_without_a_saved_secret_says_what_is_missing() -> None:
    profile = ProviderProfile(
        name="Shop", provider="checkout_com", environment="live", processing_channel_id="pc_1"
    )
    with pytest.raises(ConfigurationError, match="No secret key is saved for “Shop”"):
        build_provider(profile, secret=None)


def test_live_profiles_default_to_the_providers_own_hosts() -> None:
    for provider, api in [
        ("justifi", "https://api.justifi.ai"),
        ("checkout_com", "https://api.checkout.com"),
        ("recharge", "https://api.rechargeapps.com"),
        ("payfect", "https://api.payfect.finance"),
    ]:
        live = ProviderProfile(name="Shop", provider=provider, environment="live")
        assert endpoints(live, None).api == api
    justifi = ProviderProfile(name="Shop", provider="justifi", environment="live")
    assert endpoints(justifi, None).hosted == "https://components.justifi.ai/hosted-checkout"


def test_a_sandbox_profile_with_a_url_uses_a_standalone_sandbox() -> None:
    profile = ProviderProfile(
        name="Back office", provider="recharge", api_base_url="http://127.0.0.1:8765/recharge/"
    )
    where = endpoints(profile, None)
    assert where.api == "http://127.0.0.1:8765/recharge"
    assert where.hosted == "http://127.0.0.1:8765/recharge"


def test_a_justifi_profile_can_use_the_legacy_session_page(sandbox: SandboxServer) -> None:
    import httpx

    from pos_app.domain.ids import new_idempotency_key, new_reference
    from pos_app.domain.money import Money
    from pos_app.providers.types import CheckoutRequest

    profile = replace(SANDBOX_PROFILES["justifi"], hosted_flow="checkout_session")

    async def open_page() -> str:
        adapter = build_provider(
            profile,
            secret=None,
            sandbox_url=sandbox.base_url,
            sandbox_credentials=sandbox_credentials(),
        )
        try:
            session = await adapter.create_checkout(
                CheckoutRequest(
                    reference=new_reference(),
                    amount=Money(1250, "USD"),
                    description="Sourdough loaf",
                    idempotency_key=new_idempotency_key(),
                    success_url="https://pos.invalid/done",
                )
            )
            assert session.provider_ref.startswith("pi_")  # the payment intent
            return session.hosted_url or ""
        finally:
            await adapter.aclose()

    url = asyncio.run(open_page())
    assert url.startswith(f"{sandbox.base_url}/justifi/r/")
    page = httpx.get(url)
    assert page.status_code == 200
    assert "12.50" in page.text
