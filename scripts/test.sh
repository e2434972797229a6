#!/usr/bin/env bash
# Run the whole test suite offscreen (the README's test command calls this after installing).
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
