"""Progress-exhaust CSVs to cQube's 12 `diksha_tpd` columns (research-cqube-emission §5.5, §6.2 step 7).

Columns are picked by name, case-insensitively, so both layouts work: Sunbird Lern's deployed one
(`BatchId_` prefixed batch ids, `dd/MM/yyyy` dates, `NN%` scores) and the seed layout (plain batch ids,
`yyyy-MM-dd HH:mm:ss:SSS+0000` timestamps, plain scores, no Org Name). Every transformation is an Arrow
compute kernel over a whole record batch, and a file is read in batches, so memory stays flat.

The one difference the layouts cannot hide: Sunbird's Total Score is a percentage of the maximum, the
seed's a sum of scores; each is kept as the file gives it (docs/decisions.md).
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyzipper

from exhaust.errors import SourceDataError

TPD_COLUMNS: tuple[str, ...] = (
    "collection_id",
    "collection_name",
    "state",
    "enrolment_date",
    "batch_id",
    "batch_name",
    "completion_date",
    "certificate_status",
    "org_name",
    "progress",
    "total_score",
    "uuid",
)
#: progress-exhaust header (lower case) -> diksha_tpd column.
RAW_NAMES: dict[str, str] = {
    "collection id": "collection_id",
    "collection name": "collection_name",
    "state": "state",
    "enrolment date": "enrolment_date",
    "batch id": "batch_id",
    "batch name": "batch_name",
    "completion date": "completion_date",
    "certificate status": "certificate_status",
    "org name": "org_name",
    "progress": "progress",
    "total score": "total_score",
    "user uuid": "uuid",
}
REQUIRED = ("collection_id", "batch_id", "uuid", "progress")
TPD_SCHEMA = pa.schema([(name, pa.string()) for name in TPD_COLUMNS])
BLOCK_BYTES = 8 << 20
BAD_ZIP = (zipfile.BadZipFile, pyzipper.BadZipFile)


class ZipKeyError(SourceDataError):
    """A report zip that the configured key does not open."""


def open_report_zip(zip_path: Path, password: str | None, work_dir: Path) -> Path:
    """Extract the CSV of a report zip (ZipCrypto or AES) into `work_dir`; returns its path."""
    try:
        archive = pyzipper.AESZipFile(zip_path)
    except (*BAD_ZIP, OSError):
        raise SourceDataError(f"{zip_path.name} is not a zip file") from None
    with archive:
        entries = [info for info in archive.infolist() if info.filename.lower().endswith(".csv")]
        if len(entries) != 1:
            raise SourceDataError(f"{zip_path.name} holds {len(entries)} CSV files, not one")
        entry = entries[0]
        encrypted = bool(entry.flag_bits & 0x1)
        if encrypted and not password:
            raise ZipKeyError(f"{zip_path.name} is password protected and no encryption key is configured")
        if password:
            archive.setpassword(password.encode("utf-8"))
        target = work_dir / Path(entry.filename).name
        partial = target.with_name(f".{target.name}.part")
        try:
            with archive.open(entry) as source, partial.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
        except RuntimeError as exc:  # "Bad password for file"
            partial.unlink(missing_ok=True)
            raise ZipKeyError(f"{zip_path.name} did not open with the configured encryption key") from exc
        except (*BAD_ZIP, OSError) as exc:
            partial.unlink(missing_ok=True)
            if encrypted:  # a wrong ZipCrypto key often surfaces as a bad CRC
                raise ZipKeyError(f"{zip_path.name} did not open with the configured encryption key") from exc
            raise SourceDataError(f"{zip_path.name} is damaged ({type(exc).__name__})") from None
        partial.replace(target)
    return target


def header_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def layout_of(header: list[str]) -> str:
    """`sunbird-lern` or `seed` (for the run's record; normalisation itself does not depend on it)."""
    names = {h.strip().lower() for h in header}
    return "sunbird-lern" if "org name" in names else "seed"


def read_normalised(path: Path) -> Iterator[pa.RecordBatch]:
    """The CSV at `path` as record batches of the 12 `diksha_tpd` columns (all text)."""
    header = header_of(path)
    chosen: dict[str, str] = {}
    for name in header:
        column = RAW_NAMES.get(name.strip().lstrip("\ufeff").lower())
        if column is not None and column not in chosen:
            chosen[column] = name
    missing = [c for c in REQUIRED if c not in chosen]
    if missing:
        wanted = {v: k for k, v in RAW_NAMES.items()}
        raise SourceDataError(
            f"{path.name} is not a progress exhaust: it lacks the column(s) "
            + ", ".join(wanted[c].title().replace("Uuid", "UUID") for c in missing)
        )
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            include_columns=list(chosen.values()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    for batch in reader:
        yield normalise_batch(batch, chosen)


def normalise_batch(batch: pa.RecordBatch, chosen: dict[str, str]) -> pa.RecordBatch:
    """One batch of raw columns (named as in the file) to the 12 normalised ones."""
    rows = batch.num_rows

    def raw(column: str) -> pa.Array:
        if column not in chosen:
            return pa.nulls(rows, pa.string())
        return _blank_to_null(batch.column(chosen[column]))

    columns = {name: raw(name) for name in TPD_COLUMNS}
    columns["batch_id"] = pc.replace_substring_regex(columns["batch_id"], r"^BatchId_", "")
    columns["enrolment_date"] = iso_date(columns["enrolment_date"])
    columns["completion_date"] = iso_date(columns["completion_date"])
    columns["total_score"] = _blank_to_null(pc.replace_substring(columns["total_score"], "%", ""))
    columns["progress"] = _blank_to_null(pc.replace_substring(columns["progress"], "%", ""))
    return pa.RecordBatch.from_arrays([columns[n] for n in TPD_COLUMNS], schema=TPD_SCHEMA)


def iso_date(values: pa.Array) -> pa.Array:
    """`dd/MM/yyyy` and `yyyy-MM-dd…` (seed timestamps) to `yyyy-MM-dd`; anything else is kept as given."""
    sunbird = pc.replace_substring_regex(values, r"^\s*(\d{2})/(\d{2})/(\d{4})\s*$", r"\3-\2-\1")
    return pc.replace_substring_regex(sunbird, r"^\s*(\d{4}-\d{2}-\d{2})([ T].*)?$", r"\1")


def _blank_to_null(values: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def normalised_table(path: Path) -> pa.Table:
    """The whole file normalised (tests and small files; the feed streams `read_normalised`)."""
    return pa.Table.from_batches(list(read_normalised(path)), schema=TPD_SCHEMA)
