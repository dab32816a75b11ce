#!/usr/bin/env bash
# Rewrite constraints.txt (the exact versions setup.sh and CI install) from the current .venv.
# After changing a range in pyproject.toml: pip install -e ".[all,dev]" in .venv, then run this.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
{
  echo "# Exact versions installed by scripts/setup.sh and CI (pip install -c constraints.txt); ranges are in"
  echo "# pyproject.toml. Regenerate after a change: bash scripts/lock.sh"
  python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^exhaust=='
} > constraints.txt.part
mv constraints.txt.part constraints.txt
