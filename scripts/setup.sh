#!/usr/bin/env bash
# Create .venv and install exhaust with its pinned dependencies (Spark and test tools included).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade "pip==26.3"
python -m pip install -q -e ".[spark,dev]"
