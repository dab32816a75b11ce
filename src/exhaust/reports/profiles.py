"""Report profiles: ordered column lists kept as TOML data, so an operator can add one without code.

A column is either `{header, field}` or a group `{each = "nested_collection" | "assessment", columns}`
that repeats its columns for every member in hierarchy order, `{id}` in a header being the member's id.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from exhaust.errors import BadInput
from exhaust.reports.csv_writer import SUNBIRD_TIMESTAMP

GROUPS = ("nested_collection", "assessment")


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    prefix: str = ""  # text put before every non-blank value (Sunbird's `BatchId_`)


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
    return Column(str(raw["header"]), str(raw["field"]), str(raw.get("prefix", "")))


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
