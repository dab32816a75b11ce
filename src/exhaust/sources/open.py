"""Build the configured Source from a source spec string (SPEC §2, the EXHAUST_SOURCE setting)."""

from __future__ import annotations

from pathlib import Path

from exhaust.errors import BadInput
from exhaust.sources.base import Source
from exhaust.sources.files import FileTables


def open_source(spec: str) -> Source:
    """Open `spec`: a folder path or `files:DIR`."""
    if spec.startswith("files:"):
        return Source(FileTables(Path(spec.removeprefix("files:"))))
    if "://" not in spec:
        return Source(FileTables(Path(spec)))
    raise BadInput(f"unsupported source {spec!r}: use a folder or files:DIR")
