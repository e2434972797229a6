"""Host pages for the JustiFi card form: the sandbox's, and the live one the till serves."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from pos_app.gui.webview.card_form_hosts import (
    COMPONENT_SCRIPT,
    LiveComponentHost,
    live_page,
    sandbox_component_host,
)
from pos_app.gui.webview.policy import Origin
from pos_app.platform.assets import COMPONENT_DIST, sri

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def live() -> Iterator[LiveComponentHost]:
    host = LiveComponentHost()
    yield host
    host.close()


def test_the_live_page_loads_the_component_from_its_own_origin_not_a_cdn() -> None:
    page = live_page("cho_123", "wct_abc")
    assert COMPONENT_SCRIPT == "/components/webcomponents.esm.js"
    assert f'<script type="module" src="{COMPONENT_SCRIPT}"></script>' in page
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
    assert "wct_secret" not in url
    assert "cho_123" not in url
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
    justifi = {"https://wc-proxy.justifi.ai", "https://components.justifi.ai"}
    assert directives["script-src"] == "'self'"  # the component, served by the till itself
    for name in ("connect-src", "frame-src"):
        assert set(directives[name].split()) == justifi, name
    # A second checkout gets a page of its own.
    assert live.page_url("cho_123", "wct_secret") != url


def test_a_forgotten_or_unknown_page_is_not_served(live: LiveComponentHost) -> None:
    url = live.page_url("cho_1", "wct_1")
    live.forget(url)
    assert httpx.get(url).status_code == 404
    assert httpx.get(f"{live.origin}/card-form/guess").status_code == 404
    assert httpx.get(f"{live.origin}/").status_code == 404


def test_the_live_page_may_reach_only_justifis_hosts(live: LiveComponentHost) -> None:
    assert live.resource_origins == {
        Origin("https", "wc-proxy.justifi.ai", 443),
        Origin("https", "components.justifi.ai", 443),
    }
    assert live.needs_local_assets is True  # the component's files come from the cache


def _cache_with(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, dict[str, str]]:
    """An unpacked component build and the manifest its (pinned) tarball would give."""
    build = tmp_path / "justifi__webcomponents-6.14.3" / COMPONENT_DIST
    build.mkdir(parents=True)
    for name, data in files.items():
        (build / name).write_bytes(data)
    return tmp_path, {name: sri(data) for name, data in files.items()}


def test_component_files_are_served_only_as_the_verified_release_has_them(
    tmp_path: Path,
) -> None:
    cache, manifest = _cache_with(
        tmp_path, {"webcomponents.esm.js": b"export const ok = 1;", "p-1.js": b"chunk"}
    )
    host = LiveComponentHost(assets_dir=cache, read_manifest=lambda _dir: manifest)
    try:
        served = httpx.get(f"{host.origin}/components/webcomponents.esm.js")
        assert served.status_code == 200
        assert served.content == b"export const ok = 1;"
        assert served.headers["content-type"] == "text/javascript"
        # Edited on disk after it was verified: refused, not run.
        (cache / "justifi__webcomponents-6.14.3" / COMPONENT_DIST / "p-1.js").write_bytes(
            b"steal(document.cookie)"
        )
        assert httpx.get(f"{host.origin}/components/p-1.js").status_code == 404
        # Not in the release at all, or outside the build: not served either.
        (cache / "extra.js").write_bytes(b"x")
        for path in ("/components/extra.js", "/components/../extra.js", "/components/"):
            assert httpx.get(f"{host.origin}{path}").status_code == 404, path
    finally:
        host.close()


def test_without_a_verified_cache_no_component_file_is_served(tmp_path: Path) -> None:
    host = LiveComponentHost(assets_dir=tmp_path)  # nothing fetched: no manifest
    try:
        assert httpx.get(f"{host.origin}/components/webcomponents.esm.js").status_code == 404
    finally:
        host.close()


def test_the_sandbox_page_is_the_sandboxs_own() -> None:
    host = sandbox_component_host("http://127.0.0.1:8123/")
    assert host.origin == "http://127.0.0.1:8123"
    assert host.page_url("cho_9", "t") == (
        "http://127.0.0.1:8123/justifi/component-host/cho_9?token=t"
    )
    assert host.needs_local_assets
    assert host.resource_origins == frozenset()
