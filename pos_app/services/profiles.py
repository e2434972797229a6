"""The provider pool: one adapter per profile of the settings, the default's among them.

Payments and start-up reconciliation reach any profile's payments through the pool; the
Settings use case (services/settings.py) builds and checks profiles through it. How an
adapter is built (the keyring's secret, the built-in sandbox's URL and credentials) is the
composition root's: it comes in as ``build``, so nothing here knows the sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pos_app.config.registry import uses_builtin_sandbox
from pos_app.config.secrets import SecretStoreError
from pos_app.providers.errors import ProviderError

if TYPE_CHECKING:
    from pos_app.config.secrets import SecretStore
    from pos_app.config.settings import ProviderProfile, Settings
    from pos_app.journal.store import JournalStore
    from pos_app.providers.base import PaymentProvider

log = logging.getLogger(__name__)

ProviderBuilder = Callable[["ProviderProfile"], Awaitable["PaymentProvider"]]

# What building an adapter may raise when a profile cannot be used (say why, go on).
BUILD_ERRORS = (ProviderError, SecretStoreError, OSError, RuntimeError)


def failure_text(error: BaseException) -> str:
    """The sentence a build or provider failure shows."""
    return error.message if isinstance(error, ProviderError) else str(error)


class ProviderPool:
    """Every profile's adapter, by profile name, kept in step with the settings.

    ``adapters`` is one dict for the app's lifetime (PaymentService holds it too).
    ``sandbox_running`` says whether the built-in sandbox is already up: a profile on it
    gets an adapter only once training is in use.
    """

    def __init__(
        self,
        journal: JournalStore,
        secrets: SecretStore,
        build: ProviderBuilder,
        *,
        sandbox_running: Callable[[], bool],
    ) -> None:
        self.journal = journal
        self.secrets = secrets
        self._build = build
        self._sandbox_running = sandbox_running
        self.adapters: dict[str, PaymentProvider] = {}

    async def build(self, profile: ProviderProfile) -> PaymentProvider:
        """A new adapter for ``profile`` (not placed in the pool); BUILD_ERRORS say why not."""
        return await self._build(profile)

    def holds(self, adapter: PaymentProvider) -> bool:
        return any(placed is adapter for placed in self.adapters.values())

    async def place(self, name: str, adapter: PaymentProvider) -> None:
        """``adapter`` is now profile ``name``'s; the one it replaces is closed."""
        old = self.adapters.get(name)
        self.adapters[name] = adapter
        if old is not None and old is not adapter:
            await old.aclose()

    async def sync(
        self, settings: Settings, previous: Settings | None = None, *, keep: str = ""
    ) -> None:
        """Give every profile of ``settings`` an adapter; close those of profiles that were
        removed or changed since ``previous``. ``keep`` names one already placed.

        Building an adapter sends nothing; a profile that cannot be built (a live one without
        its secret) is left out, and its payments are flagged when they need a lookup.
        A profile on the built-in sandbox waits until training is in use (the sandbox runs,
        or it has open payments): a till that only sells live never starts the simulator.
        """
        for name, adapter in list(self.adapters.items()):
            now = settings.profile(name)
            before = previous.profile(name) if previous is not None else now
            if name != keep and (now is None or now != before):
                del self.adapters[name]
                await adapter.aclose()
        open_profiles = self.profiles_with_open_payments()
        for profile in settings.profiles:
            if profile.name in self.adapters:
                continue
            if (
                uses_builtin_sandbox(profile)
                and not self._sandbox_running()
                and profile.name not in open_profiles
            ):
                continue  # training not in use: the simulator stays off
            try:
                self.adapters[profile.name] = await self.build(profile)
            except BUILD_ERRORS as error:
                log.warning("Profile %r is not available: %s", profile.name, failure_text(error))

    def profiles_with_open_payments(self) -> set[str]:
        """Profiles with a payment still open, or with an intent not yet resolved."""
        from pos_app.services.payments import OPEN_STATES

        names = {payment.profile for payment in self.journal.payments_in_states(OPEN_STATES)}
        for intent in self.journal.unresolved_intents():
            payment = self.journal.get(intent.payment_reference)
            if payment is not None:
                names.add(payment.profile)
        return names

    def has_open_payments(self, profile_name: str) -> bool:
        return profile_name in self.profiles_with_open_payments()

    def approved_hosts(self, settings: Settings) -> dict[str, frozenset[str]]:
        """Each live profile's administrator-approved hosts, from the keyring."""
        return {p.name: self.secrets.approved_hosts(p) for p in settings.profiles if p.needs_secret}

    async def check_connection(self, profile: ProviderProfile) -> None:
        """Reach the provider with a fresh adapter for ``profile`` (closed after);
        ProviderError says what failed."""
        provider = await self.build(profile)
        try:
            await provider.check_connection()
        finally:
            await provider.aclose()

    async def aclose(self, *also: PaymentProvider | None) -> None:
        """Close every adapter, and each of ``also`` not among them, once; then none is left."""
        for adapter in {id(a): a for a in [*self.adapters.values(), *also] if a}.values():
            await adapter.aclose()
        self.adapters.clear()
