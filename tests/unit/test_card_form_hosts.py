"""Host pages for the JustiFi card form: the sandbox's, and the live one the till serves."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from pos_app.gui.webview.card_form_hosts import (
    CDN_SCRIPT,
    LiveComponentHost,
    live_page,
    sandbox_component_host,
)
from pos_app.gui.webview.policy import Origin


@pytest.fixture
def live() -> Iterator[LiveComponentHost]:
    host = LiveComponentHost()
    yield host
    host.close()


def test_the_live_page_loads_the_pinned_component_from_justifis_cdn() -> None:
    page = live_page("cho_123", "wct_abc")
    assert CDN_SCRIPT == (
        "https://cdn.jsdelivr.net/npm/@justifi/webcomponents@6.14.3"
        "/dist/webcomponents/webcomponents.esm.js"
    )
    assert f'<script type="module" src="{CDN_SCRIPT}"></script>' in page
    assert '<justifi-checkout auth-token="wct_abc" checkout-id="cho_123">' in page
    # With no origins of its own the component talks to JustiFi's hosts.
    assert "justifi-config-provider" not in page


def test_the_live_page_escapes_what_it_is_given() -> None:
    page = live_page('cho_"><script>', "tok<")
    assert "<script>" not in page.replace('<script type="module"', "")
    assert "tok&lt;" in page


def test_live_pages_are_served_from_loopback_under_a_one_time_path(
    live: LiveComponentHost,
) -> None:
    url = live.page_url("cho_123", "wct_secret")
    assert "wct_secret" not in url and "cho_123" not in url  # nothing to leak in a URL
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert live.origin == f"http://127.0.0.1:{parts.port}"  # the checkout's origin_url
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert 'auth-token="wct_secret"' in answer.text
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    justifi = {
        "https://cdn.jsdelivr.net",
        "https://wc-proxy.justifi.ai",
        "https://components.justifi.ai",
    }
    for name in ("script-src", "connect-src", "frame-src"):
        assert set(directives[name].split()) == justifi, name
    # A second checkout gets a page of its own.
    assert live.page_url("cho_123", "wct_secret") != url


def test_a_forgotten_or_unknown_page_is_not_served(live: LiveComponentHost) -> None:
    url = live.page_url("cho_1", "wct_1")
    live.forget(url)
    assert httpx.get(url).status_code == 404
    assert httpx.get(f"{live.origin}/card-form/guess").status_code == 404
    assert httpx.get(f"{live.origin}/").status_code == 404


def test_the_live_page_may_load_only_the_cdn_and_justifis_hosts(
    live: LiveComponentHost,
) -> None:
    assert live.resource_origins == {
        Origin("https", "cdn.jsdelivr.net", 443),
        Origin("https", "wc-proxy.justifi.ai", 443),
        Origin("https", "components.justifi.ai", 443),
    }
    assert live.needs_local_assets is False


def test_the_sandbox_page_is_the_sandboxs_own() -> None:
    host = sandbox_component_host("http://127.0.0.1:8123/")
    assert host.origin == "http://127.0.0.1:8123"
    assert host.page_url("cho_9", "t") == (
        "http://127.0.0.1:8123/justifi/component-host/cho_9?token=t"
    )
    assert host.needs_local_assets and host.resource_origins == frozenset()
