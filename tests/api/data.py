"""The platform data behind the API tests: two channels, mentors, a retired course, Sunbird's sample ids."""

from __future__ import annotations

from pathlib import Path

from tests.builders import batch, course, enrolment, hierarchy_row, leaf, unit, write_source

CH_A, CH_B = "ch-a", "ch-b"
COURSE_A, COURSE_B, COURSE_RETIRED = "do_course_a", "do_course_b", "do_course_retired"
BA1, BA2, BB1, BR1, BN1 = "ba1", "ba2", "bb1", "br1", "bn1"
MENTOR_1, MENTOR_2 = "mentor-1", "mentor-2"

# Seed 002's job request and the research §2.4 sample body (Sunbird ids, unchanged).
SUNBIRD_CHANNEL = "01269878797503692810"
SUNBIRD_USER = "fca2925f-1eee-4654-9177-fece3fd6afc9"
SEED_COURSE, SEED_BATCH = "do_2133074736487792641239", "013307481768378368112"
SEED_TAG = f"{SEED_COURSE}_{SEED_BATCH}"
SAMPLE_COURSE, SAMPLE_BATCH = "do_2137002173427875841205", "01370023185341644821"
SAMPLE_TAG = f"{SAMPLE_COURSE}_{SAMPLE_BATCH}"

#: Batches of channel A for the bulk tests (batchFilter limits).
MANY = [f"bx{i:02d}" for i in range(25)]


def write_api_source(folder: Path) -> Path:
    course_a = course(COURSE_A, [unit("do_unit_a", [leaf("do_la1"), leaf("do_la2")])], channel=CH_A)
    course_b = course(COURSE_B, [leaf("do_lb1")], name="Course B", channel=CH_B)
    retired = course(COURSE_RETIRED, [leaf("do_lr1")], status="Retired", channel=CH_A)
    seed = course(SEED_COURSE, [leaf("do_s1")], name="Seed course", channel=SUNBIRD_CHANNEL)
    sample = course(SAMPLE_COURSE, [leaf("do_s2")], name="Sample course", channel=SUNBIRD_CHANNEL)
    learners = ["learner-1", "learner-2", "learner-3"]
    return write_source(
        folder,
        course_batch=[
            batch(BA1, COURSE_A, "Batch A1", mentors=[MENTOR_1], created_for=[CH_A]),
            batch(BA2, COURSE_A, "Batch A2", mentors=[MENTOR_2], created_for=[CH_A]),
            batch(BB1, COURSE_B, "Batch B1", mentors=[MENTOR_1], created_for=[CH_B]),
            batch(BR1, COURSE_RETIRED, "Retired", mentors=[MENTOR_1], created_for=[CH_A]),
            batch(BN1, "do_course_without_hierarchy", "No hierarchy", mentors=[], created_for=[CH_A]),
            batch(SEED_BATCH, SEED_COURSE, "Seed batch", mentors=[SUNBIRD_USER]),
            batch(SAMPLE_BATCH, SAMPLE_COURSE, "Sample batch", mentors=[]),
            *[batch(b, COURSE_A, b, mentors=[], created_for=[CH_A]) for b in MANY],
        ],
        content_hierarchy=[hierarchy_row(t) for t in (course_a, course_b, retired, seed, sample)],
        user_enrolments=[
            enrolment(u, COURSE_A, BA1, enrolled_date="2024-01-02T03:04:05Z", contentstatus={"do_la1": 2})
            for u in learners
        ]
        + [enrolment("learner-1", SEED_COURSE, SEED_BATCH, enrolled_date="2022-09-01T00:00:00Z")],
        users=[
            {"userid": u, "firstname": u.title(), "lastname": "Test", "state": "Kerala"} for u in learners
        ],
    )
