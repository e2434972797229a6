#!/usr/bin/env bash
# Run the tests that do not need Qt as if PySide6 were not installed (napari's "headless"
# job): everything but pos_app.gui and pos_app.bootstrap must import and work without it.
# tests/_noqt/sitecustomize.py makes importing PySide6, shiboken6, qasync or pytestqt fail,
# here and in every process the tests start; tests/conftest.py then collects no module that
# needs Qt, and -m "not gui" leaves out the tests that use pytest-qt's fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/tests/_noqt${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m pytest -p no:pytest-qt -m "not gui" "$@"
