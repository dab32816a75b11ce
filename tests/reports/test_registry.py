"""The dataset registry is the one list of datasets: everything else that names datasets agrees with it."""

from __future__ import annotations

import pytest

from exhaust.errors import BadInput
from exhaust.reports import registry
from exhaust.reports.profiles import builtin_profiles


def test_every_dataset_has_a_builder_a_default_profile_and_a_distinct_file_key() -> None:
    profiles = builtin_profiles()
    for dataset in registry.DATASETS.values():
        assert callable(dataset.field_builder()), dataset.name
        assert profiles[dataset.default_profile].dataset == dataset.name
        assert dataset.profiles()[0] == dataset.default_profile
    keys = [d.file_key for d in registry.DATASETS.values()]
    assert len(set(keys)) == len(keys)


def test_every_builtin_profile_belongs_to_a_known_dataset() -> None:
    assert {p.dataset for p in builtin_profiles().values()} <= set(registry.NAMES)


def test_the_known_datasets_and_their_facts() -> None:
    assert registry.NAMES == ("progress-exhaust", "userinfo-exhaust", "response-exhaust", "course-mentor")
    assert {"userinfo-exhaust", "course-mentor"} == registry.PERSONAL
    assert registry.DATASETS["progress-exhaust"].profiles() == (
        "progress-exhaust",
        "progress-exhaust-sunbird-lern",
    )
    assert registry.spoken() == "progress-exhaust, userinfo-exhaust, response-exhaust or course-mentor"
    assert registry.spoken(registry.PERSONAL) == "userinfo-exhaust or course-mentor"


def test_an_unknown_dataset_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(BadInput, match=r"^unknown dataset 'druid': use one of progress-exhaust, "):
        registry.get("druid")


def test_the_api_validation_mail_and_file_names_derive_from_it() -> None:
    from typing import get_args

    from exhaust.api.contract import OtherDataset, PersonalDataset
    from exhaust.jobs import datasets as jobs
    from exhaust.notify.mail import TITLES

    assert set(get_args(PersonalDataset)) == registry.PERSONAL
    assert set(get_args(PersonalDataset)) | set(get_args(OtherDataset)) == set(registry.NAMES)
    assert list(registry.NAMES) == list(jobs.DATASETS)
    assert jobs.KEY_REQUIRED == registry.PERSONAL
    assert {d.name: d.file_key for d in registry.DATASETS.values()} == jobs.REPORT_KEYS
    assert TITLES["course-mentor"] == "Course mentor report"
    assert set(TITLES) == set(registry.NAMES)
