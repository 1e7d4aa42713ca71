#!/usr/bin/env bash
# Set up, type-check, then run the whole test suite. Exits non-zero on a type error, any failure, and when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export HF_HUB_OFFLINE=1
# Types first ([tool.mypy] in pyproject.toml): a type error fails the run before any test starts.
echo "type-checking bot, adapters and indexer (mypy)"
.venv/bin/python -m mypy || { echo "mypy found type errors: failing" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
