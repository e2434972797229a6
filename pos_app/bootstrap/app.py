"""Composition root: builds every object, wires them, owns their lifetimes.

Nothing else creates services or providers; nothing is global.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import json
import logging
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from pos_app import __version__
from pos_app.config.registry import SandboxCredentials, amount_limits, uses_builtin_sandbox
from pos_app.config.secrets import NO_KEYRING, SecretStore, SecretStoreError
from pos_app.config.settings import (
    ProviderProfile,
    Settings,
    SettingsError,
    check_settings,
    load_settings,
    save_settings,
    settings_changes,
    settings_document,
    settings_from_document,
)
from pos_app.gui.gc_guard import MainThreadGarbageCollector
from pos_app.gui.main_window import MainWindow
from pos_app.gui.resources import stylesheet
from pos_app.gui.screens.sign_in import Staff
from pos_app.gui.tasks import TaskRunner
from pos_app.gui.webview.chromium_env import prepare_chromium_environment
from pos_app.journal.store import JournalStore, utc_now
from pos_app.platform.log import configure_logging
from pos_app.platform.paths import AppPaths
from pos_app.providers.errors import ProviderError

if TYPE_CHECKING:
    import sqlite3

    from pos_app.bootstrap.reader_setup import Reader
    from pos_app.gui.screens.customer_display import CustomerDisplay
    from pos_app.gui.webview.card_form_hosts import ComponentHost, LiveComponentHost
    from pos_app.journal.audit import AuditAnchor, AuditKey, AuditVerification
    from pos_app.journal.store import Environment
    from pos_app.journal.webhook_events import SeenWebhookEvents
    from pos_app.providers.base import PaymentProvider
    from pos_app.providers.webhooks import WebhookEvent
    from pos_app.services.approvals import ApprovalPolicy
    from pos_app.services.payments import PaymentService
    from pos_app.services.webhook_receiver import WebhookReceiver
    from pos_sandbox.server import SandboxServer

log = logging.getLogger(__name__)

Mode = Literal["till", "workstation"]
MODES: tuple[Mode, ...] = ("till", "workstation")


@dataclass(frozen=True)
class StartOptions:
    basedir: Path | None = None
    exit_when_ready: bool = False
    debug: bool = False
    mode: Mode = "till"  # "workstation": Payments only, sign-in required


def sandbox_credentials() -> SandboxCredentials:
    """The simulator's published test credentials (only this module may import the sandbox)."""
    from pos_sandbox import credentials as published

    return SandboxCredentials(
        {
            "justifi": {
                "client_id": published.JUSTIFI_CLIENT_ID,
                "client_secret": published.JUSTIFI_CLIENT_SECRET,
                "sub_account": published.JUSTIFI_SUB_ACCOUNT,
            },
            "checkout_com": {
                "secret_key": published.CHECKOUT_COM_SECRET_KEY,
                "public_key": published.CHECKOUT_COM_PUBLIC_KEY,
                "processing_channel_id": published.CHECKOUT_COM_PROCESSING_CHANNEL,
            },
            "recharge": {"access_token": published.RECHARGE_ACCESS_TOKEN},
            "payfect": {"api_key": published.PAYFECT_API_KEY},
        }
    )


