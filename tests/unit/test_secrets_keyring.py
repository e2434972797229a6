"""Secrets go to the OS keyring only; without one they are refused, never written elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import keyring
import pytest
from keyring.backends import fail, null

from pos_app.config.secrets import NO_KEYRING, SecretStore, SecretStoreError
from pos_app.config.settings import KEYRING_SERVICE, ProviderProfile, Settings, save_settings
from tests.conftest import MemoryKeyring

if TYPE_CHECKING:
    from pathlib import Path

LIVE = ProviderProfile(
    name="Shop", provider="justifi", environment="live", client_id="live_1", sub_account="acc_1"
)


def test_a_secret_is_kept_in_the_keyring_under_the_app_service(
    memory_keyring: MemoryKeyring,
) -> None:
    store = SecretStore()
    assert store.available
    store.set(LIVE, "s3cret")
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "Shop:client_secret"): "s3cret"}
    assert store.get(LIVE) == "s3cret"
    store.delete(LIVE)
    assert store.get(LIVE) is None
    store.delete(LIVE)  # deleting twice is harmless


def test_each_provider_names_its_secret() -> None:
    store = SecretStore()
    cko = ProviderProfile(name="Shop", provider="checkout_com")
    store.set(cko, "sk_live")
    assert keyring.get_password(KEYRING_SERVICE, "Shop:secret_key") == "sk_live"


def test_a_renamed_profile_keeps_its_secret() -> None:
    store = SecretStore()
    store.set(LIVE, "s3cret")
    renamed = ProviderProfile(
        name="Main street", provider="justifi", environment="live", client_id="live_1"
    )
    store.move(LIVE, renamed)
    assert store.get(renamed) == "s3cret"
    assert store.get(LIVE) is None


@pytest.mark.parametrize("backend", [null.Keyring(), fail.Keyring()], ids=["null", "fail"])
def test_without_a_system_keyring_secrets_are_refused(
    backend: keyring.backend.KeyringBackend, tmp_path: Path
) -> None:
    keyring.set_keyring(backend)
    store = SecretStore()
    assert not store.available
    with pytest.raises(SecretStoreError) as raised:
        store.set(LIVE, "s3cret")
    assert str(raised.value) == NO_KEYRING
    assert str(raised.value).startswith("No system keyring is available")
    assert store.get(LIVE) is None
    # Nothing to fall back to: the settings file never holds it either.
    path = tmp_path / "settings.json"
    save_settings(path, Settings().with_profile(LIVE))
    assert "s3cret" not in path.read_text(encoding="utf-8")


class PlaintextKeyring(MemoryKeyring):
    """What keyrings.alt's PlaintextKeyring is: a working backend that is no OS keyring."""


def test_a_backend_that_is_no_os_keyring_is_refused(tmp_path: Path) -> None:
    keyring.set_keyring(PlaintextKeyring())
    store = SecretStore()
    assert not store.available
    with pytest.raises(SecretStoreError, match="No system keyring"):
        store.set(LIVE, "s3cret")


def test_the_os_keyrings_are_trusted() -> None:
    from keyring.backends import SecretService, chainer

    assert SecretStore(SecretService.Keyring()).available

    class Chain(chainer.ChainerBackend):
        """A chain falls through to its next backend when one refuses: all must be trusted."""

        members: ClassVar[list[keyring.backend.KeyringBackend]] = []

        @property
        def backends(self) -> list[keyring.backend.KeyringBackend]:
            return self.members

    Chain.members = [SecretService.Keyring()]
    assert SecretStore(Chain()).available
    Chain.members = [SecretService.Keyring(), PlaintextKeyring()]
    assert not SecretStore(Chain()).available


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(SecretStoreError, match="empty"):
        SecretStore().set(LIVE, "")
