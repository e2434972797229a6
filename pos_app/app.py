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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from pos_app import __version__
from pos_app.gui.gc_guard import MainThreadGarbageCollector
from pos_app.gui.main_window import MainWindow
from pos_app.gui.resources import stylesheet
from pos_app.gui.tasks import TaskRunner
from pos_app.gui.webview.chromium_env import prepare_chromium_environment
from pos_app.journal.store import JournalStore
from pos_app.log import configure_logging
from pos_app.paths import AppPaths
from pos_app.providers.errors import ProviderError
from pos_app.providers.justifi.limits import amount_limits
from pos_app.settings import (
    JUSTIFI_LIVE_API,
    JUSTIFI_LIVE_HOSTED,
    KEYRING_SERVICE,
    ProviderProfile,
    load_settings,
)

if TYPE_CHECKING:
    from pos_app.providers.justifi.adapter import JustifiConfig, JustifiProvider
    from pos_app.sandbox.server import SandboxServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartOptions:
    basedir: Path | None = None
    exit_when_ready: bool = False
    debug: bool = False


class PosApplication:
    """One running till: journal, provider, services and the main window."""

    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths
        self.settings = load_settings(paths.settings_file)
        self.profile = self.settings.active_profile()
        self.journal = JournalStore.open(paths.journal_file)
        self.tasks = TaskRunner()
        # Our own thread for blocking start-up work; qasync's default executor is a QThread
        # pool that must not outlive the QApplication.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pos-setup")
        self.sandbox: SandboxServer | None = None
        self.provider: JustifiProvider | None = None
        self.window = MainWindow(
            journal=self.journal,
            limits=amount_limits(self.profile.currency),
            locale=self.settings.locale,
            profile_name=self.profile.name,
            provider_name="JustiFi",
            sandbox=self.profile.is_sandbox,
            store_name=self.settings.store_name,
            tasks=self.tasks,
        )

    async def connect(self) -> None:
        """Reach the provider (starting the built-in sandbox if needed), then reconcile.

        Runs after the first screen takes input; its imports (httpx, the sandbox's
        web server) are deferred to here to keep start-up fast.
        """
        from pos_app.domain.money import Money, format_money
        from pos_app.providers.justifi.adapter import JustifiProvider
        from pos_app.services.checkout import CheckoutService
        from pos_app.services.reconcile import reconcile

        # Load the locale's number data now, not on the cashier's first keystroke.
        format_money(Money(0, self.profile.currency), self.settings.locale)

        try:
            config = await self._provider_config(self.profile)
            self.provider = JustifiProvider(config)
        except (ProviderError, OSError, RuntimeError) as error:
            log.exception("Could not set up the provider")
            self.window.provider_failed(f"Payments unavailable: {error}")
            return
        service = CheckoutService(self.journal, self.provider, profile=self.profile.name)
        where = "sandbox" if self.profile.is_sandbox else "live"
        self.window.provider_ready(service, f"Connected to JustiFi ({where})")
        try:
            report = await reconcile(self.journal, {self.profile.name: self.provider})
        except ProviderError as error:
            self.window.show_status(f"Could not check earlier payments: {error.message}")
            return
        if report.needs_attention:
            self.window.show_status(
                f"{len(report.needs_attention)} earlier payment(s) need attention — see Payments"
            )

    async def _provider_config(self, profile: ProviderProfile) -> JustifiConfig:
        from pos_app.providers.justifi.adapter import JustifiConfig

        if profile.is_sandbox:
            from pos_app.sandbox.server import (
                SANDBOX_CLIENT_ID,
                SANDBOX_CLIENT_SECRET,
                SANDBOX_SUB_ACCOUNT,
                SandboxServer,
            )

            base = profile.api_base_url
            if base is None:
                self.sandbox = SandboxServer(self.paths.sandbox_state_dir)
                await asyncio.get_running_loop().run_in_executor(self._executor, self.sandbox.start)
                base = f"{self.sandbox.base_url}/justifi"
            return JustifiConfig(
                api_base_url=base,
                hosted_checkout_base_url=profile.hosted_checkout_base_url
                or f"{base}/hosted-checkout",
                client_id=SANDBOX_CLIENT_ID,
                client_secret=SANDBOX_CLIENT_SECRET,
                sub_account=profile.sub_account or SANDBOX_SUB_ACCOUNT,
                currency=profile.currency,
            )
        import keyring  # only live profiles need the OS keyring
        import keyring.errors

        try:
            secret = keyring.get_password(KEYRING_SERVICE, profile.secret_key_name())
        except keyring.errors.KeyringError as error:
            raise RuntimeError(f"the OS keyring is not available ({error})") from error
        return JustifiConfig(
            api_base_url=profile.api_base_url or JUSTIFI_LIVE_API,
            hosted_checkout_base_url=profile.hosted_checkout_base_url or JUSTIFI_LIVE_HOSTED,
            client_id=profile.client_id or "",
            client_secret=secret or "",
            sub_account=profile.sub_account or "",
            currency=profile.currency,
        )

    async def aclose(self) -> None:
        self.window.shutdown()
        self.tasks.cancel_all()
        if self.provider is not None:
            await self.provider.aclose()
        self.shutdown_sync()

    def shutdown_sync(self) -> None:
        self._executor.shutdown(wait=True)
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        self.journal.close()


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
    log.info("pos_app %s starting (data in %s)", __version__, paths.data_dir)
    qt_app = prepare_qt()
    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    collector = MainThreadGarbageCollector(qt_app)
    pos = PosApplication(paths)
    pos.window.show()
    pos.window.cashier.focus_amount()

    if options.exit_when_ready:

        def ready() -> None:
            # Printed for benchmarks/startup.py: wall-clock time the screen took input.
            print(f"READY {time.time():.6f}", flush=True)
            qt_app.quit()

        QTimer.singleShot(0, ready)
    else:
        QTimer.singleShot(0, lambda: pos.tasks.start(pos.connect()))

    with loop:
        loop.run_forever()  # returns when the last window closes or quit() is called
        loop.run_until_complete(pos.aclose())
    collector.stop()
    return 0
