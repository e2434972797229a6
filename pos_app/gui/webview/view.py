"""A checkout web view that can only do what a payment page needs.

Imported lazily (QtWebEngine costs start-up time and memory): only when a checkout opens.
Each view owns a fresh off-the-record profile, so no cookie, cache or card entry
survives the checkout. A view may be made and primed before its checkout exists
(``spare.py``); it still serves one checkout only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineClientCertificateSelection,
    QWebEngineDesktopMediaRequest,
    QWebEngineDownloadRequest,
    QWebEngineFileSystemAccessRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineRegisterProtocolHandlerRequest,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView

from pos_app.gui.webview.policy import NavigationPolicy, Origin, Verdict, resource_allowed

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

BLANK = "about:blank"
TEARDOWN_STEP_MS = 40  # between deleting a spent view's page, its profile and the view

_OFF = (
    QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls,
    QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
    QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows,
    QWebEngineSettings.WebAttribute.JavascriptCanAccessClipboard,
    QWebEngineSettings.WebAttribute.PluginsEnabled,
    QWebEngineSettings.WebAttribute.FullScreenSupportEnabled,
    QWebEngineSettings.WebAttribute.ScreenCaptureEnabled,
    QWebEngineSettings.WebAttribute.PdfViewerEnabled,
    QWebEngineSettings.WebAttribute.AutoLoadIconsForPage,
)


class ResourceFilter(QWebEngineUrlRequestInterceptor):
    """Every request a checkout page makes (scripts, frames, images, sockets) passes
    ``policy.resource_allowed``: http(s) only; with ``allowed``, only from those origins;
    local addresses only where the app allows them by name: ``allowed``, or where ``page``'s
    navigation policy lets the page itself live (the sandbox's own pages, the card-form host)."""

    def __init__(
        self,
        allowed: frozenset[Origin] | None = None,
        parent: QObject | None = None,
        *,
        page: CheckoutPage | None = None,
    ) -> None:
        super().__init__(parent)
        self._allowed = allowed
        self._page = page
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl().toString()
        # Read per request: a spare view adopts its checkout's policy after this is set.
        # Origins the app allowed by name (a card form's API) may be local too.
        local = self._allowed or frozenset()
        if self._page is not None:
            local = local | self._page.policy.allowed_origins
        if not resource_allowed(url, self._allowed, local):
            self.blocked.append(url)
            info.block(True)


def new_private_profile(parent: QObject) -> QWebEngineProfile:
    """Off-the-record (no storage name): nothing is written to disk."""
    profile = QWebEngineProfile(parent)
    assert profile.isOffTheRecord()
    settings = profile.settings()
    for attribute in _OFF:
        settings.setAttribute(attribute, False)
    profile.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
    )
    profile.setPersistentPermissionsPolicy(
        QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime
    )
    profile.downloadRequested.connect(_refuse_download)
    return profile


def _refuse_download(download: QWebEngineDownloadRequest) -> None:
    log.warning("Checkout page tried to download %s; refused", download.url().toString())
    download.cancel()


