"""The command line a person types: version, a clean start under --basedir, the sandbox alone."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from pos_app import __version__


def pos_app(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pos_app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env=env,
    )
    return done.stdout


def test_version() -> None:
    assert pos_app("--version").strip() == f"pos-app {__version__}"


def test_exit_when_ready_keeps_everything_under_basedir(tmp_path: Path) -> None:
    basedir = tmp_path / "till"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = pos_app("--basedir", str(basedir), "--exit-when-ready", env=env)
    assert re.search(r"^READY \d+\.\d+$", out, re.MULTILINE)
    assert (basedir / "config" / "settings.json").is_file()
    assert (basedir / "data" / "journal.sqlite3").is_file()
    assert (basedir / "logs" / "pos_app.log").is_file()
    for folder in ("config", "data", "logs", "cache"):
        assert (basedir / folder).stat().st_mode & 0o077 == 0, f"{folder} is readable by others"
    # Nothing was written to the (test-isolated) home folder.
    home = Path(os.environ["HOME"])
    assert [p for p in home.rglob("*") if p.is_file()] == []


def test_standalone_sandbox_prints_its_url_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pos_app",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--state",
            str(tmp_path / "state"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"Sandbox listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        health = httpx.get(f"{match.group(1)}/_sandbox/health")
        assert health.json() == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert (tmp_path / "state" / "sandbox.sqlite3").is_file()


def _copy_verified_cache(target: Path) -> None:
    """The e2e tests' npm cache, as `pos-app assets fetch` would have left it."""
    from tests.e2e.webcomponent_assets import CACHE_DIR, fetch_assets

    fetch_assets()
    shutil.copytree(CACHE_DIR, target)


def test_assets_fetch_reverifies_a_warm_cache_without_npm(tmp_path: Path) -> None:
    basedir = tmp_path / "till"
    cache = basedir / "cache" / "web-assets"
    _copy_verified_cache(cache)
    no_npm = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    out = pos_app("--basedir", str(basedir), "assets", "fetch", env=no_npm)
    assert f"JustiFi web components: {cache}" in out


def test_assets_fetch_refuses_a_tampered_cache_and_says_how_to_fix_it(tmp_path: Path) -> None:
    basedir = tmp_path / "till"
    cache = basedir / "cache" / "web-assets"
    _copy_verified_cache(cache)
    for tarball in cache.glob("*/*.tgz"):
        tarball.write_bytes(tarball.read_bytes() + b"tampered")
    no_npm = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    done = subprocess.run(
        [sys.executable, "-m", "pos_app", "--basedir", str(basedir), "assets", "fetch"],
        capture_output=True,
        text=True,
        timeout=60,
        env=no_npm,
    )
    assert done.returncode == 1
    assert "npm is not installed" in done.stderr