class PosApplication:
    """One running till: journal, providers, services and the main window.

    The cashier sells through the default profile's provider; Settings may change the
    default while running, and start-up reconciliation reaches every profile that still
    has open payments.
    """

    def __init__(
        self,
        paths: AppPaths,
        *,
        secrets: SecretStore | None = None,
        mode: Mode = "till",
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}: use till or workstation")
        self.paths = paths
        self.mode = mode
        self.clock = clock
        self.settings = load_settings(paths.settings_file)
        self.secrets = secrets if secrets is not None else SecretStore()
        self.profile = self.settings.active_profile()
        self.journal = JournalStore.open(paths.journal_file)
        self._staff_db: sqlite3.Connection | None = None
        self.staff = self._build_staff(clock, monotonic)
        self.tasks = TaskRunner()
        # Our own thread for blocking start-up work; qasync's default executor is a QThread
        # pool that must not outlive the QApplication.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pos-setup")
        self.sandbox: SandboxServer | None = None
        self._live_card_form: LiveComponentHost | None = None  # started on first use
        self._sandbox_lock: asyncio.Lock | None = None
        self.provider: PaymentProvider | None = None  # the default profile's, for the cashier
        # Every profile's adapter (the default's too): Payments and reconciliation reach any.
        self.providers: dict[str, PaymentProvider] = {}
        self.payments: PaymentService | None = None
        self.webhooks: WebhookReceiver | None = None
        self._webhooks_seen: SeenWebhookEvents | None = None
        self.customer_display: CustomerDisplay | None = None
        self.window = MainWindow(
            journal=self.journal,
            limits=amount_limits(self.profile),
            locale=self.settings.locale,
            profile_name=self.profile.name,
            provider_name=self.profile.provider_name,
            sandbox=self.profile.is_sandbox,
            store_name=self.settings.store_name,
            tasks=self.tasks,
            settings_backend=self,
            staff=self.staff,
            workstation=mode == "workstation",
        )
        self.window.keep_audit_anchor = self.keep_audit_anchor
        outside = self._settings_changed_outside()
        if outside:
            self.window.show_tamper_alert("Settings changed outside the app", outside)

    # -- the audit trail's key and anchor, in the OS keyring (never in the journal) -------

    def _keyring_name(self, what: str) -> str:
        return f"{what}:{self.paths.journal_file.resolve()}"

    def audit_key(self) -> AuditKey | None:
        """The chain's MAC key; made on first use where a keyring exists (signing from the
        next entry on). None without a keyring: the chain stays plain SHA-256, as before."""
        from pos_app.config.secrets import SecretStoreError
        from pos_app.journal.audit import AuditKey, AuditLog
        from pos_app.journal.db import connect
        from pos_app.journal.users import UserStore

        name = self._keyring_name("audit-key")
        try:
            stored = self.secrets.get_named(name)
            if stored is not None:
                return AuditKey.from_text(stored)
            if not self.secrets.available:
                log.warning("No system keyring: the audit trail is hash-chained but not keyed")
                return None
            probe = AuditLog.open(self.paths.journal_file)
            try:
                key = AuditKey.new(since=probe.head().entries + 1)
            finally:
                probe.connection.close()
            self.secrets.set_named(name, key.to_text())
            conn = connect(self.paths.journal_file)
            try:
                sealed = UserStore(conn, key).seal_all()  # trusted as they are, once
            finally:
                conn.close()
            log.info("Audit trail keyed from entry %d on; %d staff rows sealed", key.since, sealed)
            return key
        except (SecretStoreError, ValueError, KeyError) as error:
            log.error("The audit key could not be read or made: %s", error)
            return None

    # -- settings edited outside the app (a keyed record of the last ones it saw) ------------

    def _settings_record(self, settings: Settings) -> str | None:
        key = self.staff.audit.key
        if key is None:
            return None  # no keyring: nowhere to keep a record a file writer cannot forge
        text = json.dumps(settings_document(settings), sort_keys=True, separators=(",", ":"))
        digest = hmac.new(key.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
        return json.dumps({"digest": digest, "settings": text})

    def _remember_settings(self, settings: Settings) -> None:
        from pos_app.config.secrets import SecretStoreError

        record = self._settings_record(settings)
        if record is not None:
            try:
                self.secrets.set_named(self._keyring_name("settings"), record)
            except SecretStoreError as error:
                log.warning("The settings record could not be kept: %s", error)

    def _settings_changed_outside(self) -> str:
        """Start-up: the settings as loaded against the keyed record of the last ones the
        app saw. A difference (someone edited settings.json) is audited, said once, and the
        record moves on. '' when nothing changed or there is no record to compare."""
        from pos_app.config.secrets import SecretStoreError
        from pos_app.journal.audit import AuditAction

        key = self.staff.audit.key
        if key is None:
            return ""
        previous: Settings | None = None
        try:
            stored = self.secrets.get_named(self._keyring_name("settings"))
            known = json.loads(stored) if stored else {}
            text = str(known.get("settings", ""))
            digest = hmac.new(key.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
            if text and hmac.compare_digest(digest, str(known.get("digest", ""))):
                previous = settings_from_document(json.loads(text))
        except (SecretStoreError, ValueError, TypeError, AttributeError, SettingsError) as error:
            log.error("The settings record could not be read: %s", error)
        self._remember_settings(self.settings)
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

    def audit_anchor(self) -> AuditAnchor | None:
        """The head printed on the last end-of-shift report, kept in the keyring."""
        from pos_app.config.secrets import SecretStoreError
        from pos_app.journal.audit import AuditAnchor

        try:
            stored = self.secrets.get_named(self._keyring_name("audit-anchor"))
            return AuditAnchor.from_text(stored) if stored else None
        except (SecretStoreError, ValueError, KeyError) as error:
            log.error("The audit anchor could not be read: %s", error)
            return None

    def keep_audit_anchor(self, anchor: AuditAnchor) -> None:
        from pos_app.config.secrets import SecretStoreError

        try:
            self.secrets.set_named(self._keyring_name("audit-anchor"), anchor.to_text())
        except SecretStoreError as error:
            log.warning("The audit anchor could not be kept in the keyring: %s", error)

    def _build_staff(self, clock: Callable[[], datetime], monotonic: Callable[[], float]) -> Staff:
        """Users, approvals and the audit trail, on one connection of their own (a user
        change and its audit entry commit together); every payment change is audited with
        whoever is signed in as its actor."""
        from pos_app.domain.idle import IdleLock
        from pos_app.journal.audit import AuditLog, AuditRecorder
        from pos_app.journal.db import connect
        from pos_app.journal.users import UserStore
        from pos_app.services.approvals import ApprovalService
        from pos_app.services.users import Session, UserService

        self._staff_db = conn = connect(self.paths.journal_file)
        key = self.audit_key()
        audit = AuditLog(conn, clock=clock, key=key)
        users = UserService(UserStore(conn, key), audit, clock=clock)
        session = Session()
        # Payment changes are audited inside their own transaction, on the journal's connection.
        recorder_log = AuditLog(self.journal.connection, clock=clock, key=key)
        AuditRecorder(recorder_log, self.journal, lambda: session.actor).attach()
        journal_file = self.paths.journal_file

        async def verify_audit() -> AuditVerification:
            # On our own thread pool: qasync's default one must not outlive the QApplication.
            loop = asyncio.get_running_loop()
            anchor = self.audit_anchor()
            return await loop.run_in_executor(
                self._executor, verify_audit_trail, journal_file, key, anchor
            )

        return Staff(
            users=users,
            session=session,
            approvals=ApprovalService(users, audit, _approval_policy(self.settings), clock=clock),
            audit=audit,
            idle=IdleLock(timedelta(minutes=self.settings.idle_lock_minutes), clock=monotonic),
            require_sign_in=self.settings.require_sign_in,
            verify_audit=verify_audit,
        )

    async def connect(self) -> None:
        """Reach the provider (starting the built-in sandbox if needed), then reconcile.

        Runs after the first screen takes input; its imports (httpx, the sandbox's
        web server) are deferred to here to keep start-up fast.
        """
        from pos_app.domain.money import Money, format_money
        from pos_app.services.payments import PaymentService

        # Load the locale's number data now, not on the cashier's first keystroke.
        format_money(Money(0, self.profile.currency), self.settings.locale)
        self.payments = PaymentService(
            self.journal,
            self.providers,
            approvals=self.staff.approvals,
            environments=self._profile_environment,
        )
        try:
            self.provider = await self.build_provider(self.profile)
        except (ProviderError, SecretStoreError, OSError, RuntimeError) as error:
            log.exception("Could not set up the provider")
            self.window.provider_failed(f"Payments unavailable: {_message(error)}")
        else:
            self.providers[self.profile.name] = self.provider
            self._provider_ready()
        # Earlier payments are looked up even when the default cannot sell right now.
        await self._sync_providers(self.settings)
        if self.settings.webhooks:
            await self._start_webhooks()
        try:
            report = await self.payments.reconcile()
        except ProviderError as error:
            self.window.show_status(f"Could not check earlier payments: {error.message}")
        else:
            if report.needs_attention:
                self.window.show_status(
                    f"{len(report.needs_attention)} earlier payment(s) need attention — "
                    "see Payments"
                )
        await self._check_audit_trail()

    def _profile_environment(self, name: str) -> Environment | None:
        """Each new payment records its profile's environment: a sandbox sale is training.
        Read at the moment of the sale, so a settings change applies at once."""
        profile = self.settings.profile(name)
        return profile.environment if profile is not None else None

    async def _check_audit_trail(self) -> None:
        """Start-up: the whole chain, under its key, must still contain the last anchor an
        end-of-shift summary showed. A break is shown until someone looks (never hidden)."""
        verification = await self.staff.verify_audit()
        if not verification.ok:
            log.error("Audit trail check failed: %s", verification.message)
            self.window.show_tamper_alert("Audit trail broken", verification.message)

    def _provider_ready(self) -> None:
        from pos_app.services.checkout import CheckoutService

        assert self.provider is not None
        service = CheckoutService(
            self.journal, self.provider, profile=self.profile.name, payments=self.payments
        )
        where = "sandbox" if self.profile.is_sandbox else "live"
        host = self._card_form_host()
        self.window.provider_ready(
            service,
            f"Connected to {self.profile.provider_name} ({where})",
            card_form=host is not None,
        )
        self.window.set_reader(self._reader())
        checkout = self.window.checkout
        if self.customer_display is None:
            from pos_app.gui.screens.customer_display import CustomerDisplay

            self.customer_display = CustomerDisplay(
                self.paths.config_dir, store_name=self.settings.store_name
            )
            # Closing the main window ends the app even while the customer's window is up.
            self.customer_display.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
            checkout.set_customer_display(self.customer_display)
            self.window.card_reader.set_customer_display(self.customer_display)
        checkout.set_card_form(assets_dir=self.paths.web_assets_dir, host=host)
        self._apply_browser_choice()

    def _apply_browser_choice(self) -> None:
        from pos_app.gui.widgets.browser_panel import system_browser

        in_browser = self.settings.secure_page_in_browser
        self.window.checkout.set_browser(system_browser if in_browser else None)

    def _reader(self) -> Reader:
        """The built-in sandbox gets a simulated reader to practise with; everything else a
        reader that says card-present payments are not available yet."""
        from pos_app.bootstrap.reader_setup import build_reader

        assert self.provider is not None
        return build_reader(
            self.profile,
            self.provider,
            sandbox_url=self.sandbox.base_url if self.sandbox is not None else None,
            credentials=sandbox_credentials() if self.profile.is_sandbox else None,
        )

    def _card_form_host(self) -> ComponentHost | None:
        """The built-in sandbox hosts the card form itself; a live JustiFi profile gets a page,
        and the verified component files, from the till's loopback server."""
        from pos_app.gui.webview.card_form_hosts import LiveComponentHost, sandbox_component_host

        if self.profile.provider != "justifi":
            return None
        if uses_builtin_sandbox(self.profile):
            return sandbox_component_host(self.sandbox.base_url) if self.sandbox else None
        if self.profile.is_sandbox:
            return None  # a sandbox of its own URL: its host page is not ours to guess
        if self._live_card_form is None:
            self._live_card_form = LiveComponentHost(assets_dir=self.paths.web_assets_dir)
        return self._live_card_form

    async def _sync_providers(
        self, settings: Settings, previous: Settings | None = None, *, keep: str = ""
    ) -> None:
        """Give every profile of ``settings`` an adapter; close those of profiles that were
        removed or changed since ``previous``. ``keep`` names one already placed.

        Building an adapter sends nothing; a profile that cannot be built (a live one without
        its secret) is left out, and its payments are flagged when they need a lookup.
        A profile on the built-in sandbox waits until training is in use (the sandbox runs,
        or it has open payments): a till that only sells live never starts the simulator.
        """
        for name, adapter in list(self.providers.items()):
            now = settings.profile(name)
            before = previous.profile(name) if previous is not None else now
            if name != keep and (now is None or now != before):
                del self.providers[name]
                await adapter.aclose()
        open_profiles = self.profiles_with_open_payments()
        for profile in settings.profiles:
            if profile.name in self.providers:
                continue
            if (
                uses_builtin_sandbox(profile)
                and self.sandbox is None
                and profile.name not in open_profiles
            ):
                continue  # training not in use: the simulator stays off
            try:
                self.providers[profile.name] = await self.build_provider(profile)
            except (ProviderError, SecretStoreError, OSError, RuntimeError) as error:
                log.warning("Profile %r is not available: %s", profile.name, _message(error))

    async def _start_webhooks(self) -> None:
        """The loopback receiver, registered with the built-in sandbox for its providers.

        Events only trigger lookups (PaymentService.on_webhook); polling goes on as before.
        """
        from pos_app.journal.webhook_events import SeenWebhookEvents
        from pos_app.services.webhook_receiver import WebhookReceiver
        from pos_sandbox.credentials import WEBHOOK_SECRETS

        sandboxed = {p.provider for p in self.settings.profiles if uses_builtin_sandbox(p)}
        if not sandboxed or self.sandbox is None:
            log.info("Webhooks on, but no profile uses the built-in sandbox: nothing to receive")
            return
        loop = asyncio.get_running_loop()
        payments = self.payments
        assert payments is not None

        def on_event(event: WebhookEvent) -> None:  # on the receiver's thread
            loop.call_soon_threadsafe(lambda: self.tasks.start(payments.on_webhook(event)))

        seen = SeenWebhookEvents.open(self.paths.journal_file)
        receiver = WebhookReceiver(
            {key: WEBHOOK_SECRETS[key] for key in sandboxed},
            on_event,
            seen=seen,
            clock=self.clock,
            port=self.settings.webhook_port,
        )
        receiver.start()
        self.webhooks, self._webhooks_seen = receiver, seen
        control = self.sandbox.control
        for key in sorted(sandboxed):
            endpoint = {"provider": key, "url": receiver.url_for(key)}
            await loop.run_in_executor(self._executor, control.post, "webhooks/endpoints", endpoint)
        log.info("Receiving sandbox webhooks at %s", receiver.base_url)

    def profiles_with_open_payments(self) -> set[str]:
        from pos_app.services.reconcile import OPEN_STATES

        names = {payment.profile for payment in self.journal.payments_in_states(OPEN_STATES)}
        for intent in self.journal.unresolved_intents():
            payment = self.journal.get(intent.payment_reference)
            if payment is not None:
                names.add(payment.profile)
        return names

    async def build_provider(self, profile: ProviderProfile) -> PaymentProvider:
        """The adapter for ``profile``, starting the built-in sandbox on first need."""
        from pos_app.config.registry import build_provider

        if profile.needs_secret and not self.secrets.available:
            raise SecretStoreError(NO_KEYRING)
        sandbox_url = await self._sandbox_url() if uses_builtin_sandbox(profile) else None
        return build_provider(
            profile,
            secret=None if profile.is_sandbox else self.secrets.get(profile),
            sandbox_url=sandbox_url,
            sandbox_credentials=sandbox_credentials() if profile.is_sandbox else None,
            approved_hosts=self.secrets.approved_hosts(profile),
        )

    async def _sandbox_url(self) -> str:
        """One in-process simulator serves all four providers; started once, lazily."""
        if self._sandbox_lock is None:
            self._sandbox_lock = asyncio.Lock()
        async with self._sandbox_lock:
            if self.sandbox is None:
                from pos_sandbox.server import SandboxServer

                server = SandboxServer(
                    self.paths.sandbox_state_dir, assets_root=self.paths.web_assets_dir
                )
                await asyncio.get_running_loop().run_in_executor(self._executor, server.start)
                self.sandbox = server
                await self._serve_card_form_assets(server)
            return self.sandbox.base_url

    async def _serve_card_form_assets(self, server: SandboxServer) -> None:
        """Point the sandbox's card-form host at the verified npm files, when fetched
        (in-process: no request can tell the sandbox which files to serve)."""
        from pos_app.platform.assets import cached_assets

        found = await asyncio.get_running_loop().run_in_executor(
            self._executor, cached_assets, self.paths.web_assets_dir
        )
        if found is not None:  # else the card form says how to fetch them
            server.serve_component_assets(found.webcomponents_dir, found.iframe_resizer_file)

    # -- the Settings screen's backend (SettingsBackend) ---------------------------------

    def has_open_payments(self, profile_name: str) -> bool:
        return profile_name in self.profiles_with_open_payments()

    def approved_hosts(self, settings: Settings) -> dict[str, frozenset[str]]:
        """Each live profile's administrator-approved hosts, from the keyring."""
        return {p.name: self.secrets.approved_hosts(p) for p in settings.profiles if p.needs_secret}

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

    async def apply(self, settings: Settings) -> None:
        """Save new settings; when the default profile (or its fields) changed, switch the
        cashier to it. A default that cannot be built is refused and nothing is saved."""
        check_settings(settings, self.approved_hosts(settings))
        new_default = settings.active_profile()
        switching = new_default != self.profile or self.provider is None
        if switching and self.window.selling:
            raise SettingsError(
                "A sale is in progress: finish it on the Cashier screen (F1) before "
                "changing the default profile."
            )
        provider = None
        if switching:
            unchanged = self.settings.profile(new_default.name) == new_default
            provider = self.providers.get(new_default.name) if unchanged else None
            if provider is None:
                try:
                    provider = await self.build_provider(new_default)
                except (ProviderError, SecretStoreError, OSError, RuntimeError) as error:
                    raise SettingsError(
                        f"“{new_default.name}” cannot take payments: {_message(error)}"
                    ) from error
        try:
            save_settings(self.paths.settings_file, settings)
        except (OSError, SettingsError):
            if provider is not None and provider not in self.providers.values():
                await provider.aclose()
            raise
        previous, self.settings = self.settings, settings
        self._staff_settings_changed(previous, settings)
        self._apply_browser_choice()
        if provider is not None:
            old = self.providers.get(new_default.name)
            self.providers[new_default.name] = provider
            if old is not None and old is not provider:
                await old.aclose()
        await self._sync_providers(settings, previous, keep=new_default.name if provider else "")
        if provider is None:
            return
        self.provider, self.profile = provider, new_default
        self.window.switch_profile(
            profile_name=new_default.name,
            provider_name=new_default.provider_name,
            limits=amount_limits(new_default),
            sandbox=new_default.is_sandbox,
        )
        self._provider_ready()

    def _staff_settings_changed(self, previous: Settings, settings: Settings) -> None:
        """Audit the change (who, and which settings) and apply the staff rules at once."""
        from pos_app.journal.audit import AuditAction

        staff = self.staff
        staff.audit.append(
            AuditAction.SETTINGS_CHANGED,
            actor=staff.session.actor,
            subject="settings",
            details=settings_changes(previous, settings),
        )
        self._remember_settings(settings)
        staff.require_sign_in = settings.require_sign_in
        staff.idle.timeout = timedelta(minutes=settings.idle_lock_minutes)
        staff.approvals.policy = _approval_policy(settings)
        self.window.staff_rules_changed()

    async def check_connection(self, profile: ProviderProfile) -> None:
        provider = await self.build_provider(profile)
        try:
            await provider.check_connection()
        finally:
            await provider.aclose()

    # -- shutting down ----------------------------------------------------------------

    async def aclose(self) -> None:
        self.window.shutdown()
        if self.customer_display is not None:
            self.customer_display.close()
        if self.staff.session.user is not None:  # the trail shows every session's end
            self.staff.users.sign_out(self.staff.session, reason="app closed")
        self.tasks.cancel_all()
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        if self._webhooks_seen is not None:
            self._webhooks_seen.close()
            self._webhooks_seen = None
        for adapter in {id(a): a for a in [*self.providers.values(), self.provider] if a}.values():
            await adapter.aclose()
        self.providers.clear()
        self.shutdown_sync()

    def shutdown_sync(self) -> None:
        self._executor.shutdown(wait=True)
        if self._live_card_form is not None:
            self._live_card_form.close()
            self._live_card_form = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        self.journal.close()
        if self._staff_db is not None:
            self._staff_db.close()
            self._staff_db = None


def verify_audit_trail(
    journal_file: Path, key: AuditKey | None = None, anchor: AuditAnchor | None = None
) -> AuditVerification:
    """Check the whole chain (under ``key``, up to at least ``anchor``) on a connection of its
    own: this runs in a worker thread, and a sqlite connection stays on its thread."""
    from pos_app.journal.audit import AuditLog

    own = AuditLog.open(journal_file, key=key)
    try:
        return own.verify(anchor)
    finally:
        own.connection.close()


def _approval_policy(settings: Settings) -> ApprovalPolicy:
    """The settings' limits, in the default profile's currency (a refund in another
    currency always needs a manager: ApprovalService compares like with like only)."""
    from pos_app.domain.money import Money
    from pos_app.services.approvals import ApprovalPolicy

    currency = settings.active_profile().currency

    def limit(minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, currency)

    return ApprovalPolicy(
        refund_limit=limit(settings.refund_approval_limit_minor),
        void_limit=limit(settings.void_approval_limit_minor),
        shift_refund_limit=limit(settings.shift_refund_approval_limit_minor),
    )


def _message(error: BaseException) -> str:
    return error.message if isinstance(error, ProviderError) else str(error)


def prepare_qt() -> QApplication:
    """Qt set-up that must happen before the QApplication exists."""
    prepare_chromium_environment()
    # Lets QtWebEngine load later, only when a checkout needs it.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("pos_app")
    app.setApplicationVersion(__version__)
    app.setStyleSheet(stylesheet())
    return app


def run_gui(options: StartOptions) -> int:
    import qasync

    paths = AppPaths.resolve(options.basedir)
    paths.ensure()
    configure_logging(paths.log_file, logging.DEBUG if options.debug else logging.INFO)
    log.info(
        "pos_app %s starting in %s mode (data in %s)", __version__, options.mode, paths.data_dir
    )
    qt_app = prepare_qt()
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    collector = MainThreadGarbageCollector(qt_app)
    try:
        pos = PosApplication(paths, mode=options.mode)
    except SettingsError as error:
        # A hand-edited or older settings file we cannot trust: say so, change nothing.
        log.error("%s", error)
        print(error, file=sys.stderr)
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "pos_app cannot start", f"{error}\n\nFix or remove the file.")
        collector.stop()
        return 2
    pos.window.show()
    pos.window.focus_first()

    if options.exit_when_ready:

        def ready() -> None:
            # Printed for benchmarks/startup.py: wall-clock time the screen took input.
            print(f"READY {time.time():.6f}", flush=True)
            qt_app.quit()

        QTimer.singleShot(0, ready)
    else:
        QTimer.singleShot(0, lambda: pos.tasks.start(pos.connect()))
        if options.mode == "till":  # only the till opens provider pages
            from pos_app.gui.webview.warmup import warm_up_web_engine

            # Chromium's first start (0.4–1 s on the GUI thread) now, not on the first Charge;
            # then freeze what start-up made, so a full collection stays short, and make
            # each checkout's web view between sales from then on.
            def warmed_up(ok: bool) -> None:
                collector.freeze()
                if ok:  # without QtWebEngine, the checkout screen says so when asked
                    pos.window.checkout.keep_spare_view()

            warm_up_web_engine(pos.window).finished.connect(warmed_up)

    with loop:
        loop.run_forever()  # returns when the last window closes or quit() is called
        loop.run_until_complete(pos.aclose())
    collector.stop()
    return 0
