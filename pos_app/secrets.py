"""Profile secrets in the OS keyring, and nowhere else.

Where keyring has no usable backend (its ``fail`` or ``null`` backend, as on a headless
Linux box) secrets are refused rather than kept in plain text.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from pos_app.settings import KEYRING_SERVICE, ProviderProfile

NO_KEYRING = (
    "No system keyring is available, so secrets for live profiles cannot be stored. "
    "Install and unlock a keyring service (GNOME Keyring, KWallet, macOS Keychain or "
    "Windows Credential Manager) and restart pos_app."
)


class SecretStoreError(Exception):
    """The keyring refused or is missing; ``str()`` is a sentence for the user."""


def _usable(backend: KeyringBackend) -> bool:
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable(b) for b in backend.backends)
    return True


class SecretStore:
    """Reads and writes profile secrets under the service name ``pos_app``."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()

    @property
    def available(self) -> bool:
        return _usable(self._backend)

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

    def move(self, old: ProviderProfile, new: ProviderProfile) -> None:
        """Keep a secret with its profile across a rename or a change of provider."""
        if old.secret_key_name() == new.secret_key_name():
            return
        secret = self.get(old)
        if secret:
            self.set(new, secret)
        self.delete(old)
