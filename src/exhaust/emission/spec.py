"""The data sources cQube accepts, read from its emission header spec (shipped as package data).

`spec/cqube_emission_header_spec.json` is the researcher's machine-readable copy of cQube 3.7's NiFi
column selections (research §5). It is irregular (masters have state/UDISE variants, DIKSHA files raw
and normalised names), so it is turned here into one shape: a `DataSource` with one or more `Variant`s,
each a list of `Column`s saying which header names feed which table column, how a cell is type-checked
and whether it is mandatory. The dependency order of seed 004 / research §4.8 lives here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

SPEC_FILE = "cqube_emission_header_spec.json"

#: SuperCSV cell processor -> our check name (Optional(...) = empty allowed, which every spec cell is).
_VALIDATORS = {
    "parseint": "int",
    "parselong": "long",
    "parsebigdecimal": "decimal",
    "parsedate": "date",
    "strnotnullorempty": "str",
}

#: Emission order (seed 004, research §4.8): lower rank goes first. Names are emission folders or
#: data-source names; anything not listed goes last (transaction files), alphabetically.
ORDER = [
    "district_mst",
    "block_mst",
    "cluster_mst",
    "school_mst",
    "school_management_master",
    "school_category_master",
    "grade_details",
    "subject_details",
    "diksha_etb_enrolment",
    "inspection_master",
    "user_location_master",
    "periodic_exam_mst",
    "periodic_exam_qst_mst",
    "semester_exam_mst",
    "semester_exam_qst_mst",
    "diksha_tpd_mapping",
    "diksha_api_progress_exhaust_batch_ids",
    "student_attendance",
    "teacher_attendance",
    "infra_trans",
    "periodic_exam_result_trans",
    "semester_exam_result_trans",
    "diksha_tpd",
]


@dataclass(frozen=True)
class Column:
    """One table column and the header name(s) it is read from."""

    name: str  # table column
    headers: tuple[str, ...]  # accepted header names, lower-case
    check: str  # int | long | decimal | date | str
    mandatory: bool = False
    sql_type: str = "text"  # bigint | double | date | text


@dataclass(frozen=True)
class Variant:
    """One accepted header layout of a data source (cQube's `state` or `udise`, or the only one)."""

    name: str
    columns: tuple[Column, ...]

    def required_headers(self) -> list[str]:
        return [column.headers[0] for column in self.columns]


@dataclass(frozen=True)
class DataSource:
    """A kind of emitted file: where it is emitted, how it is read and checked, where it is loaded."""

    name: str
    dirs: tuple[str, ...]  # emission folders it may come in ("" = the bucket root)
    prefixes: tuple[str, ...]  # file-name prefixes that route a file here
    delimiter: str
    variants: tuple[Variant, ...]
    table: str
    keys: tuple[str, ...]  # upsert key (table columns); all rows of a key with different values rejected
    trim: bool = True
    null_strings: tuple[str, ...] = ("", "NULL")
    day_first_dates: bool = False  # raw DIKSHA exhaust dates are dd/MM/yyyy
    strip_percent: tuple[str, ...] = ()
    zero_is_missing: tuple[str, ...] = ()  # school latitude/longitude of 0 is "No lat long"

    @property
    def rank(self) -> int:
        return ORDER.index(self.name) if self.name in ORDER else len(ORDER)

    @property
    def columns(self) -> tuple[Column, ...]:
        """The table's columns (every variant loads the union; a variant may leave some NULL)."""
        seen: dict[str, Column] = {}
        for variant in self.variants:
            for column in variant.columns:
                seen.setdefault(column.name, column)
        return tuple(seen.values())


def _check(validator: str) -> str:
    inner = validator.lower().replace("optional(", "").split("(", 1)[0]
    return _VALIDATORS.get(inner, "str")


def _sql_type(check: str) -> str:
    return {"int": "bigint", "long": "bigint", "decimal": "double", "date": "date"}.get(check, "text")


def _variant(
    name: str,
    required: list[str],
    validators: list[str],
    to_table: dict[str, str],
    mandatory: set[str],
    alias: dict[str, str] | None = None,
    also: dict[str, list[str]] | None = None,
    types: dict[str, str] | None = None,
) -> Variant:
    columns = []
    for header, validator in zip(required, validators, strict=True):
        selected = (alias or {}).get(header, header)
        table_column = to_table.get(selected) or to_table.get(header)
        if table_column is None:
            continue  # selected but not loaded (e.g. the UDISE block file's state code)
        check = _check(validator)
        headers = (header.lower(), *[h.lower() for h in (also or {}).get(table_column, [])])
        is_mandatory = bool({selected, header, table_column} & mandatory)
        sql = (types or {}).get(table_column, _sql_type(check))
        columns.append(Column(table_column, headers, check, is_mandatory, sql))
    return Variant(name, tuple(columns))


def _dirs(entry: dict[str, Any]) -> tuple[str, ...]:
    text = str(entry.get("emission_dir", ""))
    first = text.split(" ", 1)[0].strip("/")
    return (first, "") if "root" in text else (first,)


def _prefix(entry: dict[str, Any], fallback: str) -> tuple[str, ...]:
    return (str(entry.get("zip_name_prefix", fallback)).split(" ", 1)[0],)


def build_sources(spec: dict[str, Any]) -> dict[str, DataSource]:
    """Turn the JSON spec into `DataSource`s (plus the two detail files research §5.4 describes)."""
    raw = spec["sources"]
    out: dict[str, DataSource] = {}
    # Masters with state / UDISE variants.
    for name in ("district_mst", "block_mst", "cluster_mst", "school_mst"):
        entry = raw[name]
        variants = []
        for vname, var in entry["variants"].items():
            to_table = var["rename_to_table"]
            mandatory = set(var.get("not_null", []))
            if name == "school_mst":  # spec: school name, latitude, longitude; the id is the key
                mandatory = {"school_id", "school_name", "latitude", "longitude"}
            alias = var.get("select_alias", {})
            variants.append(
                _variant(vname, var["required_columns"], var["cell_validators"], to_table, mandatory, alias)
            )
        same_id = [c.lower() for c in entry["same_id_key"]]
        keys = tuple(entry["upsert_keys"])
        assert same_id, name
        out[name] = DataSource(
            name,
            _dirs(entry),
            _prefix(entry, name),
            entry["delimiter"],
            tuple(variants),
            entry["target_table"],
            keys,
            zero_is_missing=("latitude", "longitude") if name == "school_mst" else (),
        )
    for name in ("school_management_master", "school_category_master"):
        entry = raw[name]
        variant = _variant(
            "state",
            entry["required_columns"],
            entry["cell_validators"],
            entry["rename_to_table"],
            set(entry["not_null"]),
        )
        out[name] = DataSource(
            name,
            _dirs(entry),
            _prefix(entry, name),
            "|",
            (variant,),
            entry["target_table"],
            tuple(entry["upsert_keys"]),
        )
    # DIKSHA TPD: the raw progress-exhaust names, or the normalised ones (research §5.5).
    tpd = raw["diksha_tpd"]
    normalised = tpd["normalized_header_exact"].split(",")
    to_table = tpd["raw_rename"]
    tpd_variant = _variant(
        "raw",
        tpd["raw_required_columns"],
        tpd["cell_validators"],
        to_table,
        set(tpd["not_null"]),
        also={column: [column] for column in normalised},
        types={"progress": "double", "total_score": "double"},
    )
    # progress / total_score are loaded as double precision (the spec's Str check would let text through).
    tpd_variant = Variant(
        "raw",
        tuple(
            Column(c.name, c.headers, "decimal", c.mandatory, c.sql_type)
            if c.name in ("progress", "total_score")
            else c
            for c in tpd_variant.columns
        ),
    )
    out["diksha_tpd"] = DataSource(
        "diksha_tpd",
        ("diksha", ""),
        ("diksha_tpd",),
        ",",
        (tpd_variant,),
        tpd["trans_table"],
        tuple(tpd["trans_conflict_key"]),
        trim=False,
        day_first_dates=True,
        strip_percent=("total_score", "progress"),
    )
    mapping = raw["diksha_tpd_mapping"]
    out["diksha_tpd_mapping"] = DataSource(
        "diksha_tpd_mapping",
        ("diksha", ""),
        ("diksha_tpd_mapping",),
        ",",
        (
            _variant(
                "state",
                mapping["required_columns"],
                mapping["cell_validators"],
                mapping["rename"],
                set(mapping["not_null"]),
            ),
        ),
        mapping["target_table"],
        tuple(mapping["upsert_keys"]),
        trim=False,
    )
    batch_ids = raw["diksha_api_progress_exhaust_batch_ids"]
    out["diksha_api_progress_exhaust_batch_ids"] = DataSource(
        "diksha_api_progress_exhaust_batch_ids",
        ("diksha", ""),
        _prefix(batch_ids, "diksha_api_progress_exhaust_batch_ids"),
        ",",
        (Variant("state", (Column("batch_id", ("batchidlist",), "str", True),)),),
        "diksha_api_progress_exhaust_batch_ids",
        ("batch_id",),
        trim=False,
    )
    etb = raw["diksha_etb_enrolment"]
    out["diksha_etb_enrolment"] = DataSource(
        "diksha_etb_enrolment",
        ("diksha_enrolment", ""),
        _prefix(etb, "diksha_etb_enrolment"),
        "|",
        (
            _variant(
                "state",
                etb["required_columns"],
                etb["cell_validators"],
                {c: c for c in etb["required_columns"]},
                set(etb["not_null"]),
            ),
        ),
        etb["target_table"],
        tuple(etb["upsert_keys"]),
    )
    # Research §5.4: grade details (school_grade_enrolment) and subject details, emitted in their own
    # folders or beside the PAT / SAT files (periodic_exam_grade_details, semester_exam_subject_details, …).
    out["grade_details"] = DataSource(
        "grade_details",
        ("grade_details", "pat", "sat"),
        ("grade_details", "periodic_exam_grade_details", "semester_exam_grade_details"),
        "|",
        (
            _variant(
                "state",
                ["school_id", "grade", "students_count"],
                ["ParseLong()", "ParseInt()", "ParseInt()"],
                {"school_id": "school_id", "grade": "grade", "students_count": "students_count"},
                {"school_id", "grade"},
            ),
        ),
        "school_grade_enrolment",
        ("school_id", "grade"),
    )
    out["subject_details"] = DataSource(
        "subject_details",
        ("subject_details", "pat", "sat"),
        ("subject_details", "periodic_exam_subject_details", "semester_exam_subject_details"),
        "|",
        (
            _variant(
                "state",
                ["subject_id", "subject", "grade"],
                ["ParseLong()", "StrNotNullOrEmpty()", "ParseInt()"],
                {"subject_id": "subject_id", "subject": "subject", "grade": "grade"},
                {"subject_id", "grade"},
            ),
        ),
        "subject_details",
        ("subject_id", "grade"),
    )
    # The emission-field spreadsheet's "PAT data" sheet (cQube_emission_table_fields.xlsx): the exam
    # masters, question masters and PAT results, keyed as its pk / ck marks say.
    exam = [("exam_id", "int"), ("medium", "str"), ("standard", "int"), ("division", "str"),
            ("subject_id", "int"), ("exam_type_id", "int"), ("exam_code", "str"), ("exam_date", "date"),
            ("total_questions", "int"), ("total_marks", "decimal"), ("assessment_year", "str"),
            ("exam_type", "str"), ("subject_name", "str")]  # fmt: skip
    question = [("question_id", "int"), ("exam_id", "int"), ("indicator_id", "int"), ("indicator_title", "str"),
                ("indicator", "str"), ("question_title", "str"), ("question", "str"),
                ("question_marks", "decimal")]  # fmt: skip
    result = [("id", "int"), ("exam_id", "int"), ("exam_code", "str"), ("student_id", "long"),
              ("student_uid", "long"), ("school_id", "long"), ("studying_class", "int"), ("section", "str"),
              ("question_id", "int"), ("obtained_marks", "decimal"), ("createddt", "str")]  # fmt: skip
    for name, folder, columns, keys in (
        ("periodic_exam_mst", "pat", exam, ("exam_id", "assessment_year")),
        ("periodic_exam_qst_mst", "pat", question, ("question_id",)),
        ("periodic_exam_result_trans", "pat", result, ("exam_code", "student_uid", "question_id")),
        (
            "semester_exam_mst",
            "sat",
            [*exam[:5], ("semester", "int"), *exam[5:]],
            ("exam_id", "assessment_year"),
        ),
        ("semester_exam_qst_mst", "sat", question, ("question_id",)),
    ):
        out[name] = _sheet_source(name, folder, columns, keys)
    return out


def _sheet_source(
    name: str, folder: str, columns: list[tuple[str, str]], keys: tuple[str, ...]
) -> DataSource:
    cols = tuple(Column(c, (c,), check, c in keys, _sql_type(check)) for c, check in columns)
    return DataSource(name, (folder,), (name,), "|", (Variant("state", cols),), name, keys)


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The shipped JSON spec."""
    text = resources.files("exhaust.emission").joinpath("spec", SPEC_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def data_sources() -> dict[str, DataSource]:
    """Every data source exhaust ingests, by name."""
    return build_sources(load_spec())


def get_source(name: str) -> DataSource:
    from exhaust.errors import BadInput

    try:
        return data_sources()[name]
    except KeyError:
        known = ", ".join(sorted(data_sources()))
        raise BadInput(f"unknown data source {name!r}; known: {known}") from None


def source_for_key(key: str) -> DataSource | None:
    """The data source an emitted `<dir>/<file>` (or bare `<file>`) belongs to; None when unknown.

    The folder must be one of the source's folders and the file name must start with one of its
    prefixes; the longest matching prefix wins (`diksha_tpd_mapping…` is a mapping, not TPD data).
    """
    folder, _, name = key.rpartition("/")
    folder = folder.split("/", 1)[0]
    best: tuple[int, DataSource] | None = None
    for source in data_sources().values():
        if folder not in source.dirs:
            continue
        for prefix in source.prefixes:
            if name.lower().startswith(prefix.lower()) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), source)
    return best[1] if best else None


def known_dirs() -> set[str]:
    """Emission folders that some data source is emitted in (the upload whitelist)."""
    return {d for source in data_sources().values() for d in source.dirs if d}
