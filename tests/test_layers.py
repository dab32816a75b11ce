"""Data flows one way: sources -> engine -> reports -> outputs -> jobs -> api / notify. Lower layers never
import higher ones (checked on the source text, so a violation anywhere in a module fails)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "exhaust"
ORDER = ["sources", "engine", "reports", "outputs", "jobs", "api", "notify"]
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
            for used in imported_packages(path) & (higher | {"cli", "demo"}):
                violations.append(f"{path.relative_to(SRC)} imports exhaust.{used}")
    for module in SHARED:
        for used in imported_packages(SRC / f"{module}.py") & set(ORDER):
            violations.append(f"{module}.py imports exhaust.{used}")
    assert violations == []
