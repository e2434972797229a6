#!/usr/bin/env bash
# Install pos_app into .venv with its test tools (idempotent). On Debian/Ubuntu it first
# installs the system libraries Qt and QtWebEngine load at run time, if any are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

QT_RUNTIME_DEBS=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxshmfence1 libasound2 libgbm1
  libxkbfile1 libxcb-cursor0 fonts-dejavu-core)

if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${QT_RUNTIME_DEBS[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing system libraries for Qt: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

# The JustiFi payment form's files come from npm (verified, cached, never committed). Without
# npm the app still runs; the embedded form then says how to fetch them later.
if ! .venv/bin/pos-app assets fetch; then
  echo "warning: the embedded JustiFi form will be unavailable until 'pos-app assets fetch' succeeds" >&2
fi
