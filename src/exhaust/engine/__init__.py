"""Engine: report logic as Ibis expressions, run on DuckDB (embedded) or PySpark (distributed)."""
