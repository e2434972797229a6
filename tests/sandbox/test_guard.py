"""The sandbox answers only the till that started it: the attacks that worked on it once.

Each was reproduced against the unlocked sandbox: reading the till's files through the asset
route, a cross-site ``text/plain`` POST marking a sale paid, a DNS-rebound page talking to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from pos_sandbox.credentials import (
    JUSTIFI_CLIENT_ID,
    JUSTIFI_CLIENT_SECRET,
    JUSTIFI_SUB_ACCOUNT,
)
from pos_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CONTROL_ROUTES = [
    ("GET", "/_sandbox/health"),
    ("POST", "/_sandbox/faults"),
    ("DELETE", "/_sandbox/faults"),
    ("POST", "/_sandbox/clock/advance"),
    ("POST", "/_sandbox/justifi/pay"),
    ("POST", "/_sandbox/checkout-com/pay"),
    ("POST", "/_sandbox/recharge/pay"),
    ("POST", "/_sandbox/payfect/pay"),
    ("GET", "/_sandbox/webhooks"),
    ("POST", "/_sandbox/webhooks/endpoints"),
]


@pytest.fixture
def anyone(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """A client without the run's token: another local user, or a web page."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
        yield http


def open_checkout(client: httpx.Client) -> str:
    token = client.post(
        "/justifi/oauth/token",
        json={"client_id": JUSTIFI_CLIENT_ID, "client_secret": JUSTIFI_CLIENT_SECRET},
    ).json()["access_token"]
    made = client.post(
        "/justifi/v1/checkouts",
        json={"amount": 5000, "description": "Birthday cake"},
        headers={"Authorization": f"Bearer {token}", "Sub-Account": JUSTIFI_SUB_ACCOUNT},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def checkout_status(client: httpx.Client, checkout_id: str) -> str:
    token = client.post(
        "/justifi/oauth/token",
        json={"client_id": JUSTIFI_CLIENT_ID, "client_secret": JUSTIFI_CLIENT_SECRET},
    ).json()["access_token"]
    found = client.get(
        f"/justifi/v1/checkouts/{checkout_id}",
        headers={"Authorization": f"Bearer {token}", "Sub-Account": JUSTIFI_SUB_ACCOUNT},
    )
    return str(found.json()["data"]["status"])


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES)
def test_every_control_route_wants_the_runs_token(
    anyone: httpx.Client, sandbox: SandboxServer, method: str, path: str
) -> None:
    for headers in ({}, {"X-Sandbox-Token": "guessed"}):
        refused = anyone.request(method, path, json={}, headers=headers)
        assert refused.status_code == 401, refused.text
        assert "X-Sandbox-Token" in refused.json()["error"]
    assert sandbox.control.health()


def test_a_cross_site_text_plain_post_cannot_mark_a_sale_paid(
    anyone: httpx.Client, sandbox: SandboxServer
) -> None:
    checkout_id = open_checkout(anyone)
    forged = f'{{"checkout_id": "{checkout_id}", "card": "4242424242424242"}}'
    for headers in (
        {"Origin": "https://evil.example", "Content-Type": "text/plain"},
        # Even with the token (a leaked one), a form-encodable body is refused.
        {"Content-Type": "text/plain", **sandbox.control_headers},
    ):
        answer = anyone.post("/_sandbox/justifi/pay", content=forged, headers=headers)
        assert answer.status_code in (401, 415), answer.text
        assert "access-control-allow-origin" not in answer.headers
    assert checkout_status(anyone, checkout_id) == "created"  # still unpaid


def test_a_page_that_rebinds_its_name_to_the_sandbox_is_refused(
    anyone: httpx.Client, sandbox: SandboxServer
) -> None:
    port = sandbox.base_url.rsplit(":", 1)[1]
    for path in ("/justifi/oauth/token", "/checkout-com/", "/_sandbox/health"):
        answer = anyone.get(path, headers={"Host": f"evil.example:{port}"})
        assert answer.status_code == 421, answer.text
    assert anyone.get("/_sandbox/health", headers={"Host": f"localhost:{port}"}).status_code == 401


def test_no_request_can_point_the_sandbox_at_a_file(
    tmp_path: Path, anyone: httpx.Client, sandbox: SandboxServer
) -> None:
    secret = tmp_path / "settings.json"
    secret.write_text('{"pin_hash": "scrypt$…"}')
    for body in ({"webcomponents_dir": str(tmp_path)}, {"iframe_resizer_file": str(secret)}):
        answer = sandbox.control.request("POST", "justifi/assets", json=body)
        assert answer.status_code in (404, 405)  # the route is gone
    served = anyone.get("/justifi/iframe/assets/iframeResizer.contentWindow.min.js")
    assert served.status_code == 404
    assert b"pin_hash" not in served.content


def test_in_process_the_app_may_serve_files_from_its_assets_folder_only(tmp_path: Path) -> None:
    assets = tmp_path / "web-assets"
    components = assets / "webcomponents"
    components.mkdir(parents=True)
    (components / "webcomponents.esm.js").write_text("export {};")
    resizer = assets / "iframeResizer.contentWindow.min.js"
    resizer.write_text("// resizer")
    outside = tmp_path / "journal.sqlite3"
    outside.write_text("PIN hashes")
    with SandboxServer(tmp_path / "state", assets_root=assets) as server:
        with pytest.raises(ValueError, match="not inside the assets folder"):
            server.serve_component_assets(components, outside)
        server.serve_component_assets(components, resizer)
        served = httpx.get(
            f"{server.base_url}/justifi/iframe/assets/iframeResizer.contentWindow.min.js"
        )
        assert served.text == "// resizer"


def test_the_in_process_sandbox_listens_on_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        SandboxServer(tmp_path, host="0.0.0.0")
