"""Optional parts installed as pip extras, and the one clear error when one is used but missing.

The core install (`pip install exhaust`) builds reports from files with DuckDB, queues jobs in SQLite,
stores files in folders and serves the API. Adapters and parts with big or native dependencies are
extras: `pip install 'exhaust[postgres,s3]'`, or `exhaust[all]`. Their ranges are in pyproject.toml
(`[project.optional-dependencies]`), their exact pins in constraints.txt.

To add an extra: add it to pyproject.toml (and to `all`), add its import names here, and call
`require("<extra>", "<what needs it>")` where the part starts, before importing its modules.
"""

from __future__ import annotations

import importlib

from exhaust.errors import MissingExtra

#: extra -> the modules it provides (checked by `require`, tested against pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "postgres": ("psycopg",),
    "redis": ("redis",),
    "s3": ("s3fs",),
    "cassandra": ("cassandra",),
    "spark": ("pyspark",),
    "dashboard": ("jinja2",),
    "emission": ("jwt",),
}


def require(extra: str, needed_for: str) -> None:
    """Import the modules of `extra`, or raise MissingExtra naming the extra and what needed it."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(extra, needed_for) from None
