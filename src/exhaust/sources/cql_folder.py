"""A Sunbird fixture folder as a source: CQL `INSERT` dumps, Redis user hashes and a content search response.

Layout (docs/sources.md):

* `*.cql`: one or more CQL files (`report_data.cql`, a `cqlsh` dump of Sunbird's keyspaces); only the
  `INSERT`s of tables the reports read are used, `CREATE` statements and other tables are skipped;
* `redis-users.json` (optional): Redis `user:<id>` hashes, as an object `{"user:<id>": {field: value}}`
  or a list of `{"key": "user:<id>", "hash": {...}}`;
* `content-search.json` (optional): a content search response (`{"result": {"content": [...]}}`) or its
  list of items; it answers collection search and supplies collection metadata (name, status, channel,
  userConsent) as Sunbird's search does.

The folder is read once when the source opens (fixtures and dumps are small); a folder that also holds
`<table>.csv` / `.jsonl` / `.parquet` files is ambiguous and refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from exhaust.errors import BadInput, SourceDataError
from exhaust.sources.base import Source
from exhaust.sources.schema import TABLES

USERS_FILE = "redis-users.json"
SEARCH_FILE = "content-search.json"


def is_cql_folder(folder: Path) -> bool:
    """True when `folder` holds CQL files (a Sunbird fixture folder, not one file per table)."""
    return folder.is_dir() and any(folder.glob("*.cql"))


def open_cql_folder(folder: Path) -> Source:
    """The Source of a fixture folder (see the module docstring for the layout)."""
    from exhaust.sources.sunbird_fixture import load_sunbird_fixture, search_result_items

    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"source folder {folder} does not exist")
    cql = sorted(folder.glob("*.cql"))
    if not cql:
        raise BadInput(f"source folder {folder} has no .cql file")
    tables = sorted(
        p.name for p in folder.iterdir() if p.stem in TABLES and p.suffix in (".csv", ".jsonl", ".parquet")
    )
    if tables:
        raise BadInput(
            f"source folder {folder} holds both CQL files and table files ({', '.join(tables)}): keep one kind"
        )
    hashes = _user_hashes(folder / USERS_FILE)
    search_path = folder / SEARCH_FILE
    items: list[dict] = []
    if search_path.is_file():
        response = _read_json(search_path)
        if isinstance(response, list):
            items = [dict(item) for item in response if isinstance(item, Mapping)]
        elif isinstance(response, Mapping):
            items = search_result_items(response)
        else:
            raise SourceDataError(f"{SEARCH_FILE}: expected a search response object or a list of items")
    return load_sunbird_fixture(cql, hashes, items)


def _user_hashes(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    raw = _read_json(path)
    if isinstance(raw, Mapping):
        return [{"key": key, "hash": value} for key, value in raw.items()]
    if isinstance(raw, list):
        return list(raw)
    raise SourceDataError(f"{USERS_FILE}: expected an object of user:<id> hashes or a list of them")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceDataError(f"cannot read {path.name} ({exc})") from None
