"""JustiFi's web components and iframe-resizer, fetched from npm into a cache (never the repo).

``pos-app assets fetch`` runs this at set-up: ``npm pack`` downloads the published tarballs,
each is checked against the integrity pinned here (``PINNED``, the registry's published
``dist.integrity``, sha512) before it is unpacked, and every later use re-checks the cached
tarball, so a tampered cache is refused, not served. The tarball's own bytes also give the
per-file manifest (``component_manifest``) every served file is checked against when it is
served, so an unpacked file edited after the check is refused too. The embedded JustiFi
checkout serves these files to the web view from loopback (sandbox and live alike).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

WEBCOMPONENTS = "@justifi/webcomponents@6.14.3"
IFRAME_RESIZER = "iframe-resizer@4.4.5"
# The registry's dist.integrity of each pinned version (npm view SPEC dist.integrity): a
# registry or mirror that serves other bytes under the same version is refused.
PINNED = {
    WEBCOMPONENTS: "sha512-pUK1GwMPC3eTmKqBcEu23FR1gMhTgbQsk1teY5UzVlQ2K1R/3pw0/"
    "zxRBacPgI5sXRjLhdFreb/uF5B1UVqe1g==",
    IFRAME_RESIZER: "sha512-U8bCywf/Gh07O69RXo6dXAzTtODQrxaHGHRI7Nt4ipXsuq6EMxVsOP/"
    "jjaP43YtXz/ibESS0uSVDN3sOGCzSmw==",
}
# Where the component's self-contained build sits inside its tarball.
COMPONENT_DIST = "package/dist/webcomponents/"


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
            "npm is not installed or not on PATH; pos_app needs it to "
            f"fetch {WEBCOMPONENTS} and {IFRAME_RESIZER} (install Node.js 20+ with npm)"
        )
    return npm


def _run(args: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - npm with our own fixed arguments
            args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssetsUnavailable(f"running {' '.join(args)} failed: {exc}") from exc
    if done.returncode != 0:
        raise AssetsUnavailable(
            f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done.stdout


def sri(data: bytes) -> str:
    """Subresource-integrity form of a SHA-512 digest: ``sha512-<base64>``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _sri(path: Path) -> str:
    return sri(path.read_bytes())


def cache_folder(spec: str) -> str:
    """The folder below the cache that holds ``spec`` (its tarball, record and package/)."""
    return spec.lstrip("@").replace("/", "__").replace("@", "-")


def component_dir(cache_dir: Path) -> Path:
    """The unpacked component build (what ``component_manifest`` lists) in ``cache_dir``."""
    return cache_dir / cache_folder(WEBCOMPONENTS) / COMPONENT_DIST


def cached_package(spec: str, cache_dir: Path) -> Path | None:
    """The unpacked ``package/`` of ``spec`` if it is cached and its tarball still verifies."""
    target = cache_dir / cache_folder(spec)
    record = target / "integrity.json"
    if not record.is_file():
        return None
    try:
        recorded = json.loads(record.read_text())
        tarball = target / recorded["tarball"]
        integrity = recorded["integrity"]
    except (ValueError, KeyError, TypeError):
        return None
    if (
        integrity == PINNED.get(spec, integrity)
        and tarball.is_file()
        and _sri(tarball) == integrity
    ):
        return target / "package"
    return None


def _verified_tarball(spec: str, cache_dir: Path) -> Path | None:
    target = cache_dir / cache_folder(spec)
    if cached_package(spec, cache_dir) is None:
        return None
    recorded = json.loads((target / "integrity.json").read_text())
    return target / str(recorded["tarball"])


def component_manifest(cache_dir: Path) -> dict[str, str] | None:
    """``{path below dist/webcomponents: sha512 SRI}`` read from the verified tarball itself
    (never from the unpacked files); None when the component is not cached and verified."""
    tarball = _verified_tarball(WEBCOMPONENTS, cache_dir)
    if tarball is None:
        return None
    manifest: dict[str, str] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(COMPONENT_DIST):
                extracted = archive.extractfile(member)
                if extracted is not None:
                    manifest[member.name.removeprefix(COMPONENT_DIST)] = sri(extracted.read())
    return manifest


def fetch_package(spec: str, cache_dir: Path) -> Path:
    """The unpacked ``package/`` directory of ``spec`` (``name@version``), fetched once."""
    cached = cached_package(spec, cache_dir)
    if cached is not None:
        return cached
    slug = cache_folder(spec)
    target = cache_dir / slug
    npm = _npm()
    integrity = _run([npm, "view", spec, "dist.integrity"]).strip()
    if not integrity.startswith("sha512-"):
        raise AssetsUnavailable(f"npm view {spec} dist.integrity gave {integrity!r}")
    if spec in PINNED and integrity != PINNED[spec]:
        raise AssetsUnavailable(
            f"{spec}: the registry's integrity {integrity} is not the pinned {PINNED[spec]}"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=slug + ".", dir=cache_dir))
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


def _assets(components_package: Path, resizer_package: Path) -> WebComponentAssets:
    components = components_package / "dist" / "webcomponents"
    resizer = resizer_package / "js" / "iframeResizer.contentWindow.min.js"
    if not (components / "webcomponents.esm.js").is_file():
        raise AssetsUnavailable(f"{components} has no webcomponents.esm.js")
    if not resizer.is_file():
        raise AssetsUnavailable(f"{resizer} is missing")
    return WebComponentAssets(components, resizer)


def fetch_assets(cache_dir: Path) -> WebComponentAssets:
    """Fetch (or re-verify) both packages; raises AssetsUnavailable saying what went wrong."""
    return _assets(
        fetch_package(WEBCOMPONENTS, cache_dir), fetch_package(IFRAME_RESIZER, cache_dir)
    )


def cached_assets(cache_dir: Path) -> WebComponentAssets | None:
    """The verified assets if they were fetched before; never touches the network."""
    components = cached_package(WEBCOMPONENTS, cache_dir)
    resizer = cached_package(IFRAME_RESIZER, cache_dir)
    if components is None or resizer is None:
        return None
    try:
        return _assets(components, resizer)
    except AssetsUnavailable:
        return None


MISSING_HINT = (
    "The JustiFi payment form is not installed on this till. "
    "Run `pos-app assets fetch` once (it needs npm and the internet), then try again."
)
