"""A table store over Arrow tables held in memory: the base of the files and fixture adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from exhaust.sources.base import Filters
from exhaust.sources.coerce import conform
from exhaust.sources.schema import TABLES, empty_table


class MemoryTables:
    """Logical tables already loaded (or loaded on first use); filters are vectorised `is_in` masks."""

    def __init__(self, tables: Mapping[str, pa.Table] | None = None) -> None:
        unknown = sorted(set(tables or {}) - set(TABLES))
        if unknown:
            raise KeyError(f"not a logical table: {', '.join(unknown)}")
        # Conformed once here, so every reader gets exactly the logical schema (a no-op when it already is).
        self._tables: dict[str, pa.Table] = {
            name: conform(table, name, f"in-memory {name} table") for name, table in (tables or {}).items()
        }

    def load(self, table: str) -> pa.Table:
        """The whole table; subclasses override to read lazily."""
        return self._tables[table] if table in self._tables else empty_table(table)

    def read(self, table: str, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
        if table not in TABLES:
            raise KeyError(table)
        return filter_table(self.load(table), filters, columns)


def filter_table(data: pa.Table, filters: Filters, columns: Sequence[str] | None = None) -> pa.Table:
    """Rows matching every filter (vectorised `is_in`), limited to `columns` when given."""
    mask = None
    for column, values in filters.items():
        if isinstance(values, str):
            raise TypeError(f"filter on {column} needs a list of values, not the string {values!r}")
        target = data.column(column)
        hit = pc.is_in(target, value_set=pa.array(list(values), type=target.type))
        mask = hit if mask is None else pc.and_(mask, hit)
    data = data if mask is None else data.filter(mask)
    return data if columns is None else data.select(list(columns))
