"""The one list of datasets: every other list (API enum, validation, file names, mails, CLI help, docs)
is derived from `DATASETS` below, so a dataset is described once.

This module imports nothing heavy (the builders are named, not imported) so that the CLI can show its
help, and the job store can validate a request, without loading Ibis or DuckDB.

To add a dataset:

1. write its field builder (`(Learners, Source, RequestContext) -> Fields`), e.g. in `reports/datasets.py`;
2. ship its default profile as `reports/profiles/<name>.toml` (more profiles for it are just more TOML
   files naming `dataset = "<name>"`: they are found, not listed here);
3. add one `Dataset(...)` entry to `DATASETS` below. `tests/reports/test_registry.py` checks the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exhaust.errors import BadInput


@dataclass(frozen=True)
class Dataset:
    """What the service knows of one dataset (Sunbird's job id)."""

    name: str
    #: "module:function" of its field builder; imported only when a report is built.
    builder: str
    #: Shown in mails ("Your Progress exhaust for batch … is ready").
    title: str
    #: The report key in file names: `<batchId>_<file_key>_<yyyyMMdd>.csv|zip`.
    file_key: str
    #: Holds personal data: only ever delivered in a password-protected (or encrypted) file.
    personal_data: bool
    #: One line for CLI help and docs.
    summary: str

    @property
    def default_profile(self) -> str:
        """The profile used when a request names none: the one named after the dataset."""
        return self.name

    def field_builder(self) -> Callable[..., Any]:
        """The builder function (imports the engine)."""
        return _resolve(self.builder)

    def profiles(self) -> tuple[str, ...]:
        """The names of the built-in profiles of this dataset, its default first."""
        from exhaust.reports.profiles import builtin_profiles

        names = sorted(p.name for p in builtin_profiles().values() if p.dataset == self.name)
        return tuple(sorted(names, key=lambda n: n != self.default_profile))


def _resolve(reference: str) -> Callable[..., Any]:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


_BUILDERS = "exhaust.reports.datasets"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="progress-exhaust",
            builder=f"{_BUILDERS}:progress_builder",
            title="Progress exhaust",
            file_key="progress",
            personal_data=False,
            summary="progress, nested collection progress and best assessment scores per learner",
        ),
        Dataset(
            name="userinfo-exhaust",
            builder=f"{_BUILDERS}:userinfo_builder",
            title="User info exhaust",
            file_key="userinfo",
            personal_data=True,
            summary="profile and contact details under consent, decrypted (zip only)",
        ),
        Dataset(
            name="response-exhaust",
            builder=f"{_BUILDERS}:response_builder",
            title="Response exhaust",
            file_key="response",
            personal_data=False,
            summary="one row per attempt and question, options and responses as JSON",
        ),
        Dataset(
            name="course-mentor",
            builder=f"{_BUILDERS}:course_mentor_builder",
            title="Course mentor report",
            file_key="mentor",
            personal_data=True,
            summary="the mentor's learner list with contact details under consent (zip only)",
        ),
    )
}

#: The dataset names in their documented order.
NAMES: tuple[str, ...] = tuple(DATASETS)
#: Datasets whose file holds personal data.
PERSONAL: frozenset[str] = frozenset(d.name for d in DATASETS.values() if d.personal_data)


def get(name: str) -> Dataset:
    """The dataset called `name`, or a one-line BadInput naming the known ones."""
    dataset = DATASETS.get(name)
    if dataset is None:
        raise BadInput(f"unknown dataset {name!r}: use one of {', '.join(NAMES)}")
    return dataset


def spoken(names: tuple[str, ...] | frozenset[str] = NAMES) -> str:
    """`a, b, c or d`, for help texts."""
    ordered = [n for n in NAMES if n in names]
    return ", ".join(ordered[:-1]) + f" or {ordered[-1]}" if len(ordered) > 1 else "".join(ordered)
