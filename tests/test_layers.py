"""Data flows one way: sources -> engine -> reports -> outputs -> jobs -> emission -> tpd -> api / notify ->
dashboard. Lower layers never import higher ones (checked on the source text, so a violation anywhere in a
module fails).

The dashboard sits on top of the API (it reuses the API's context, rules and submit path); the one place
below it that names it is the app factory `api/app.py`, which mounts it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "exhaust"
ORDER = ["sources", "engine", "reports", "outputs", "jobs", "emission", "tpd", "api", "notify", "dashboard"]
#: The composition root: the app factory mounts the dashboard (and nothing else of it is imported below).
MOUNTS = {"api/app.py": {"dashboard"}}
SHARED = {"errors", "settings", "pii", "console", "extras"}  # low-level modules anyone may use


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.update(n.split(".")[1] for n in names if n.startswith("exhaust.") and n.count(".") >= 1)
    return found


def test_lower_layers_never_import_higher_ones() -> None:
    violations = []
    for layer, package in enumerate(ORDER):
        higher = set(ORDER[layer + 1 :]) - ({"notify"} if package == "api" else set())
        for path in (SRC / package).rglob("*.py"):
            allowed = MOUNTS.get(str(path.relative_to(SRC)), set())
            for used in imported_packages(path) & (higher | {"cli", "demo"}) - allowed:
                violations.append(f"{path.relative_to(SRC)} imports exhaust.{used}")
    for module in SHARED:
        for used in imported_packages(SRC / f"{module}.py") & set(ORDER):
            violations.append(f"{module}.py imports exhaust.{used}")
    assert violations == []


def test_the_dashboard_is_mounted_only_by_the_app_factory() -> None:
    """Only `api/app.py` names the dashboard (its `mount` module), and the top CLI its sub-commands."""
    users = {}
    for path in SRC.rglob("*.py"):
        if (SRC / "dashboard") in path.parents:
            continue
        source = path.read_text(encoding="utf-8")
        if "exhaust.dashboard" in source:
            users[str(path.relative_to(SRC))] = [
                line.strip() for line in source.splitlines() if "exhaust.dashboard" in line
            ]
    assert users == {
        "api/app.py": ["from exhaust.dashboard.mount import mount_dashboard"],
        "cli.py": ["from exhaust.dashboard.cli import dashboard_app"],
    }


def test_the_dashboard_uses_no_command_line_or_demo_code() -> None:
    for path in (SRC / "dashboard").rglob("*.py"):
        assert imported_packages(path) & {"cli", "demo"} == set(), path
