#!/usr/bin/env bash
# Create .venv and install exhaust with every extra and the test tools, at the exact versions of
# constraints.txt (pyproject.toml holds the ranges).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade "pip==26.3"
python -m pip install -q -c constraints.txt -e ".[all,dev]"
