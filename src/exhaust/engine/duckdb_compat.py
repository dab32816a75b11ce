"""Corrections to Ibis' DuckDB compiler for the DuckDB this project runs.

Ibis 12 compiles `ArrayValue.zip` to `list_apply(range(...), i -> {...})`; DuckDB 2 refuses the `->`
lambda arrow unless `lambda_syntax` allows it (the backend allows it for Ibis' other lambdas). DuckDB's own
`list_zip`, cast to Ibis' struct field names (`f1`, `f2`, ...), means the same
(the longer list decides the length, the shorter one is padded with nulls) and is cheaper.
"""

from __future__ import annotations

import sqlglot as sg
from ibis.backends.sql.compilers.base import NULL
from ibis.backends.sql.compilers.duckdb import DuckDBCompiler

_applied = False


def _visit_array_zip(self: DuckDBCompiler, op, *, arg):
    any_arg_null = sg.or_(*(array.is_(NULL) for array in arg))
    return self.if_(any_arg_null, NULL, self.cast(self.f.list_zip(*arg), op.dtype))


def apply() -> None:
    """Install the corrected visitors once (idempotent)."""
    global _applied
    if _applied:
        return
    DuckDBCompiler.visit_ArrayZip = _visit_array_zip  # type: ignore[method-assign]
    _applied = True
