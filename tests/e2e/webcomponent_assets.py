"""Fetches JustiFi's web components and iframe-resizer from npm for tests, cached outside the repo.

``npm pack`` downloads the published tarballs; each is checked against the registry's
``dist.integrity`` (sha512) before it is unpacked. The cache lives at ``$POS_APP_ASSETS_CACHE``
or ``~/.cache/pos_app-test-assets`` of the real home, resolved at import time (tests move HOME and
XDG_CACHE_HOME per test). Nothing here is committed or vendored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

WEBCOMPONENTS = "@justifi/webcomponents@6.14.3"
IFRAME_RESIZER = "iframe-resizer@4.4.5"


def _real_home() -> Path:
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        return Path.home()


CACHE_DIR = Path(
    os.environ.get("POS_APP_ASSETS_CACHE") or _real_home() / ".cache" / "pos_app-test-assets"
)


class AssetsUnavailable(RuntimeError):
    """npm is missing, the registry unreachable, or a tarball failed its integrity check."""


@dataclass(frozen=True)
class WebComponentAssets:
    webcomponents_dir: Path  # package/dist/webcomponents (webcomponents.esm.js + chunks)
    iframe_resizer_file: Path  # iframeResizer.contentWindow.min.js


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsUnavailable(
            "npm is not installed or not on PATH; the JustiFi web component test needs it to "
            f"fetch {WEBCOMPONENTS} and {IFRAME_RESIZER} (install Node.js 20+ with npm)"
        )
    return npm


def _run(args: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssetsUnavailable(f"running {' '.join(args)} failed: {exc}") from exc
    if done.returncode != 0:
        raise AssetsUnavailable(
            f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def _sri(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch_package(spec: str) -> Path:
    """The unpacked ``package/`` directory of ``spec`` (``name@version``), fetched once."""
    slug = spec.lstrip("@").replace("/", "__").replace("@", "-")
    target = CACHE_DIR / slug
    record = target / "integrity.json"
    if record.is_file():
        recorded = json.loads(record.read_text())
        tarball = target / recorded["tarball"]
        # Offline re-runs re-check the cached tarball against the integrity npm published.
        if tarball.is_file() and _sri(tarball) == recorded["integrity"]:
            return target / "package"
    npm = _npm()
    integrity = _run([npm, "view", spec, "dist.integrity"]).strip()
    if not integrity.startswith("sha512-"):
        raise AssetsUnavailable(f"npm view {spec} dist.integrity gave {integrity!r}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=slug + ".", dir=CACHE_DIR))
    try:
        packed = json.loads(_run([npm, "pack", spec, "--json", "--pack-destination", str(work)]))
        tarball = work / packed[0]["filename"]
        actual = _sri(tarball)
        if actual != integrity:
            raise AssetsUnavailable(
                f"{spec}: tarball integrity {actual} does not match the registry's {integrity}"
            )
        with tarfile.open(tarball) as archive:
            archive.extractall(work, filter="data")
        (work / "integrity.json").write_text(
            json.dumps({"spec": spec, "tarball": tarball.name, "integrity": integrity})
        )
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target / "package"


def fetch_assets() -> WebComponentAssets:
    components = fetch_package(WEBCOMPONENTS) / "dist" / "webcomponents"
    resizer = fetch_package(IFRAME_RESIZER) / "js" / "iframeResizer.contentWindow.min.js"
    if not (components / "webcomponents.esm.js").is_file():
        raise AssetsUnavailable(f"{components} has no webcomponents.esm.js")
    if not resizer.is_file():
        raise AssetsUnavailable(f"{resizer} is missing")
    return WebComponentAssets(components, resizer)
