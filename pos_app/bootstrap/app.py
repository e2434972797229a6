"""Composition root: builds every object, wires them, owns their lifetimes.

Nothing else creates services or providers; nothing is global.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from pos_app import __version__
from pos_app.bootstrap.sandbox import BuiltinSandbox, sandbox_credentials, webhook_secrets
from pos_app.config.registry import amount_limits, uses_builtin_sandbox
from pos_app.config.secrets import NO_KEYRING, SecretStore, SecretStoreError
from pos_app.config.settings import ProviderProfile, Settings, SettingsError, load_settings
from pos_app.gui.bridge import ServiceEvents
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
from pos_app.services.profiles import BUILD_ERRORS, ProviderPool, failure_text
from pos_app.services.queries import PaymentQueries
from pos_app.services.settings import SettingsService, approval_policy

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable
    from pathlib import Path

    from pos_app.bootstrap.reader_setup import Reader
    from pos_app.bootstrap.sandbox import SandboxServer
    from pos_app.gui.screens.customer_display import CustomerDisplay
    from pos_app.gui.webview.card_form_hosts import ComponentHost, LiveComponentHost
    from pos_app.journal.audit import AuditAnchor, AuditKey, AuditVerification
    from pos_app.journal.store import Environment
    from pos_app.journal.webhook_events import SeenWebhookEvents
    from pos_app.providers.base import PaymentProvider
    from pos_app.providers.webhooks import WebhookEvent
    from pos_app.services.payments import PaymentService
    from pos_app.services.webhook_receiver import WebhookReceiver

log = logging.getLogger(__name__)

Mode = Literal["till", "workstation"]
MODES: tuple[Mode, ...] = ("till", "workstation")


@dataclass(frozen=True)
class StartOptions:
    basedir: Path | None = None
    exit_when_ready: bool = False
    debug: bool = False
    mode: Mode = "till"  # "workstation": Payments only, sign-in required


class PosApplication:
    """One running till: journal, providers, services and the main window.

    The cashier sells through the default profile's provider; Settings may change the
    default while running (``settings_service``), and start-up reconciliation reaches every
    profile that still has open payments (``provider_pool``).
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
        settings = load_settings(paths.settings_file)
        self.secrets = secrets if secrets is not None else SecretStore()
        self.journal = JournalStore.open(paths.journal_file)
        self._staff_db: sqlite3.Connection | None = None
        self.staff = self._build_staff(settings, clock, monotonic)
        self.tasks = TaskRunner()
        # Our own thread for blocking start-up work; qasync's default executor is a QThread
        # pool that must not outlive the QApplication.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pos-setup")
        self._sandbox = BuiltinSandbox(
            paths.sandbox_state_dir, assets_dir=paths.web_assets_dir, executor=self._executor
        )
        self._live_card_form: LiveComponentHost | None = None  # started on first use
        # Every profile's adapter (the default's too): Payments and reconciliation reach any.
        self.provider_pool = ProviderPool(
            self.journal,
            self.secrets,
            self._build_provider,
            sandbox_running=lambda: self._sandbox.server is not None,
        )
        self.settings_service = SettingsService(
            settings,
            settings_file=paths.settings_file,
            secrets=self.secrets,
            profiles=self.provider_pool,
            staff=self.staff,
            record_name=self._keyring_name("settings"),
            selling=lambda: self.window.selling,
            on_saved=self._settings_saved,
            on_default_switched=self._default_switched,
        )
        self.payments: PaymentService | None = None
        self.webhooks: WebhookReceiver | None = None
        self._webhooks_seen: SeenWebhookEvents | None = None
        self.customer_display: CustomerDisplay | None = None
        queries = PaymentQueries(self.journal)
        self.window = MainWindow(
            queries=queries,
            events=ServiceEvents(queries),
            limits=amount_limits(self.profile),
            locale=self.settings.locale,
            profile_name=self.profile.name,
            provider_name=self.profile.provider_name,
            sandbox=self.profile.is_sandbox,
            store_name=self.settings.store_name,
            tasks=self.tasks,
            settings_backend=self.settings_service,
            staff=self.staff,
            workstation=mode == "workstation",
        )
        self.window.keep_audit_anchor = self.keep_audit_anchor
        outside = self.settings_service.changed_outside()
        if outside:
            self.window.show_tamper_alert("Settings changed outside the app", outside)

    # -- what the services hold, read here as before ----------------------------------

    @property
    def settings(self) -> Settings:
        return self.settings_service.settings

    @property
    def profile(self) -> ProviderProfile:
        """The default profile, which the cashier sells through."""
        return self.settings_service.profile

    @property
    def provider(self) -> PaymentProvider | None:
        """The default profile's adapter, for the cashier (None until it is built)."""
        return self.settings_service.provider

    @property
    def providers(self) -> dict[str, PaymentProvider]:
        return self.provider_pool.adapters

    @property
    def sandbox(self) -> SandboxServer | None:
        """The built-in simulator, once training started it."""
        return self._sandbox.server

    async def apply(self, settings: Settings) -> None:
        await self.settings_service.apply(settings)

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

    def _build_staff(
        self, settings: Settings, clock: Callable[[], datetime], monotonic: Callable[[], float]
    ) -> Staff:
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
            approvals=ApprovalService(users, audit, approval_policy(settings), clock=clock),
            audit=audit,
            idle=IdleLock(timedelta(minutes=settings.idle_lock_minutes), clock=monotonic),
            require_sign_in=settings.require_sign_in,
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
            await self.settings_service.open_default()
        except BUILD_ERRORS as error:
            log.exception("Could not set up the provider")
            self.window.provider_failed(f"Payments unavailable: {failure_text(error)}")
        else:
            self._provider_ready()
        # Earlier payments are looked up even when the default cannot sell right now.
        await self.provider_pool.sync(self.settings)
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
        assert self.provider is not None
        assert self.payments is not None
        where = "sandbox" if self.profile.is_sandbox else "live"
        host = self._card_form_host()
        self.window.provider_ready(
            self.payments,
            self.profile.name,
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

    async def _start_webhooks(self) -> None:
        """The loopback receiver, registered with the built-in sandbox for its providers.

        Events only trigger lookups (PaymentService.on_webhook); polling goes on as before.
        """
        from pos_app.journal.webhook_events import SeenWebhookEvents
        from pos_app.services.webhook_receiver import WebhookReceiver

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
            webhook_secrets(sandboxed),
            on_event,
            seen=seen,
            clock=self.clock,
            port=self.settings.webhook_port,
        )
        receiver.start()
        self.webhooks, self._webhooks_seen = receiver, seen
        await self._sandbox.register_webhooks({key: receiver.url_for(key) for key in sandboxed})
        log.info("Receiving sandbox webhooks at %s", receiver.base_url)

    async def _build_provider(self, profile: ProviderProfile) -> PaymentProvider:
        """The adapter for ``profile`` (the pool's builder), starting the built-in sandbox
        on first need."""
        from pos_app.config.registry import build_provider

        if profile.needs_secret and not self.secrets.available:
            raise SecretStoreError(NO_KEYRING)
        sandbox_url = await self._sandbox.url() if uses_builtin_sandbox(profile) else None
        return build_provider(
            profile,
            secret=None if profile.is_sandbox else self.secrets.get(profile),
            sandbox_url=sandbox_url,
            sandbox_credentials=sandbox_credentials() if profile.is_sandbox else None,
            approved_hosts=self.secrets.approved_hosts(profile),
        )

    # -- what the window shows when settings change (SettingsService's callbacks) ----------

    def _settings_saved(self) -> None:
        self.window.staff_rules_changed()
        self._apply_browser_choice()

    def _default_switched(self) -> None:
        profile = self.profile
        self.window.switch_profile(
            profile_name=profile.name,
            provider_name=profile.provider_name,
            limits=amount_limits(profile),
            sandbox=profile.is_sandbox,
        )
        self._provider_ready()

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
        await self.provider_pool.aclose(self.provider)
        self.shutdown_sync()

    def shutdown_sync(self) -> None:
        self._executor.shutdown(wait=True)
        if self._live_card_form is not None:
            self._live_card_form.close()
            self._live_card_form = None
        self._sandbox.stop()
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
        print(error, file=sys.stderr)  # noqa: T201 - before any window, the terminal is all
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "pos_app cannot start", f"{error}\n\nFix or remove the file.")
        collector.stop()
        return 2
    pos.window.show()
    pos.window.focus_first()

    if options.exit_when_ready:

        def ready() -> None:
            # Printed for benchmarks/startup.py: wall-clock time the screen took input.
            print(f"READY {time.time():.6f}", flush=True)  # noqa: T201 - read by benchmarks
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
