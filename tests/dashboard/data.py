"""The platform data behind the dashboard tests: a course with a busy batch, a second batch, an empty one.

Batch `db1` (mentor-1) has twelve learners across two districts and three blocks, with progress spread
over the buckets, three completions and two certificates; `db3` of the same course has none, so it is
not a batch of the download ratio (the course has one). `db2` (mentor-2) of a second course of the
channel has one learner. Course `do_dash_other` belongs to another channel.
"""

from __future__ import annotations

from pathlib import Path

from tests.builders import batch, course, enrolment, hierarchy_row, leaf, write_source

CHANNEL, OTHER_CHANNEL = "ch-dash", "ch-other"
COURSE, COURSE_2, OTHER_COURSE = "do_dash_course", "do_dash_course2", "do_dash_other"
B1, B2, B3, B_OTHER = "db1", "db2", "db3", "dbx"
B_NO_TREE = "dbn"  # its course has no content hierarchy
MENTOR_1, MENTOR_2, ADMIN = "mentor-1", "mentor-2", "admin-dash"
LEAVES = [f"do_leaf{i}" for i in range(10)]

#: learner -> (leaves completed out of 10, course status, completed on, certificate, district, block)
LEARNERS: dict[str, tuple[int, int, str | None, bool, str | None, str | None]] = {
    "u01": (10, 2, "2024-03-01T10:00:00Z", True, "Ernakulam", "Aluva"),
    "u02": (10, 2, "2024-03-02T10:00:00Z", True, "Ernakulam", "Aluva"),
    "u03": (10, 2, "2024-03-03T10:00:00Z", False, "Ernakulam", "Kochi"),
    "u04": (9, 1, None, False, "Ernakulam", "Kochi"),
    "u05": (5, 1, None, False, "Thrissur", "Chalakudy"),
    "u06": (5, 1, None, False, "Thrissur", "Chalakudy"),
    "u07": (1, 1, None, False, "Thrissur", "Chalakudy"),
    "u08": (0, 1, None, False, "Thrissur", None),
    "u09": (0, 0, None, False, None, None),
    "u10": (3, 1, None, False, "Thrissur", "Chalakudy"),
    "u11": (7, 1, None, False, "Ernakulam", "Aluva"),
    "u12": (2, 1, None, False, "Ernakulam", "Kochi"),
}


def write_dashboard_source(folder: Path) -> Path:
    main = course(COURSE, [leaf(i) for i in LEAVES], name="Safe Schools", channel=CHANNEL, leafNodesCount=10)
    second = course(COURSE_2, [leaf("do_s1")], name="Second Course", channel=CHANNEL)
    other = course(OTHER_COURSE, [leaf("do_o1")], name="Other tenant", channel=OTHER_CHANNEL)
    enrolments = []
    for user, (done, status, completed_on, cert, _d, _b) in LEARNERS.items():
        extra: dict = {
            "contentstatus": {leaf_id: 2 for leaf_id in LEAVES[:done]},
            "status": status,
            "enrolled_date": "2024-01-02T03:04:05Z",
        }
        if completed_on:
            extra["completedon"] = completed_on
        if cert:
            extra["issued_certificates"] = [{"identifier": f"cert-{user}", "name": "Completion"}]
        enrolments.append(enrolment(user, COURSE, B1, **extra))
    enrolments.append(enrolment("u20", COURSE_2, B2, contentstatus={"do_s1": 2}))
    enrolments.append(enrolment("u30", OTHER_COURSE, B_OTHER))
    users = [
        {
            "userid": user,
            "firstname": f"Learner{user[1:]}",
            "lastname": "Test",
            "state": "Kerala",
            "district": district,
            "block": block,
            "email": f"{user}@example.org",
        }
        for user, (*_rest, district, block) in LEARNERS.items()
    ] + [{"userid": "u20", "firstname": "Solo", "lastname": "Learner"}]
    return write_source(
        folder,
        course_batch=[
            batch(B1, COURSE, "Batch One", mentors=[MENTOR_1], created_for=[CHANNEL]),
            batch(B2, COURSE_2, "Batch Two", mentors=[MENTOR_2], created_for=[CHANNEL]),
            batch(B3, COURSE, "Batch Empty", mentors=[MENTOR_1], created_for=[CHANNEL]),
            batch(B_NO_TREE, "do_dash_no_tree", "No tree", mentors=[MENTOR_1], created_for=[CHANNEL]),
            batch(B_OTHER, OTHER_COURSE, "Elsewhere", mentors=[MENTOR_1], created_for=[OTHER_CHANNEL]),
        ],
        content_hierarchy=[hierarchy_row(main), hierarchy_row(second), hierarchy_row(other)],
        user_enrolments=enrolments,
        users=users,
    )
