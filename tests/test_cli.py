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


def test_exit_statuses_are_0_ok_1_failed_2_not_found_or_bad_usage(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "EXHAUST_DATA_DIR": str(tmp_path / "data")}
    missing = exhaust("status", "0" * 32, env=env)
    assert (missing.returncode, missing.stderr) == (2, f"no request with id {'0' * 32}\n")
    usage = exhaust("report", "progress-exhaust", "--no-such-flag", env=env)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    failed = exhaust("submit", "progress-exhaust", "--batch", "b1", "--batch-filter", "b2", env=env)
    assert failed.returncode == 1
    assert failed.stderr == "give exactly one of --batch, --batch-filter or --search-filter\n"
    unreachable = exhaust("status", "X", env={**env, "EXHAUST_DB_URL": "postgresql://u@127.0.0.1:1/x"})
    assert unreachable.returncode == 1 and unreachable.stderr.count("\n") == 1
    assert "cannot be reached" in unreachable.stderr
    assert exhaust("--help").stdout.count("Exit status: 0 ok, 1 failed, 2 not found or bad usage") == 1


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "EXHAUST_DATA_DIR": str(tmp_path), "EXHAUST_URL_EXPIRY_MINUTES": "0"}
    done = exhaust("status", "X", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (
        "setting EXHAUST_URL_EXPIRY_MINUTES is invalid: Input should be greater than or equal to 1\n"
    )
    not_json = exhaust(
        "status", "X", env={**env, "EXHAUST_URL_EXPIRY_MINUTES": "5", "EXHAUST_PUBLIC_KEYS": "{"}
    )
    assert not_json.returncode == 2
    assert not_json.stderr == "setting EXHAUST_PUBLIC_KEYS is invalid: it must be JSON\n"


def test_no_command_handles_errors_itself() -> None:
    """One error path: commands raise, `exhaust.console.run` prints and exits; no `except ExhaustError`."""
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "exhaust"
    handlers = []
    for path in [src / "cli.py", *src.glob("*/cli.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and "Error" in ast.unparse(node.type or ast.Name("")):
                handlers.append(f"{path.name}:{node.lineno} except {ast.unparse(node.type)}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "typer.Exit" and node.args:
                handlers.append(f"{path.name}:{node.lineno} typer.Exit")  # an exit status of its own
    allowed = {
        "cli.py except json.JSONDecodeError",
        "cli.py except DBAPIError",
        "cli.py except sa.exc.SQLAlchemyError",
    }  # turned into BadInput / ExhaustError, or retried
    assert {h.split(":")[0] + " " + h.split(" ", 1)[1] for h in handlers} - allowed == set()


def test_demo_asks_before_overwriting_and_force_skips_the_question(tmp_path: Path) -> None:
    first = exhaust("demo", "--learners", "30", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    tables = tmp_path / "demo"
    before = {p.name: p.stat().st_mtime_ns for p in tables.iterdir()}
    refused = exhaust("demo", "--learners", "30", "--data-dir", str(tmp_path))  # stdin is not a terminal
    assert refused.returncode == 1
    assert refused.stderr == f"{tables} already holds demo data: give --force to overwrite it\n"
    assert {p.name: p.stat().st_mtime_ns for p in tables.iterdir()} == before
    forced = exhaust("demo", "--learners", "30", "--data-dir", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == first.stdout  # same seed, same report, written again


def test_demo_at_a_terminal_asks_and_keeps_the_data_on_no(tmp_path: Path) -> None:
    import os

    first = exhaust("demo", "--learners", "30", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "demo").iterdir()}
    terminal, answer_side = os.openpty()  # stdin is a terminal: the command asks
    try:
        asking = subprocess.Popen(
            [sys.executable, "-m", "exhaust", "demo", "--learners", "30", "--data-dir", str(tmp_path)],
            stdin=answer_side, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.write(terminal, b"n\n")
        _, stderr = asking.communicate(timeout=120)
    finally:
        os.close(terminal)
        os.close(answer_side)
    assert asking.returncode == 1
    assert f"{tmp_path / 'demo'} already holds demo data: overwrite it? [y/N]" in stderr
    assert stderr.endswith("nothing written: the demo data was kept\n")
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "demo").iterdir()} == before
