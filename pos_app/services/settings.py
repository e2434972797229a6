"""The Settings use case: the till's settings as saved, and what follows when they change.

``SettingsService`` is what the Settings screen works with (gui.screens.settings'
SettingsBackend): it validates and saves whole settings, audits who changed what, applies
the staff rules at once, keeps a keyed record of the settings it saw (to find edits made
outside the app), and switches the cashier's provider when the default profile changes,
through the provider pool (services/profiles.py). What the screens then show is the
composition root's: it comes in as callables.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from pos_app.config.secrets import SecretStoreError
from pos_app.config.settings import (
    Settings,
    SettingsError,
    check_settings,
    save_settings,
    settings_changes,
    settings_document,
    settings_from_document,
)
from pos_app.domain.money import Money
from pos_app.journal.audit import AuditAction
from pos_app.services.approvals import ApprovalPolicy
from pos_app.services.profiles import BUILD_ERRORS, failure_text

if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from pathlib import Path

    from pos_app.config.secrets import SecretStore
    from pos_app.config.settings import ProviderProfile
    from pos_app.domain.idle import IdleLock
    from pos_app.journal.audit import AuditLog
    from pos_app.providers.base import PaymentProvider
    from pos_app.services.approvals import ApprovalService
    from pos_app.services.profiles import ProviderPool
    from pos_app.services.users import Session, UserService

log = logging.getLogger(__name__)


class StaffRules(Protocol):
    """The staff set-up settings change while the till runs (gui's ``Staff`` is one)."""

    users: UserService
    session: Session
    approvals: ApprovalService
    audit: AuditLog
    idle: IdleLock
    require_sign_in: bool


def approval_policy(settings: Settings) -> ApprovalPolicy:
    """The settings' limits, in the default profile's currency (a refund in another
    currency always needs a manager: ApprovalService compares like with like only)."""
    currency = settings.active_profile().currency

    def limit(minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, currency)

    return ApprovalPolicy(
        refund_limit=limit(settings.refund_approval_limit_minor),
        void_limit=limit(settings.void_approval_limit_minor),
        shift_refund_limit=limit(settings.shift_refund_approval_limit_minor),
    )


class SettingsService:
    """The settings in force, the default profile the cashier sells through and its adapter.

    ``record_name`` is the keyring entry of the keyed record of the last settings seen.
    ``selling`` says a sale is in progress (the default must not change under it);
    ``on_saved`` runs once new settings are saved and the staff rules applied;
    ``on_default_switched`` once the cashier's ``profile`` and ``provider`` are new ones.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        settings_file: Path,
        secrets: SecretStore,
        profiles: ProviderPool,
        staff: StaffRules,
        record_name: str,
        selling: Callable[[], bool],
        on_saved: Callable[[], None],
        on_default_switched: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.profile = settings.active_profile()
        self.provider: PaymentProvider | None = None  # the default profile's, for the cashier
        self.secrets = secrets
        self.profiles = profiles
        self.staff = staff
        self._settings_file = settings_file
        self._record_name = record_name
        self._selling = selling
        self._on_saved = on_saved
        self._on_default_switched = on_default_switched

    async def open_default(self) -> PaymentProvider:
        """Build the default profile's adapter and place it in the pool: the cashier sells
        through it from now on. BUILD_ERRORS say why it cannot (``provider`` stays None)."""
        self.provider = await self.profiles.build(self.profile)
        await self.profiles.place(self.profile.name, self.provider)
        return self.provider

    # -- what the Settings screen asks (gui.screens.settings.SettingsBackend) --------------

    def has_open_payments(self, profile_name: str) -> bool:
        return self.profiles.has_open_payments(profile_name)

    def approved_hosts(self, settings: Settings) -> dict[str, frozenset[str]]:
        return self.profiles.approved_hosts(settings)

    def approve_hosts(
        self, profile: ProviderProfile, hosts: Collection[str], name: str, pin: str
    ) -> None:
        """An administrator's name and PIN let ``profile`` use ``hosts`` its provider does not
        publish (audited); UserRefused says why not. The screen then keeps the approval in
        the keyring with the secret (SecretStore.approve_hosts), out of reach of whoever
        edits settings.json."""
        self.staff.users.approve_live_hosts(
            name,
            pin,
            profile=profile.name,
            provider=profile.provider,
            hosts=hosts,
            requested_by=self.staff.session.user,
        )

    async def check_connection(self, profile: ProviderProfile) -> None:
        await self.profiles.check_connection(profile)

    async def apply(self, settings: Settings) -> None:
        """Save new settings; when the default profile (or its fields) changed, switch the
        cashier to it. A default that cannot be built is refused and nothing is saved."""
        pool = self.profiles
        check_settings(settings, pool.approved_hosts(settings))
        new_default = settings.active_profile()
        switching = new_default != self.profile or self.provider is None
        if switching and self._selling():
            raise SettingsError(
                "A sale is in progress: finish it on the Cashier screen (F1) before "
                "changing the default profile."
            )
        provider = None
        if switching:
            unchanged = self.settings.profile(new_default.name) == new_default
            provider = pool.adapters.get(new_default.name) if unchanged else None
            if provider is None:
                try:
                    provider = await pool.build(new_default)
                except BUILD_ERRORS as error:
                    raise SettingsError(
                        f"“{new_default.name}” cannot take payments: {failure_text(error)}"
                    ) from error
        try:
            save_settings(self._settings_file, settings)
        except (OSError, SettingsError):
            if provider is not None and not pool.holds(provider):
                await provider.aclose()
            raise
        previous, self.settings = self.settings, settings
        self._staff_settings_changed(previous, settings)
        self._on_saved()
        if provider is not None:
            await pool.place(new_default.name, provider)
        await pool.sync(settings, previous, keep=new_default.name if provider else "")
        if provider is None:
            return
        self.provider, self.profile = provider, new_default
        self._on_default_switched()

    def _staff_settings_changed(self, previous: Settings, settings: Settings) -> None:
        """Audit the change (who, and which settings) and apply the staff rules at once."""
        staff = self.staff
        staff.audit.append(
            AuditAction.SETTINGS_CHANGED,
            actor=staff.session.actor,
            subject="settings",
            details=settings_changes(previous, settings),
        )
        self._remember(settings)
        staff.require_sign_in = settings.require_sign_in
        staff.idle.timeout = timedelta(minutes=settings.idle_lock_minutes)
        staff.approvals.policy = approval_policy(settings)

    # -- settings edited outside the app (a keyed record of the last ones it saw) ----------

    def _record(self, settings: Settings) -> str | None:
        key = self.staff.audit.key
        if key is None:
            return None  # no keyring: nowhere to keep a record a file writer cannot forge
        text = json.dumps(settings_document(settings), sort_keys=True, separators=(",", ":"))
        digest = hmac.new(key.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return json.dumps({"digest": digest, "settings": text})

    def _remember(self, settings: Settings) -> None:
        record = self._record(settings)
        if record is not None:
            try:
                self.secrets.set_named(self._record_name, record)
            except SecretStoreError as error:
                log.warning("The settings record could not be kept: %s", error)

    def changed_outside(self) -> str:
        """Start-up: the settings as loaded against the keyed record of the last ones the
        app saw. A difference (someone edited settings.json) is audited, said once, and the
        record moves on. '' when nothing changed or there is no record to compare."""
        key = self.staff.audit.key
        if key is None:
            return ""
        previous: Settings | None = None
        try:
            stored = self.secrets.get_named(self._record_name)
            known = json.loads(stored) if stored else {}
            text = str(known.get("settings", ""))
            digest = hmac.new(key.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
            if text and hmac.compare_digest(digest, str(known.get("digest", ""))):
                previous = settings_from_document(json.loads(text))
        except (SecretStoreError, ValueError, TypeError, AttributeError, SettingsError) as error:
            log.error("The settings record could not be read: %s", error)
        self._remember(self.settings)
        if previous is None:
            return ""  # first start with a keyring (or an unreadable record): trusted now
        changes = settings_changes(previous, self.settings)
        listed = ("changed", "profiles_added", "profiles_removed", "profiles_edited")
        if not any(changes[name] for name in listed):
            return ""
        self.staff.audit.append(
            AuditAction.SETTINGS_CHANGED,
            actor="system",
            subject="settings",
            details={**changes, "outside_app": True},
        )
        what = ", ".join(
            [*changes["changed"], *(f"profile {n}" for n in changes["profiles_edited"])]
            + [f"profile {n} added" for n in changes["profiles_added"]]
            + [f"profile {n} removed" for n in changes["profiles_removed"]]
        )
        log.warning("Settings were changed outside the app: %s", what)
        return f"Settings were changed outside the app since it last ran: {what}."
