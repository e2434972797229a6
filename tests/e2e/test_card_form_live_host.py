"""The live card-form page: served by the till from loopback, with the component's verified
files, and no CDN.

No internet here, so JustiFi's API and card iframes are stood in for by the sandbox: the
page, its origin, its content policy, the served files and the view's resource allow-list
are the live ones; the real component runs cross-origin exactly as it would against JustiFi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from pos_app.domain.payment import PaymentState
from pos_app.gui.webview.card_form_hosts import LiveComponentHost
from pos_app.gui.webview.policy import Origin
from pos_app.platform.assets import component_manifest, sri
from tests.e2e import test_embedded_checkout as card_form
from tests.e2e.webcomponent_assets import CACHE_DIR, WebComponentAssets

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

journal, make_till = card_form.journal, card_form.make_till  # fixtures
sandbox, webcomponent_assets = card_form.sandbox, card_form.webcomponent_assets  # fixtures


def test_a_card_paid_on_the_live_page_is_verified(
    qtbot: QtBot, make_till: Any, webcomponent_assets: WebComponentAssets
) -> None:
    till = make_till("justifi")
    api = f"{till.sandbox.base_url}/justifi"
    host = LiveComponentHost(assets_dir=CACHE_DIR, api_origin=api, iframe_origin=f"{api}/iframe")
    try:
        till.screen.set_card_form(assets_dir=CACHE_DIR, host=host)
        form = card_form.open_card_form(qtbot, till)
        view_url = form.host_url
        page_origin = Origin.of(view_url)
        assert page_origin is not None
        assert page_origin != Origin.of(api)
        heard = card_form.pay(qtbot, form, "4242424242424242")
        assert heard in {("submitted", "succeeded"), card_form.LOOKED_UP_FIRST}
        assert till.wait_for_result() == "Approved"
        [payment] = till.journal.page_payments(offset=0, limit=5)
        assert payment.state is PaymentState.CAPTURED
        assert payment.method == "embedded_checkout"
        # The component's version check and analytics never left the machine.
        assert all(Origin.of(url) not in host.resource_origins for url in form.resources.blocked)
        # The sale is over: its page (and the token in it) is served no more.
        assert httpx.get(view_url).status_code == 404
    finally:
        host.close()


def test_the_manifest_is_the_pinned_releases_every_file(
    webcomponent_assets: WebComponentAssets,
) -> None:
    """Read from the verified tarball itself, it lists every file of the build the till
    serves, each with the SHA-512 of its bytes as published."""
    manifest = component_manifest(CACHE_DIR)
    assert manifest is not None
    build = webcomponent_assets.webcomponents_dir
    on_disk = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()}
    assert set(manifest) == on_disk
    assert "webcomponents.esm.js" in manifest
    assert all(manifest[name] == sri((build / name).read_bytes()) for name in manifest)
