"""The CLI contract: token create / revoke, ingest --once, status --json."""

from __future__ import annotations

import json
import zipfile

import jwt
import pytest

from exhaust.cli import app
from exhaust.emission.tables import dispose_engines, open_cqube_engine
from exhaust.emission.tokens import Credentials
from exhaust.errors import EmissionUnauthorized
from exhaust.settings import Settings, get_settings
from tests.cli_runner import invoke as run_cli


@pytest.fixture
def env(tmp_path):
    values = {"EXHAUST_DATA_DIR": str(tmp_path / "data")}
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()
    dispose_engines()


def invoke(env, *args: str):
    get_settings.cache_clear()
    return run_cli(app, list(args), env=env)


def test_token_create_prints_the_token_alone_on_the_last_line_and_revoke_ends_it(env, tmp_path):
    created = invoke(env, "emission", "token", "create", "--consumer", "state-team", "--expires-days", "3")
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "exp"}
    credentials = Credentials(open_cqube_engine(Settings(data_dir=tmp_path / "data")))
    assert credentials.verify(f"Bearer {token}").name == "state-team"
    admin = invoke(
        env, "emission", "token", "create", "--consumer", "console", "--admin"
    ).stdout.splitlines()[-1]
    assert credentials.verify(f"Bearer {admin}").admin
    assert invoke(env, "emission", "token", "revoke", "state-team").exit_code == 0
    with pytest.raises(EmissionUnauthorized, match="revoked"):
        credentials.verify(f"Bearer {token}")
    unknown = invoke(env, "emission", "token", "revoke", "nobody")
    assert unknown.exit_code == 1 and "no active credentials" in unknown.output


def test_ingest_once_takes_what_waits_and_status_shows_it(env, tmp_path):
    assert invoke(env, "emission", "ingest", "--once").exit_code == 0  # nothing waiting: exits 0
    emission = tmp_path / "data" / "cqube" / "emission"
    (emission / "district_master").mkdir(parents=True)
    with zipfile.ZipFile(emission / "district_master" / "district_mst_1.zip", "w") as archive:
        archive.writestr("district_mst.csv", "DistrictId|District\n1|One\nx|Bad\n")
    (emission / "school_master").mkdir()
    (emission / "school_master" / "school_mst_1.zip").write_bytes(b"not a zip")
    ingested = invoke(env, "emission", "ingest", "--once")
    assert ingested.exit_code == 0, ingested.output
    status = invoke(env, "emission", "status", "--json")
    rows = {r["data_source"]: r for r in map(json.loads, status.stdout.splitlines())}
    assert rows["district_mst"]["status"] == "OK" and rows["district_mst"]["datatype_mismatch"] == 1
    assert rows["district_mst"]["error_file"].endswith("district_mst_1_errors.csv")
    assert (rows["school_mst"]["status"], rows["school_mst"]["reason"]) == (
        "KO",
        "the file is not a readable zip",
    )
    assert not list(emission.rglob("*.zip"))
