"""Sunbird's test data laid out as a fixture folder source (docs/sources.md), as an operator would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

RESOURCES = "lern-data-products/src/test/resources/exhaust"
MOCKS = "extracted-from-test-code/mock-http-responses"
ARCHIVE = f"{RESOURCES}/data-archival"
CHANNEL = "b00bc992ef25f1a9a8d63291e20efc8d"
COURSE = "do_1130928636168192001667"


def fixture_folder(fixtures: Path, suite: str, search_mock: str, dest: Path) -> Path:
    """report_data.cql, the suite's Redis user hashes and its content search mock, in one folder."""
    dest.mkdir(parents=True)
    shutil.copy(fixtures / RESOURCES / "report_data.cql", dest / "report_data.cql")
    inputs = json.loads(
        (fixtures / "extracted-from-test-code" / "test-inputs.json").read_text(encoding="utf-8")
    )
    hashes = {item["key"]: item["hash"] for item in inputs[suite]["redis_user_hashes_db0"]}
    (dest / "redis-users.json").write_text(json.dumps(hashes, indent=1), encoding="utf-8")
    shutil.copy(fixtures / MOCKS / search_mock, dest / "content-search.json")
    return dest


def exhaust(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real command line, with `env` as the only EXHAUST_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXHAUST_")}
    return subprocess.run(
        [sys.executable, "-m", "exhaust", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, **env},
    )
