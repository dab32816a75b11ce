"""Report profiles: ordered column lists kept as TOML data, so an operator can add one without code.

A column is either `{header, field}` or a group `{each = "nested_collection" | "assessment", columns}`
that repeats its columns for every member in hierarchy order, `{id}` in a header being the member's id.

Value formats (`reports/value_formats.py`) may be set for the whole profile (`[formats]`) or per column
(`number = "decimal"`, `date = "%d/%m/%Y"`, `true = "Yes"`, `false = "No"`), and `rows = "<boolean field>"`
keeps only the rows where that field is true (Sunbird's user info lists consenting learners only).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from exhaust.errors import BadInput
from exhaust.reports.csv_writer import SUNBIRD_TIMESTAMP

GROUPS = ("nested_collection", "assessment")


NUMBER_FORMATS = ("plain", "decimal")


@dataclass(frozen=True)
class ValueFormat:
    """How a column's values print: numbers (`plain` 7 / 6.5, `decimal` 7.0 / 6.5 as Java prints doubles),
    timestamps (a strftime pattern, UTC) and booleans (the texts for true and false). None: the default."""

    number: str | None = None
    date: str | None = None
    true: str | None = None
    false: str | None = None

    def over(self, default: ValueFormat) -> ValueFormat:
        """This format with `default`'s settings where this one has none."""
        return ValueFormat(
            self.number or default.number,
            self.date or default.date,
            self.true if self.true is not None else default.true,
            self.false if self.false is not None else default.false,
        )


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    prefix: str = ""  # text put before every non-blank value (Sunbird's `BatchId_`)
    format: ValueFormat = ValueFormat()


@dataclass(frozen=True)
class Group:
    each: str
    columns: tuple[Column, ...]
    order: str = "hierarchy"  # or "id": members sorted by id, as Sunbird's pivot does


@dataclass(frozen=True)
class Profile:
    name: str
    dataset: str
    columns: tuple[Column | Group, ...]
    timestamp_format: str = SUNBIRD_TIMESTAMP
    description: str = ""
    options: dict = field(default_factory=dict)
    formats: ValueFormat = ValueFormat()  # the defaults of every column
    rows: str | None = None  # a boolean field: only rows where it is true are written


def _column(raw: dict, origin: str) -> Column | Group:
    if "each" in raw:
        if raw["each"] not in GROUPS:
            raise BadInput(
                f"profile {origin}: unknown column group {raw['each']!r} (use one of {', '.join(GROUPS)})"
            )
        order = raw.get("order", "hierarchy")
        if order not in ("hierarchy", "id"):
            raise BadInput(f"profile {origin}: group order must be hierarchy or id, not {order!r}")
        return Group(raw["each"], tuple(_plain(c, origin) for c in raw.get("columns", [])), order)
    return _plain(raw, origin)


def _plain(raw: dict, origin: str) -> Column:
    if not isinstance(raw, dict) or "header" not in raw or "field" not in raw:
        raise BadInput(f"profile {origin}: every column needs a header and a field")
    return Column(str(raw["header"]), str(raw["field"]), str(raw.get("prefix", "")), _format(raw, origin))


def _format(raw: dict, origin: str) -> ValueFormat:
    number = raw.get("number")
    if number is not None and number not in NUMBER_FORMATS:
        raise BadInput(
            f"profile {origin}: number format must be one of {', '.join(NUMBER_FORMATS)}, not {number!r}"
        )
    date = raw.get("date")
    if date is not None and (not isinstance(date, str) or "%" not in date):
        raise BadInput(f"profile {origin}: date format must be a strftime pattern such as %d/%m/%Y")
    texts = {k: raw.get(k) for k in ("true", "false")}
    if any(v is not None and not isinstance(v, str) for v in texts.values()):
        raise BadInput(f'profile {origin}: true and false must be texts, e.g. true = "Yes"')
    return ValueFormat(number, date, texts["true"], texts["false"])


def parse_profile(text: str, origin: str) -> Profile:
    """Parse one profile's TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"profile {origin} is not valid TOML ({exc})") from None
    try:
        return Profile(
            name=raw["name"],
            dataset=raw["dataset"],
            columns=tuple(_column(c, origin) for c in raw["columns"]),
            timestamp_format=raw.get("timestamp_format", SUNBIRD_TIMESTAMP),
            description=raw.get("description", ""),
            options=dict(raw.get("options", {})),
            formats=_format(dict(raw.get("formats", {})), origin),
            rows=raw.get("rows"),
        )
    except KeyError as exc:
        raise BadInput(f"profile {origin} lacks {exc.args[0]!r}") from None


def builtin_profiles() -> dict[str, Profile]:
    """The profiles shipped with the package."""
    folder = resources.files("exhaust.reports") / "profiles"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            profile = parse_profile(entry.read_text(encoding="utf-8"), entry.name)
            found[profile.name] = profile
    return found


def load_profile(name: str | None, dataset: str, extra_dir: Path | None = None) -> Profile:
    """The profile called `name` (default: the dataset's own), from the package or `extra_dir`."""
    profiles = builtin_profiles()
    if extra_dir is not None and Path(extra_dir).is_dir():
        for path in sorted(Path(extra_dir).glob("*.toml")):
            profile = parse_profile(path.read_text(encoding="utf-8"), path.name)
            profiles[profile.name] = profile
    wanted = name or dataset
    chosen = profiles.get(wanted)
    if chosen is None:
        known = ", ".join(sorted(p for p, v in profiles.items() if v.dataset == dataset)) or "none"
        raise BadInput(f"unknown profile {wanted!r} for {dataset} (known: {known})")
    if chosen.dataset != dataset:
        raise BadInput(f"profile {wanted!r} is for {chosen.dataset}, not {dataset}")
    return chosen
