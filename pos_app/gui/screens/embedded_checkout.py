"""The embedded JustiFi card form: the real ``<justifi-checkout>`` in the hardened view.

The host page renders the component; a script of ours, in an isolated world the page's own
scripts cannot see, relays the component's DOM events to one ``CheckoutBridge`` over
QWebChannel. Sub-resources may only come from the host page's origin, or for a live page the
CDN and JustiFi's hosts (no version check or analytics calls home).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QFile, QIODevice, QObject
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEngineScript,
)

from pos_app.gui.webview.bridge import BRIDGE_NAME, CheckoutBridge
from pos_app.gui.webview.card_form_hosts import (
    ComponentHost,
    LiveComponentHost,
    SandboxComponentHost,
    sandbox_component_host,
)
from pos_app.gui.webview.policy import NavigationPolicy, Origin

if TYPE_CHECKING:
    from pos_app.gui.webview.view import CheckoutWebView

log = logging.getLogger(__name__)

__all__ = [
    "CardForm",
    "ComponentHost",
    "LiveComponentHost",
    "SandboxComponentHost",
    "sandbox_component_host",
]

_RELAY = """
(function () {
  new QWebChannel(qt.webChannelTransport, function (channel) {
    var bridge = channel.objects.BRIDGE_NAME;
    function send(slot, value) {
      var text = 'null';
      try { text = JSON.stringify(value); } catch (e) {}
      bridge[slot](text);
    }
    document.addEventListener('submit-event', function (event) {
      var detail = event.detail || {};
      var checkout = detail.checkout || {};
      send('submit', {checkout: {payment_status: checkout.payment_status}});
    }, true);
    document.addEventListener('error-event', function (event) {
      var detail = event.detail || {};
      send('error', {errorCode: detail.errorCode, message: detail.message});
    }, true);
    document.addEventListener('checkout-changed', function () {
      send('checkout_changed', {});
    }, true);
  });
})();
""".replace("BRIDGE_NAME", BRIDGE_NAME)


def _qwebchannel_js() -> str:
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("qwebchannel.js is missing from QtWebChannel's resources")
    try:
        return bytes(source.readAll().data()).decode("utf-8")
    finally:
        source.close()


def card_form_policy(host_url: str, resource_origins: frozenset[Origin]) -> NavigationPolicy:
    """The card form's host page is the only main frame; ``resource_origins`` (a live page's
    CDN, API and card iframes) may serve resources and sub-frames, never a navigation."""
    return replace(NavigationPolicy.for_urls(host_url), frame_origins=resource_origins)


class CardForm(QObject):
    """Makes a checkout view, fresh or a spare made between sales (``webview/spare.py``), the
    card form's: its policy, the resource filter, and the bridge in our own script world.
    A child of the view; call ``load()`` once the view is on screen."""

    def __init__(
        self,
        view: CheckoutWebView,
        host_url: str,
        *,
        resource_origins: frozenset[Origin] = frozenset(),
    ) -> None:
        super().__init__(view)
        policy = card_form_policy(host_url, resource_origins)
        view.adopt(policy)
        self.view = view
        self.host_url = host_url
        self.bridge = CheckoutBridge(self)
        allowed = policy.allowed_origins | resource_origins
        # Only the allowed origins: the component's version check and analytics calls home
        # are blocked, and so is anything a compromised bundle would fetch (sockets too).
        self.resources = view.filter_resources(allowed)
        self.channel = QWebChannel(view.checkout_page)
        self.channel.registerObject(BRIDGE_NAME, self.bridge)
        # Our world, not the page's: the component's scripts never see ``qt``.
        world = QWebEngineScript.ScriptWorldId.ApplicationWorld
        view.checkout_page.setWebChannel(self.channel, world)
        relay = QWebEngineScript()
        relay.setName("pos-app-relay")
        relay.setSourceCode(_qwebchannel_js() + _RELAY)
        relay.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        relay.setWorldId(world)
        relay.setRunsOnSubFrames(False)  # the card iframes are the provider's, never ours
        view.checkout_page.scripts().insert(relay)

    def load(self) -> None:
        self.view.load(self.host_url)
