"""`exhaust emit`: keys, checks before sending, dependency order, retries and failures (scripted server)."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from exhaust.cli import app
from exhaust.emission.client import collect, plan
from exhaust.settings import get_settings

DISTRICT = "DistrictId|District\n1|One\n"
BLOCK = "BlockId|Block|DistrictId\n10|B|1\n"
CLUSTER = "ClusterId|Cluster|BlockId|DistrictId\n100|C|10|1\n"
SCHOOL = (
    "SchoolId|School|lowclass|highclass|SchMgt|SchCat|SchoolMedium|StateId|DistrictId|BlockId|ClusterId|Latitude|Longitude\n"
    "1000|S|1|5|1|1|1|75|1|10|100|19.5|74.5\n"
)


def folder_of(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def zip_of(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def test_keys_are_dir_slash_file_whatever_the_folder_form(tmp_path):
    root = folder_of(
        tmp_path / "cqube_emission", {"district_master/district_mst.zip": b"z", "diksha/diksha_tpd.csv": "x"}
    )
    expected = ["diksha/diksha_tpd.csv", "district_master/district_mst.zip"]
    assert [k for _, k in collect(root)] == expected
    assert [k for _, k in collect(Path(f"{root}/"))] == expected  # cQube's client breaks on this one
    assert [k for _, k in collect(root / "district_master")] == ["district_master/district_mst.zip"]
    assert [k for _, k in collect(Path(f"{root}/district_master/"))] == ["district_master/district_mst.zip"]
    assert [k for _, k in collect(root / "district_master" / "district_mst.zip")] == [
        "district_master/district_mst.zip"
    ]


def test_files_are_checked_before_sending_and_ordered_masters_first(tmp_path):
    root = folder_of(
        tmp_path / "cqube_emission",
        {
            "diksha/diksha_tpd.csv": "Collection Id,User UUID\n1,u\n",  # required columns missing
            "diksha/diksha_tpd_mapping.zip": zip_of(
                "m.csv", "Diksha UUID,State,District,School Name,School UDISE ID,Status\n"
            ),
            "school_master/school_mst.csv": SCHOOL,
            "block_master/block_mst.zip": zip_of("block_mst.csv", BLOCK.replace("|", ",")),  # wrong delimiter
            "cluster_master/cluster_mst.zip": b"not a zip",
            "district_master/district_mst.zip": zip_of("district_mst.csv", DISTRICT.lower().upper()),
            "school_category/school_category_master.zip": zip_of("a.csv", "x") + b"",
            "attendance/att.zip": zip_of("att.csv", "a|b\n"),
        },
    )
    planned = plan(root)
    good = [(p.key, p.source.name) for p in planned if p.problem is None]
    assert good == [
        ("district_master/district_mst.zip", "district_mst"),
        ("school_master/school_mst.zip", "school_mst"),  # a CSV is sent zipped
        ("diksha/diksha_tpd_mapping.zip", "diksha_tpd_mapping"),
    ]
    problems = {p.key: p.problem for p in planned if p.problem}
    assert problems["block_master/block_mst.zip"] == (
        "the file is comma (,)-delimited; block_mst files must be pipe (|)-delimited"
    )
    assert problems["cluster_master/cluster_mst.zip"] == "the file is not a readable zip"
    assert problems["diksha/diksha_tpd.csv"].startswith("columns did not match: missing collection name")
    assert problems["attendance/att.zip"].startswith("unknown data source")
    assert "missing schoolcategoryid" in problems["school_category/school_category_master.zip"]


class ScriptedApi(BaseHTTPRequestHandler):
    """An emission API + store on loopback whose answers the test scripts per file."""

    calls: ClassVar[list[tuple[str, str]]] = []
    uploads: ClassVar[dict[str, bytes]] = {}
    fail_first: ClassVar[dict[str, int]] = {}
    refuse: ClassVar[set[str]] = set()

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: dict | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if self.path == "/data/upload-url":
            assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
            assert self.headers["Authorization"] == "Bearer tok"
            filename = parse_qs(body.decode())["filename"][0]
            self.calls.append(("upload-url", filename))
            if self.fail_first.get(filename, 0) > 0:
                self.fail_first[filename] -= 1
                return self._answer(503, {"message": "busy"})
            if filename in self.refuse:
                return self._answer(400, {"message": "unknown data-source folder"})
            port = self.server.server_address[1]
            return self._answer(
                200, {"url": f"http://127.0.0.1:{port}/store", "fields": {"key": filename + "_k"}}
            )
        if self.path == "/store":
            key = body.split(b'name="key"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode()
            self.calls.append(("store", key))
            self.uploads[key] = body
            return self._answer(204)
        self._answer(404, {"message": "no"})


@pytest.fixture
def scripted():
    ScriptedApi.calls, ScriptedApi.uploads, ScriptedApi.fail_first, ScriptedApi.refuse = [], {}, {}, set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data", ScriptedApi
    server.shutdown()
    server.server_close()


def test_order_retries_and_one_refused_file_are_in_the_result_log(tmp_path, scripted, monkeypatch):
    url, api = scripted
    root = folder_of(
        tmp_path / "cqube_emission",
        {
            "school_master/school_mst.csv": SCHOOL,
            "cluster_master/cluster_mst.csv": CLUSTER,
            "block_master/block_mst.csv": BLOCK,
            "district_master/district_mst.csv": DISTRICT,
            "block_master/notes.txt": "not data",
        },
    )
    api.fail_first["block_master/block_mst.zip"] = 1  # 503 then 200
    api.refuse.add("cluster_master/cluster_mst.zip")  # 400: this file fails, the others go on
    monkeypatch.setenv("EXHAUST_EMISSION_RETRIES", "3")
    get_settings.cache_clear()
    log = tmp_path / "results.jsonl"
    result = CliRunner().invoke(app, ["emit", str(root), "--url", url, "--token", "tok", "--log", str(log)])
    get_settings.cache_clear()
    assert result.exit_code == 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["key"], r["status"], r["attempts"]) for r in lines] == [
        ("district_master/district_mst.zip_k", "sent", 1),
        ("block_master/block_mst.zip_k", "sent", 2),
        ("cluster_master/cluster_mst.zip", "failed", 1),
        ("school_master/school_mst.zip_k", "sent", 1),
        ("block_master/notes.txt", "skipped", 0),
    ]
    assert lines[2]["error"] == "upload-url answered 400: unknown data-source folder"
    assert lines[4]["error"].startswith("unknown data source")
    assert all(len(r["sha256"]) == 64 and r["bytes"] > 0 for r in lines[:4])
    assert [c for c in api.calls if c[0] == "upload-url"] == [
        ("upload-url", "district_master/district_mst.zip"),
        ("upload-url", "block_master/block_mst.zip"),
        ("upload-url", "block_master/block_mst.zip"),
        ("upload-url", "cluster_master/cluster_mst.zip"),
        ("upload-url", "school_master/school_mst.zip"),
    ]
    sent = api.uploads["school_master/school_mst.zip_k"]
    archive = zipfile.ZipFile(io.BytesIO(sent.split(b"\r\n\r\n", 2)[-1].rsplit(b"\r\n--", 1)[0]))
    assert archive.read("school_mst.csv").decode() == SCHOOL  # CSVs are zipped before sending


def test_dry_run_checks_and_orders_without_sending(tmp_path, scripted):
    _url, api = scripted
    root = folder_of(
        tmp_path / "e", {"block_master/block_mst.csv": BLOCK, "district_master/district_mst.csv": DISTRICT}
    )
    result = CliRunner().invoke(app, ["emit", str(root), "--dry-run", "--log", str(tmp_path / "l.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1. district_master/district_mst.zip (district_mst)" in result.stdout
    assert "2. block_master/block_mst.zip (block_mst)" in result.stdout
    assert api.calls == []
