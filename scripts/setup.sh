#!/usr/bin/env bash
# Set up ./.venv with ragbot and everything its tests need. Safe to run again.
#
# torch goes in first, pinned: an unpinned torch pulls a multi-GB CUDA build. Set
# TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cpu) where the pinned release
# is not the CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "ragbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv"
    "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    echo "installing torch $TORCH_VERSION (CPU)"
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "${pip[@]}" "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
    else
        "${pip[@]}" "torch==$TORCH_VERSION"
    fi
fi
echo "installing ragbot"
"${pip[@]}" -e ".[dev]"

# The /admin browser test drives Debian's Chromium through Playwright (tests/scenarios/test_admin_browser.py
# skips, saying why, without it). Installed only as root, only where apt-get exists and Chromium
# is missing; a failure here is a warning, not a failed set-up.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (for the admin page's browser test)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
        >/dev/null 2>&1; then
        echo "warning: could not install chromium; the admin page's browser test will be skipped" >&2
    fi
fi
