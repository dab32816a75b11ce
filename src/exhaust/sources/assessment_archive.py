"""Sunbird's archived assessment data: a second source of `assessment_aggregator` rows (research §5.3).

Sunbird's archival job moves old attempts out of Cassandra into CSV files under
`<base>/<batchId>_<collectionId>/<year>-<week>-<suffix>.csv`; ResponseExhaustJobV2 reads them back. The
files are Spark CSV: backslash escapes quotes (no doubled quotes), the text `null` is a missing value,
`last_attempted_on` is epoch milliseconds and `question` is the question list as JSON text.

`base` is any fsspec URL (a folder, `s3://bucket/prefix`, ...); a batch with no archive folder simply has
no archived attempts. Rows are converted one by one (the question JSON into its struct), like the other
text formats; only the requested batch's folder is read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from exhaust.errors import SourceDataError
from exhaust.sources.coerce import rows_to_table
from exhaust.sources.schema import empty_table

_FILE = re.compile(r"^[^/]*-[^/]*-[^/]*\.csv$")  # Sunbird's glob `*-*-*.csv`
_NULL = "null"


class AssessmentArchive:
    """Archived attempts of a batch, read from `<base>/<batchId>_<collectionId>/*-*-*.csv`."""

    def __init__(self, base: str, storage_options: dict | None = None) -> None:
        self.base = base.rstrip("/")
        self.options = dict(storage_options or {})

    def attempts(self, course_id: str, batch_id: str, user_ids: Sequence[str] | None = None) -> pa.Table:
        """The archived `assessment_aggregator` rows of (course, batch), optionally of some learners."""
        fs, root = fsspec.core.url_to_fs(f"{self.base}/{batch_id}_{course_id}", **self.options)
        try:
            names = sorted(p for p in fs.ls(root, detail=False) if _FILE.match(p.rsplit("/", 1)[-1]))
        except FileNotFoundError:
            return empty_table("assessment_aggregator")
        parts = []
        for name in names:
            with fs.open(name, "rb") as handle:
                text = handle.read().decode("utf-8-sig")
            origin = f"archived assessments {name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}"
            parts.append(rows_to_table(_rows(text, origin), "assessment_aggregator", origin))
        table = pa.concat_tables(parts) if parts else empty_table("assessment_aggregator")
        keep = pc.and_(
            pc.equal(table.column("course_id"), course_id), pc.equal(table.column("batch_id"), batch_id)
        )
        if user_ids is not None:
            keep = pc.and_(
                keep, pc.is_in(table.column("user_id"), value_set=pa.array(list(user_ids), pa.string()))
            )
        return table.filter(pc.fill_null(keep, False))


def _rows(text: str, origin: str) -> Iterator[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""), escapechar="\\", doublequote=False)
    try:
        header = next(reader, [])
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                raise SourceDataError(
                    f"{origin}, line {reader.line_num}: {len(cells)} cells but the header has {len(header)}"
                )
            yield (
                reader.line_num,
                {k: (None if v in ("", _NULL) else v) for k, v in zip(header, cells, strict=True)},
            )
    except csv.Error as exc:
        raise SourceDataError(f"{origin}, line {reader.line_num}: not valid CSV ({exc})") from None