class CheckoutPage(QWebEnginePage):
    intercepted = Signal(str)  # one of our return URLs: answer with a lookup
    blocked = Signal(str)  # a navigation the policy refused

    def __init__(
        self, profile: QWebEngineProfile, policy: NavigationPolicy, parent: QObject
    ) -> None:
        super().__init__(profile, parent)
        self.policy = policy
        self.priming = False  # only about:blank, before a checkout adopts the page
        self.permissionRequested.connect(self._deny_permission)
        self.certificateError.connect(self._reject_certificate)
        # What a payment page never needs, each refused rather than asked of the cashier.
        self.fileSystemAccessRequested.connect(self._refuse_file_system)
        self.registerProtocolHandlerRequested.connect(self._refuse_protocol_handler)
        self.desktopMediaRequested.connect(self._refuse_desktop_media)
        self.selectClientCertificate.connect(self._refuse_client_certificate)

    def acceptNavigationRequest(
        self, url: QUrl | str, navigation_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        text = url.toString() if isinstance(url, QUrl) else str(url)
        if self.priming and is_main_frame and text == BLANK:
            return True
        verdict = self.policy.decide(text, main_frame=is_main_frame)
        if verdict is Verdict.ALLOW:
            return True
        if verdict is Verdict.INTERCEPT:
            self.intercepted.emit(text)
        else:
            log.warning(
                "Blocked %s navigation to %s",
                "main-frame" if is_main_frame else "frame",
                text[:200],
            )
            self.blocked.emit(text)
        return False

    # Returning None refuses the window; the stubs do not admit None.
    def createWindow(  # type: ignore[override]
        self, window_type: QWebEnginePage.WebWindowType
    ) -> QWebEnginePage | None:
        log.warning("Checkout page asked for a new window; refused")
        return None

    # A page's alert/confirm/prompt would open a modal dialog over the till and freeze it
    # until someone clicks; payment pages do not need them. Log, and answer "no".
    def javaScriptAlert(self, security_origin: QUrl | str, message: str) -> None:
        log.warning("Checkout page alert suppressed: %s", message[:200])

    def javaScriptConfirm(self, security_origin: QUrl | str, message: str) -> bool:
        log.warning("Checkout page confirm suppressed (answered no): %s", message[:200])
        return False

    def javaScriptPrompt(
        self, security_origin: QUrl | str, message: str, default: str
    ) -> tuple[bool, str]:
        log.warning("Checkout page prompt suppressed: %s", message[:200])
        return False, ""

    def chooseFiles(  # type: ignore[override]
        self, mode: QWebEnginePage.FileSelectionMode, old_files: list[str], mime: list[str]
    ) -> list[str]:
        # Qt's default opens the till's own file dialog: anyone at the page (a 3-D Secure
        # frame) could have the disk browsed and a file such as the journal uploaded.
        log.warning("Checkout page asked to choose files; refused")
        return []

    @staticmethod
    def _refuse_file_system(request: QWebEngineFileSystemAccessRequest) -> None:
        log.warning("Refused file system access for %s", request.origin().toString())
        request.reject()

    @staticmethod
    def _refuse_protocol_handler(request: QWebEngineRegisterProtocolHandlerRequest) -> None:
        log.warning("Refused a %s protocol handler for %s", request.scheme(), request.origin())
        request.reject()

    @staticmethod
    def _refuse_desktop_media(request: QWebEngineDesktopMediaRequest) -> None:
        log.warning("Refused a screen or window capture request")
        request.cancel()

    @staticmethod
    def _refuse_client_certificate(selection: QWebEngineClientCertificateSelection) -> None:
        log.warning("Refused to send a client certificate to %s", selection.host().toString())
        selection.selectNone()

    @staticmethod
    def _deny_permission(permission: QWebEnginePermission) -> None:
        log.warning(
            "Denied permission %s to %s",
            permission.permissionType(),
            permission.origin().toString(),
        )
        permission.deny()

    @staticmethod
    def _reject_certificate(error: QWebEngineCertificateError) -> None:
        log.warning("Rejected certificate for %s: %s", error.url().toString(), error.description())
        error.rejectCertificate()


class CheckoutWebView(QWebEngineView):
    """A view with its own private profile; call ``dispose()`` when the checkout ends."""

    def __init__(self, policy: NavigationPolicy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self.setAcceptDrops(False)
        self.profile_ = new_private_profile(self)
        self.checkout_page = CheckoutPage(self.profile_, policy, self)
        # Children die in the order they were added, and a page must die before its profile
        # (or QtWebEngine warns and may crash): should the view go without dispose(), say
        # with its screen, the page now goes first.
        self.profile_.setParent(None)
        self.profile_.setParent(self)
        self.setPage(self.checkout_page)
        self.resources = self.filter_resources(None)
        self._last_allowed: QUrl | None = None
        self._forget_priming = False
        self.urlChanged.connect(self._check_landing)

    def filter_resources(self, allowed: frozenset[Origin] | None) -> ResourceFilter:
        """Every request of the page passes a ResourceFilter (http(s) only; with
        ``allowed``, from those origins only); the last one set decides."""
        self.resources = ResourceFilter(allowed, self.profile_, page=self.checkout_page)
        self.profile_.setUrlRequestInterceptor(self.resources)
        return self.resources

    def prime(self) -> None:
        """Have Chromium set up this page and its renderer now, on an empty document, so the
        checkout that adopts the view only pays for loading its own page."""
        self.checkout_page.priming = True
        self.load(QUrl(BLANK))

    def adopt(self, policy: NavigationPolicy) -> None:
        """Hand a primed view to its checkout: from now on only ``policy`` decides."""
        self.checkout_page.policy = policy
        self.checkout_page.priming = False
        self._forget_priming = True  # "back" must not return to the priming document

    def _check_landing(self, url: QUrl) -> None:
        """Chromium commits some documents (about:blank) without asking
        ``acceptNavigationRequest``; a page that got away that way is sent back."""
        text = url.toString()
        if self.checkout_page.priming and text == BLANK:
            return
        if not text or self.checkout_page.policy.decide(text, main_frame=True) is Verdict.ALLOW:
            self._last_allowed = url
            if self._forget_priming and text:
                self._forget_priming = False
                self.history().clear()  # keeps only the page that just landed
            return
        log.warning("Checkout page landed on %s without asking; sent back", text[:200])
        self.checkout_page.blocked.emit(text)
        if self._last_allowed is not None:
            self.load(self._last_allowed)

    def dispose(self) -> None:
        """Hide the view now and delete it piece by piece: the page, then its profile (a page
        must die before its profile, or QtWebEngine warns and may crash), then the view.

        Chromium spends up to ~25 ms of the GUI thread on each piece; deleted in one turn of
        the event loop they held the result screen up for over 50 ms."""
        page, profile = self.checkout_page, self.profile_
        self.hide()
        self.setPage(None)  # type: ignore[arg-type]
        # A timer with a context object does not fire once that object is gone.
        QTimer.singleShot(TEARDOWN_STEP_MS, page, page.deleteLater)
        page.destroyed.connect(
            lambda: QTimer.singleShot(TEARDOWN_STEP_MS, profile, profile.deleteLater)
        )
        profile.destroyed.connect(self.deleteLater)
