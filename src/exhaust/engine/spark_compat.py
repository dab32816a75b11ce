"""Corrections to Ibis' PySpark compiler, so the same expression means the same thing on both engines.

Ibis compiles `strip()` to `TRIM(' \\t\\n\\r\\v\\f' FROM x)` for Spark, but Spark SQL reads `\\v` and `\\f`
in a string literal as the letters `v` and `f`: `Yadav` became `Yada`. `lstrip` / `rstrip` compile to
Spark's one-argument `ltrim` / `rtrim`, which remove spaces only. Here all three trim exactly the
characters DuckDB trims (Python's `string.whitespace`), spelled with `chr()` so no escape is involved.
"""

from __future__ import annotations

import string

import sqlglot.expressions as sge
from ibis.backends.sql.compilers.pyspark import PySparkCompiler

_applied = False


def _whitespace(compiler: PySparkCompiler) -> sge.Expression:
    return compiler.f.concat(*(compiler.f.chr(ord(c)) for c in string.whitespace))


def _trim(position: str | None):
    def visit(self: PySparkCompiler, op, *, arg):
        return sge.Trim(this=arg, expression=_whitespace(self), position=position)

    return visit


def apply() -> None:
    """Install the corrected visitors once (idempotent)."""
    global _applied
    if _applied:
        return
    PySparkCompiler.visit_Strip = _trim(None)  # type: ignore[attr-defined]
    PySparkCompiler.visit_LStrip = _trim("LEADING")  # type: ignore[attr-defined]
    PySparkCompiler.visit_RStrip = _trim("TRAILING")  # type: ignore[attr-defined]
    _applied = True
