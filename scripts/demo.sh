#!/usr/bin/env bash
# Set up, index the bundled sample handbook into the embedded store, answer a question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
.venv/bin/ragbot index
echo
echo '$ ragbot ask "Can I deploy on a Friday?"'
.venv/bin/ragbot ask "${1:-Can I deploy on a Friday?}"
