"""The provider pool keeps one adapter per profile in step with the settings: what changed is
closed and rebuilt, what cannot be built is left out, training waits until it is in use."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pos_app.config.secrets import NO_KEYRING, SecretStore, SecretStoreError
from pos_app.config.settings import ProviderProfile, Settings
from pos_app.domain.money import Money
from pos_app.domain.payment import PaymentState
from pos_app.journal.store import JournalStore
from pos_app.providers.errors import AuthenticationError
from pos_app.services.profiles import ProviderPool

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
JUSTIFI, PAYFECT = "Sandbox — JustiFi", "Sandbox — Payfect"
# A sandbox profile of its own URL: not the built-in simulator, so always built.
OWN = ProviderProfile(
    name="Own sandbox", provider="payfect", api_base_url="https://sandbox.payfect.example"
)
LIVE = ProviderProfile(
    name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="a"
)


class Adapter:
    """What the pool builds here: remembers its profile, whether it was closed and checked."""

    def __init__(self, profile: ProviderProfile, check_error: Exception | None = None) -> None:
        self.profile = profile
        self.key = profile.provider
        self.closed = 0
        self.checked = 0
        self._check_error = check_error

    async def check_connection(self) -> None:
        self.checked += 1
        if self._check_error is not None:
            raise self._check_error

    async def aclose(self) -> None:
        self.closed += 1


class Builder:
    """The injected builder: a new Adapter per call, or the error ``refuse`` names."""

    def __init__(self) -> None:
        self.built: list[Adapter] = []
        self.refuse: dict[str, Exception] = {}
        self.check_error: Exception | None = None

    async def __call__(self, profile: ProviderProfile) -> Adapter:
        if profile.name in self.refuse:
            raise self.refuse[profile.name]
        adapter = Adapter(profile, self.check_error)
        self.built.append(adapter)
        return adapter

    def names(self) -> list[str]:
        return [a.profile.name for a in self.built]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[JournalStore]:
    store = JournalStore.open(tmp_path / "journal.sqlite3")
    yield store
    store.close()


@pytest.fixture
def builder() -> Builder:
    return Builder()


class Training:
    running = False


@pytest.fixture
def training() -> Training:
    return Training()


@pytest.fixture
def pool(journal: JournalStore, builder: Builder, training: Training) -> ProviderPool:
    return ProviderPool(journal, SecretStore(), builder, sandbox_running=lambda: training.running)


def sale(journal: JournalStore, reference: str, profile: str) -> None:
    journal.create_payment(
        reference=reference,
        profile=profile,
        provider="payfect",
        method="hosted_checkout",
        amount=Money(640, "USD"),
        description="Two cinnamon buns",
        now=T0,
    )


def test_the_built_in_sandbox_profiles_wait_until_training_is_in_use(
    pool: ProviderPool, builder: Builder, training: Training
) -> None:
    settings = Settings().with_profile(OWN)
    asyncio.run(pool.sync(settings))
    assert builder.names() == ["Own sandbox"]  # the simulator is not started for the others

    training.running = True
    asyncio.run(pool.sync(settings))
    assert sorted(pool.adapters) == sorted(p.name for p in settings.profiles)
    assert builder.names().count("Own sandbox") == 1  # placed ones are not built again


def test_open_payments_of_a_built_in_sandbox_profile_get_it_an_adapter(
    pool: ProviderPool, builder: Builder, journal: JournalStore
) -> None:
    sale(journal, "S-1", PAYFECT)
    asyncio.run(pool.sync(Settings()))
    assert builder.names() == [PAYFECT]


def test_a_payment_with_an_unresolved_intent_counts_as_open(
    pool: ProviderPool, journal: JournalStore
) -> None:
    sale(journal, "S-1", PAYFECT)
    journal.update_payment("S-1", now=T0, state=PaymentState.CAPTURED, note="paid")
    assert pool.profiles_with_open_payments() == set()
    journal.begin_intent(
        "S-1", operation="refund", idempotency_key="k-1", amount=Money(640, "USD"), now=T0
    )
    assert pool.profiles_with_open_payments() == {PAYFECT}
    assert pool.has_open_payments(PAYFECT)
    assert not pool.has_open_payments(JUSTIFI)


def test_a_changed_or_removed_profile_is_closed_and_an_unchanged_one_kept(
    pool: ProviderPool, builder: Builder, training: Training
) -> None:
    training.running = True
    before = Settings().with_profile(OWN)
    asyncio.run(pool.sync(before))
    kept, edited, removed = (pool.adapters[n] for n in (JUSTIFI, "Own sandbox", PAYFECT))

    edited_profile = replace(OWN, api_base_url="https://other.payfect.example")
    after = before.with_profile(edited_profile, replacing="Own sandbox").without_profile(PAYFECT)
    asyncio.run(pool.sync(after, before))

    assert pool.adapters[JUSTIFI] is kept
    assert kept.closed == 0
    assert edited.closed == 1
    assert removed.closed == 1
    assert PAYFECT not in pool.adapters
    rebuilt = pool.adapters["Own sandbox"]
    assert isinstance(rebuilt, Adapter)
    assert rebuilt.profile == edited_profile


def test_keep_spares_the_adapter_already_placed_for_a_changed_profile(
    pool: ProviderPool, builder: Builder
) -> None:
    before = Settings().with_profile(OWN)
    asyncio.run(pool.sync(before))
    edited = replace(OWN, api_base_url="https://other.payfect.example")
    after = before.with_profile(edited, replacing="Own sandbox")
    placed = Adapter(edited)
    old = pool.adapters["Own sandbox"]
    asyncio.run(pool.place("Own sandbox", placed))
    assert old.closed == 1  # replaced: closed at once

    asyncio.run(pool.sync(after, before, keep="Own sandbox"))
    assert pool.adapters["Own sandbox"] is placed
    assert placed.closed == 0
    assert pool.holds(placed)
    assert not pool.holds(old)


def test_a_profile_that_cannot_be_built_is_left_out_and_the_rest_go_on(
    pool: ProviderPool, builder: Builder, training: Training
) -> None:
    training.running = True
    builder.refuse[LIVE.name] = SecretStoreError(NO_KEYRING)
    builder.refuse[JUSTIFI] = RuntimeError("the sandbox did not start")
    asyncio.run(pool.sync(Settings().with_profile(LIVE)))
    assert LIVE.name not in pool.adapters
    assert JUSTIFI not in pool.adapters
    assert PAYFECT in pool.adapters


def test_checking_a_connection_uses_a_fresh_adapter_and_closes_it_even_on_failure(
    pool: ProviderPool, builder: Builder
) -> None:
    asyncio.run(pool.check_connection(OWN))
    [ok] = builder.built
    assert (ok.checked, ok.closed) == (1, 1)
    assert pool.adapters == {}  # a check places nothing

    builder.check_error = AuthenticationError("The API key was refused.")
    with pytest.raises(AuthenticationError, match="refused"):
        asyncio.run(pool.check_connection(OWN))
    failed = builder.built[-1]
    assert (failed.checked, failed.closed) == (1, 1)


def test_closing_closes_every_adapter_once_and_the_default_even_when_not_placed(
    pool: ProviderPool, builder: Builder
) -> None:
    asyncio.run(pool.sync(Settings().with_profile(OWN)))
    [placed] = builder.built
    outside = Adapter(LIVE)
    asyncio.run(pool.aclose(placed, outside, None))
    assert (placed.closed, outside.closed) == (1, 1)
    assert pool.adapters == {}


def test_approved_hosts_are_read_for_live_profiles_only(
    pool: ProviderPool,
) -> None:
    pool.secrets.approve_hosts(LIVE, ["payments.store.example"])
    settings = Settings().with_profile(LIVE)
    assert pool.approved_hosts(settings) == {LIVE.name: {"payments.store.example"}}
