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


SANDBOX = (sys.executable, "-m", "pos_app", "sandbox")


def start_sandbox(tmp_path: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SANDBOX, "--port", "0", "--state", str(tmp_path / "state"), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_banner(process: subprocess.Popen[str]) -> str:
    """The start banner, up to and including its "State:" line (and a warning after it)."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("State:"):
        line = process.stdout.readline()
        assert line, "".join(lines) + (process.stderr.read() if process.stderr else "")
        lines.append(line)
    return "".join(lines)


def stop(process: subprocess.Popen[str]) -> int:
    try:
        process.send_signal(signal.SIGINT)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_standalone_sandbox_prints_what_a_developer_needs_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    process = start_sandbox(tmp_path, "--host", "127.0.0.1")
    try:
        banner = read_banner(process)
        url = re.search(r"^Sandbox listening on (http://127\.0\.0\.1:\d+)$", banner, re.M)
        token = re.search(r"X-Sandbox-Token: (\S+)\)", banner)
        assert url, banner
        assert token, banner
        # Each dialect's base URL and its published credentials, ready to paste.
        assert f"Checkout.com   {url.group(1)}/checkout-com" in banner
        assert re.search(r"Checkout.com +secret key +sk_sbox_\w+", banner)
        assert re.search(r"JustiFi +client id +test_pos_sandbox", banner)
        assert re.search(r"Payfect +API key +SandboxP\.", banner)
        health = f"{url.group(1)}/_sandbox/health"
        assert httpx.get(health).status_code == 401  # without the token
        answer = httpx.get(health, headers={"X-Sandbox-Token": token.group(1)})
        assert answer.json() == {"status": "ok"}
        saved = tmp_path / "state" / "control-token"
        assert saved.read_text().strip() == token.group(1)
        assert saved.stat().st_mode & 0o077 == 0  # the owner's alone
    finally:
        assert stop(process) == 0
    assert (tmp_path / "state" / "sandbox.sqlite3").is_file()


def test_standalone_sandbox_refuses_other_networks_unless_exposed(tmp_path: Path) -> None:
    refused = subprocess.run(
        [*SANDBOX, "--host", "0.0.0.0", "--port", "0", "--state", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0" in refused.stderr
    assert "--expose" in refused.stderr

    # Exposed (kept on loopback here: tests listen nowhere else), it warns, answers any
    # Host a LAN client may send, and still wants the token for the control API.
    process = start_sandbox(tmp_path, "--host", "127.0.0.1", "--expose", "--control-token", "t0k")
    try:
        banner = read_banner(process)
        assert process.stdout is not None
        warning = process.stdout.readline() + process.stdout.readline()
        assert "WARNING: --expose" in warning
        assert "X-Sandbox-Token: t0k)" in banner
        url = re.search(r"^Sandbox listening on (\S+)$", banner, re.M)
        assert url
        lan = {"Host": "till-7.store.lan:8765"}
        health = f"{url.group(1)}/_sandbox/health"
        assert httpx.get(health, headers=lan).status_code == 401
        assert httpx.get(health, headers={**lan, "X-Sandbox-Token": "t0k"}).status_code == 200
    finally:
        stop(process)


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
