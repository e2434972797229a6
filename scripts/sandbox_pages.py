"""Render the sandbox's customer-facing pages to PNGs for review (screenshots/sandbox/).

Each page is created through the provider's own API (reusing the tests' request builders)
and loaded in a QtWebEngine view at a phone-ish and a desktop width.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer, QUrl  # noqa: E402

from pos_app.bootstrap.app import prepare_qt  # noqa: E402
from pos_sandbox.server import SandboxServer  # noqa: E402


def pages(base: str) -> dict[str, str]:
    from tests.sandbox.test_checkout_com import NAS, card_token
    from tests.sandbox.test_payfect import AUTH as PAYFECT
    from tests.sandbox.test_payfect import V1, request_body
    from tests.sandbox.test_recharge import AUTH as RECHARGE
    from tests.sandbox.test_recharge import item

    out: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=10) as http:
        three_ds = http.post(
            "/checkout-com/payments",
            headers=NAS,
            json={
                "source": {"type": "token", "token": card_token(http)},
                "amount": 1799,
                "currency": "GBP",
                "reference": "ORD-1",
                "3ds": {"enabled": True},
                "success_url": "https://pos-app.invalid/s",
                "failure_url": "https://pos-app.invalid/f",
            },
        ).json()
        out["checkout-com-3ds"] = three_ds["_links"]["redirect"]["href"]
        hpp = http.post(
            "/checkout-com/hosted-payments",
            headers=NAS,
            json={
                "amount": 2450,
                "currency": "GBP",
                "reference": "ORD-2",
                "billing": {"address": {"country": "GB"}},
                "success_url": "https://pos-app.invalid/s",
                "failure_url": "https://pos-app.invalid/f",
                "cancel_url": "https://pos-app.invalid/c",
            },
        ).json()
        out["checkout-com-hpp"] = hpp["_links"]["redirect"]["href"]
        link = http.post(
            "/checkout-com/payment-links",
            headers=NAS,
            json={
                "amount": 990,
                "currency": "GBP",
                "reference": "ORD-3",
                "billing": {"address": {"country": "GB"}},
            },
        ).json()
        out["checkout-com-link"] = link["_links"]["redirect"]["href"]
        recharge = http.post(
            "/recharge/checkouts",
            headers=RECHARGE,
            json={
                "line_items": [item("39.95", 2, sku="BEAN-1")],
                "email": "jo@example.com",
            },
        ).json()["checkout"]
        out["recharge-hosted"] = f"{base}/recharge/r/checkout/{recharge['token']}"
        payfect = http.post(V1, headers=PAYFECT, json=request_body()).json()
        out["payfect-crypto"] = payfect["url"]
    return {name: url if url.startswith("http") else f"{base}{url}" for name, url in out.items()}


def main() -> None:
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    from PySide6.QtWebEngineWidgets import QWebEngineView

    out_dir = ROOT / "screenshots" / "sandbox"
    out_dir.mkdir(parents=True, exist_ok=True)
    prepare_qt()
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(Path(tmp)) as sandbox:
        for name, url in pages(sandbox.base_url).items():
            for width, height in ((420, 860), (1200, 800)):
                profile = QWebEngineProfile()
                view = QWebEngineView()
                view.setPage(QWebEnginePage(profile, view))
                view.resize(width, height)
                view.show()
                loop = QEventLoop()
                view.loadFinished.connect(lambda _ok, loop=loop: QTimer.singleShot(300, loop.quit))
                view.load(QUrl(url))
                loop.exec()
                path = out_dir / f"{name}-{width}.png"
                view.grab().save(str(path))
                print(path)
                view.setPage(None)  # type: ignore[arg-type]
                view.deleteLater()


if __name__ == "__main__":
    main()
