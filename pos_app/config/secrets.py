"""Profile secrets in the OS keyring, and nowhere else.

Only the operating systems' own keyrings count (``TRUSTED_BACKENDS``). Where keyring offers
nothing else — its ``fail`` or ``null`` backend on a headless Linux box, or a third-party
backend such as keyrings.alt's plaintext or file ones — secrets are refused rather than kept
where anyone who can read the disk could read them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import keyring
import keyring.errors
from keyring.backends import chainer

from pos_app.config.settings import KEYRING_SERVICE, ProviderProfile

if TYPE_CHECKING:
    from collections.abc import Iterable

    from keyring.backend import KeyringBackend

NO_KEYRING = (
    "No system keyring is available, so secrets for live profiles cannot be stored. "
    "Install and unlock a keyring service (GNOME Keyring, KWallet, macOS Keychain or "
    "Windows Credential Manager) and restart pos_app."
)


class SecretStoreError(Exception):
    """The keyring refused or is missing; ``str()`` is a sentence for the user."""


# The OS keyrings keyring ships: Secret Service (GNOME Keyring, KeePassXC), KWallet, the
# macOS Keychain and the Windows Credential Manager.
TRUSTED_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)


def backend_id(backend: KeyringBackend) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


def _usable(backend: KeyringBackend, trusted: frozenset[str]) -> bool:
    if isinstance(backend, chainer.ChainerBackend):
        # A chain writes to the first backend that does not refuse, so each must be trusted.
        chained = list(backend.backends)
        return bool(chained) and all(_usable(b, trusted) for b in chained)
    return backend_id(backend) in trusted


class SecretStore:
    """Reads and writes profile secrets under the service name ``pos_app``."""

    def __init__(
        self, backend: KeyringBackend | None = None, *, trusted: frozenset[str] | None = None
    ) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()
        self._trusted = TRUSTED_BACKENDS if trusted is None else trusted

    @property
    def available(self) -> bool:
        return _usable(self._backend, self._trusted)

    @property
    def backend_name(self) -> str:
        return getattr(self._backend, "name", type(self._backend).__name__)

    def get(self, profile: ProviderProfile) -> str | None:
        if not self.available:
            return None
        try:
            return self._backend.get_password(KEYRING_SERVICE, profile.secret_key_name())
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring could not be read: {error}") from error

    def has(self, profile: ProviderProfile) -> bool:
        return bool(self.get(profile))

    def set(self, profile: ProviderProfile, secret: str) -> None:
        if not self.available:
            raise SecretStoreError(NO_KEYRING)
        if not secret:
            raise SecretStoreError("The secret is empty.")
        try:
            self._backend.set_password(KEYRING_SERVICE, profile.secret_key_name(), secret)
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring refused the secret: {error}") from error

    def delete(self, profile: ProviderProfile) -> None:
        if not self.available:
            return
        try:
            self._backend.delete_password(KEYRING_SERVICE, profile.secret_key_name())
        except keyring.errors.PasswordDeleteError:
            pass  # nothing was stored
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring could not delete: {error}") from error

    def get_named(self, name: str) -> str | None:
        """A value the app keeps in the keyring under its own ``name`` (the audit trail's key
        and last anchor); None without a keyring or when nothing is stored."""
        if not self.available:
            return None
        try:
            return self._backend.get_password(KEYRING_SERVICE, name)
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring could not be read: {error}") from error

    def set_named(self, name: str, value: str) -> None:
        if not self.available:
            raise SecretStoreError(NO_KEYRING)
        try:
            self._backend.set_password(KEYRING_SERVICE, name, value)
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring refused to store: {error}") from error

    def move(self, old: ProviderProfile, new: ProviderProfile) -> None:
        """Keep a secret, and its approved hosts, with its profile across a rename.

        A secret never follows its profile to another host (or provider): it was entered
        for the old one, and is asked for again.
        """
        if old.secret_key_name() == new.secret_key_name():
            return
        same_account = old.provider == new.provider
        hosts = self.approved_hosts(old)
        if same_account and hosts and old.name != new.name:
            self.approve_hosts(new, hosts)
            self.forget_hosts(old)
        secret = self.get(old)
        if secret and same_account and old.api_host() == new.api_host():
            self.set(new, secret)
        self.delete(old)

    # -- hosts an administrator approved --------------------------------------------
    # Kept here, beside the secret they guard, and not in the settings file: whoever can
    # edit that file must not be able to send a live secret to a host of their choosing.

    def approved_hosts(self, profile: ProviderProfile) -> frozenset[str]:
        """The hosts its provider does not publish that an administrator approved for
        ``profile`` (with this provider); empty when none, or without a keyring."""
        raw = self.get_named(_approval_name(profile))
        if not raw:
            return frozenset()
        try:
            record = json.loads(raw)
            if record.get("provider") != profile.provider:
                return frozenset()
            return frozenset(str(host) for host in record["hosts"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return frozenset()  # an unreadable record approves nothing

    def approve_hosts(self, profile: ProviderProfile, hosts: Iterable[str]) -> None:
        record = {"provider": profile.provider, "hosts": sorted(set(hosts))}
        self.set_named(_approval_name(profile), json.dumps(record))

    def forget_hosts(self, profile: ProviderProfile) -> None:
        if not self.available:
            return
        try:
            self._backend.delete_password(KEYRING_SERVICE, _approval_name(profile))
        except keyring.errors.PasswordDeleteError:
            pass  # none approved
        except keyring.errors.KeyringError as error:
            raise SecretStoreError(f"The system keyring could not delete: {error}") from error


def _approval_name(profile: ProviderProfile) -> str:
    return f"host-approval:{profile.name}"
