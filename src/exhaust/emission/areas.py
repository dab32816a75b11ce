"""cQube's three storage areas (input, output, emission), each an fsspec location, and their names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from exhaust.outputs.storage import Storage

EMISSION, INPUT, OUTPUT = "emission", "input", "output"


@dataclass
class Areas:
    """The three areas; `names` maps input/output/emission to their bucket (or folder) names."""

    emission: Storage
    input: Storage
    output: Storage

    @property
    def names(self) -> dict[str, str]:
        return {
            INPUT: bucket_name(self.input),
            OUTPUT: bucket_name(self.output),
            EMISSION: bucket_name(self.emission),
        }

    def by_bucket(self, bucket: str) -> Storage | None:
        """The area a client names by its bucket name (or by input / output / emission)."""
        for role, name in self.names.items():
            if bucket in (name, role):
                return getattr(self, role)
        return None


def bucket_name(storage: Storage) -> str:
    """`s3://bucket/prefix` -> `bucket`; a local folder -> the folder's name."""
    if storage.is_local:
        return Path(storage.root).name
    return storage.url.split("://", 1)[1].split("/", 1)[0]


def open_areas(settings: Any) -> Areas:
    base = Path(settings.data_dir) / "cqube"
    options = settings.emission_storage_options or settings.storage_options

    def area(url: str, default: str) -> Storage:
        storage = Storage(url or str(base / default), options)
        if storage.is_local:
            Path(storage.root).mkdir(parents=True, exist_ok=True)
        return storage

    return Areas(
        emission=area(settings.emission_bucket_url, EMISSION),
        input=area(settings.emission_input_url, INPUT),
        output=area(settings.emission_output_url, OUTPUT),
    )


def input_key(emission_key: str, folder: str, when: datetime, timezone: str) -> str:
    """cQube's partitioned input key (research §3.5):
    `<dir>/<yyyy>/<yyyy-MM>/<yyyy-MM-dd>_<dir>/<dd-MM-yyyy_HH:mm:ss.SSS>_<uuid>_<emitted basename>`."""
    local = when.astimezone(ZoneInfo(timezone))
    base = emission_key.rsplit("/", 1)[-1]
    stamp = local.strftime("%d-%m-%Y_%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    return f"{folder}/{local:%Y}/{local:%Y-%m}/{local:%Y-%m-%d}_{folder}/{stamp}_{uuid.uuid4()}_{base}"


def error_key(input_key_: str) -> str:
    """The error file's key in the output area: the input key with `_errors.csv` for its extension."""
    stem = input_key_.rsplit(".", 1)[0] if "." in input_key_.rsplit("/", 1)[-1] else input_key_
    return f"{stem}_errors.csv"
