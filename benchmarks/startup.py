"""Cold start of pos_app to an input-ready Cashier screen, beside a bare PySide6 window.

Each run spawns a fresh process (new --basedir, so settings and journal are created)
and measures wall time from spawn to the moment the process prints READY, i.e. the
first event-loop turn after the screen is shown with the amount field focused.
The bare window does the same with one QLineEdit: the floor Qt itself imposes.
Runs alternate app/bare so machine noise hits both alike. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_WINDOW = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow(); field = QLineEdit(); window.setCentralWidget(field)
window.resize(1280, 800); window.show(); field.setFocus()
def ready():
    print(f"READY {time.time():.6f}", flush=True); app.quit()
QTimer.singleShot(0, ready)
app.exec()
"""


def time_to_ready(command: list[str], env: dict[str, str]) -> float:
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("READY "):
            return (float(line.split()[1]) - start) * 1000
    raise RuntimeError(f"{command[:3]} never printed READY:\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    app_ms: list[float] = []
    bare_ms: list[float] = []
    webengine_loaded = False
    with tempfile.TemporaryDirectory() as scratch:
        # One unmeasured warm-up each, so the first measured run is not paying for disk cache.
        for warmup in (True,) + (False,) * args.runs:
            basedir = Path(tempfile.mkdtemp(dir=scratch))
            app = (
                [
                    sys.executable,
                    "-X",
                    "importtime",
                    "-m",
                    "pos_app",
                    "--basedir",
                    str(basedir),
                    "--exit-when-ready",
                ]
                if warmup
                else [
                    sys.executable,
                    "-m",
                    "pos_app",
                    "--basedir",
                    str(basedir),
                    "--exit-when-ready",
                ]
            )
            if warmup:
                probe = subprocess.run(
                    app, env=env, capture_output=True, text=True, timeout=120, check=True
                )
                webengine_loaded = "QtWebEngine" in probe.stderr
                subprocess.run(
                    [sys.executable, "-c", BARE_WINDOW],
                    env=env,
                    capture_output=True,
                    timeout=120,
                    check=True,
                )
                continue
            app_ms.append(time_to_ready(app, env))
            bare_ms.append(time_to_ready([sys.executable, "-c", BARE_WINDOW], env))
    app_median = statistics.median(app_ms)
    bare_median = statistics.median(bare_ms)
    print(
        json.dumps(
            {
                "runs": args.runs,
                "app_median_ms": round(app_median, 1),
                "bare_median_ms": round(bare_median, 1),
                "ratio": round(app_median / bare_median, 2),
                "target_ratio": 2.0,
                "app_runs_ms": [round(v, 1) for v in app_ms],
                "bare_runs_ms": [round(v, 1) for v in bare_ms],
                "webengine_imported_at_startup": webengine_loaded,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
