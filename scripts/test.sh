#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint, types, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check stages tests bench supervisor.py
.venv/bin/mypy stages supervisor.py
.venv/bin/mypy --platform win32 stages supervisor.py
.venv/bin/python -m pytest -q -rs "$@"
bash scripts/windows.sh   # the Windows code under Wine 10 (builds its cache once)
