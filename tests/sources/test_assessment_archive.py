"""Sunbird's archived assessment CSVs: backslash escaping, `null`, epoch milliseconds, a folder per batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhaust.errors import SourceDataError
from exhaust.sources.assessment_archive import AssessmentArchive

HEADER = "content_id,attempt_id,user_id,course_id,batch_id,created_on,last_attempted_on,total_max_score,total_score,updated_on,grand_total,question\n"


def question_cell(questions: list[dict]) -> str:
    """JSON text as Spark's CSV writer puts it: quoted, inner quotes and backslashes escaped by `\\`."""
    text = json.dumps(questions)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_rows_of_one_batch_with_escaped_json(tmp_path: Path) -> None:
    folder = tmp_path / "archive" / "b1_do_c"
    folder.mkdir(parents=True)
    question = {"id": "q1", "type": "mcq", "score": 1, "max_score": 2, "duration": 3,
                "title": 'Say "hi"\nback\\slash', "params": [{"1": '{"text":"A"}'}]}  # fmt: skip
    (folder / "2021-22-1626351011290.csv").write_text(
        HEADER
        + f"do_qs,a1,u1,do_c,b1,null,1626327000000,2,1,null,1/2,{question_cell([question])}\n"
        + "do_qs,a2,u2,do_c,b1,null,null,2,1,null,1/2,[]\n"
        + "do_qs,a3,u3,do_other,b1,null,null,2,1,null,1/2,[]\n",  # another course: not this batch's
        encoding="utf-8",
    )
    (folder / "notes.csv").write_text("not an archive file\n", encoding="utf-8")  # outside the *-*-* glob
    archive = AssessmentArchive(str(tmp_path / "archive"))
    rows = archive.attempts("do_c", "b1").to_pylist()
    assert [(r["user_id"], r["attempt_id"]) for r in rows] == [("u1", "a1"), ("u2", "a2")]
    assert rows[0]["last_attempted_on"] == datetime(2021, 7, 15, 5, 30, tzinfo=UTC)
    assert rows[1]["last_attempted_on"] is None
    (parsed,) = rows[0]["question"]
    assert (parsed["title"], parsed["score"], parsed["duration"]) == ('Say "hi"\nback\\slash', 1.0, 3.0)
    assert parsed["params"] == [[("1", '{"text":"A"}')]]
    assert rows[1]["question"] == []
    assert archive.attempts("do_c", "b1", user_ids=["u2"]).column("user_id").to_pylist() == ["u2"]
    assert archive.attempts("do_c", "no-such-batch").num_rows == 0  # no folder: no archived attempts


def test_a_broken_row_names_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "b1_do_c"
    folder.mkdir()
    (folder / "2021-22-1.csv").write_text(HEADER + "do_qs,a1,u1\n", encoding="utf-8")
    with pytest.raises(
        SourceDataError, match=r"^archived assessments b1_do_c/2021-22-1\.csv, line 2: 3 cells"
    ):
        AssessmentArchive(str(tmp_path)).attempts("do_c", "b1")
