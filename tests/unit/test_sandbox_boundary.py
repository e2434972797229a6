"""The till carries the sandbox but does not load it: starting the app's modules imports no
web server (starlette, uvicorn) and no sandbox code until training starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> list[str]:
    """Top-level packages of interest in a fresh interpreter's sys.modules after ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'starlette', 'uvicorn', 'pos_sandbox'})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_till_loads_no_web_server_and_no_sandbox_until_training_starts() -> None:
    assert loaded_after("import pos_app.bootstrap.app, pos_app.bootstrap.cli") == []


def test_starting_the_sandbox_loads_it() -> None:
    # The probe can see them: the same check after the sandbox's server module is imported.
    assert loaded_after("import pos_sandbox.server") == ["pos_sandbox", "starlette", "uvicorn"]
