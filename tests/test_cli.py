"""The CLI contract that acceptance checks call: exit statuses and one-line messages."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from tests.reports.test_seed_sample import BATCH, seed_source


def exhaust(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exhaust", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_report_writes_the_file(tmp_path: Path) -> None:
    source = seed_source(tmp_path / "src")
    out = tmp_path / "out" / "progress.csv"
    done = exhaust(
        "report", "progress-exhaust", "--source", f"files:{source}", "--batch", BATCH, "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert len(rows) == 3 and rows[0][0] == "Collection Id"


def test_unknown_batch_exits_2_with_one_line(tmp_path: Path) -> None:
    source = seed_source(tmp_path / "src")
    done = exhaust(
        "report",
        "progress-exhaust",
        "--source",
        str(source),
        "--batch",
        "nope",
        "--output",
        str(tmp_path / "x.csv"),
    )
    assert done.returncode == 2
    assert done.stderr == "batch nope not found\n"
    assert not (tmp_path / "x.csv").exists()


def test_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    source = seed_source(tmp_path / "src")
    (source / "user_enrolments.jsonl").write_text(
        '{"userid": "u1", "batchid": "' + BATCH + '", "status": "two"}\n'
    )
    cases = [
        (
            "report",
            "progress-exhaust",
            "--source",
            str(source),
            "--batch",
            BATCH,
            "--output",
            str(tmp_path / "a.csv"),
        ),
        (
            "report",
            "progress-exhaust",
            "--source",
            str(tmp_path / "missing"),
            "--batch",
            BATCH,
            "--output",
            "b.csv",
        ),
        (
            "report",
            "no-such-report",
            "--source",
            str(source),
            "--batch",
            BATCH,
            "--output",
            str(tmp_path / "c.csv"),
        ),
        (
            "report",
            "progress-exhaust",
            "--source",
            str(source),
            "--batch",
            BATCH,
            "--output",
            "d.csv",
            "--profile",
            "zz",
        ),
    ]
    for args in cases:
        done = exhaust(*args)
        assert done.returncode not in (0, 2), args
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    first = exhaust(*cases[0])
    assert "user_enrolments.jsonl, line 1, column status" in first.stderr


def test_help_reads_well() -> None:
    done = exhaust("--help")
    assert done.returncode == 0
    for command in ("report", "demo", "demo-data"):
        assert command in done.stdout


def test_personal_data_reports_need_a_password_and_come_as_a_protected_zip(tmp_path: Path) -> None:
    import zipfile

    source = seed_source(tmp_path / "src")
    refused = exhaust(
        "report",
        "userinfo-exhaust",
        "--source",
        str(source),
        "--batch",
        BATCH,
        "--output",
        str(tmp_path / "u.csv"),
    )
    assert refused.returncode == 1 and "--password" in refused.stderr
    assert not (tmp_path / "u.csv").exists()
    target = tmp_path / "userinfo.zip"
    done = subprocess.run(
        [sys.executable, "-m", "exhaust", "report", "userinfo-exhaust", "--source", str(source), "--batch", BATCH,
         "--output", str(target), "--password", "-"],
        input="pa55word\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    archive = zipfile.ZipFile(target)
    assert archive.namelist() == ["userinfo.csv"]
    assert archive.read("userinfo.csv", pwd=b"pa55word").startswith(b"Collection Id,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
