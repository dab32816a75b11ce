#!/usr/bin/env bash
# The whole test suite (needs PostgreSQL and Redis on 127.0.0.1, and Java 17 for the Spark parity tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || bash scripts/setup.sh
. .venv/bin/activate
# Two processes: many tests wait on servers, subprocesses and Spark (docs/decisions.md).
python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile "$@"
