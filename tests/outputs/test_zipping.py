"""Zips: the CSV inside under its own name; ZipCrypto opens with the standard library, AES with pyzipper."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import pytest
import pyzipper

from exhaust.errors import BadInput
from exhaust.outputs.zipping import zip_report

TEXT = "Collection Id,User Name\ndo_1,Ananya Rāo\n" * 2000


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "b1_progress_20240101.csv"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_plain_zip(csv_file: Path, tmp_path: Path) -> None:
    out = zip_report(csv_file, tmp_path / "out" / "b1_progress_20240101.zip")
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["b1_progress_20240101.csv"]
        assert zf.infolist()[0].flag_bits & 1 == 0
        assert zf.read("b1_progress_20240101.csv").decode() == TEXT
    assert out.stat().st_size < len(TEXT.encode()) / 10  # compressed


@pytest.mark.parametrize("password", ["s3cret", "pässwörd ✓"])
def test_zipcrypto_opens_with_the_standard_library_and_only_with_the_password(
    csv_file: Path, tmp_path: Path, password: str
) -> None:
    out = zip_report(csv_file, tmp_path / "p.zip", password=password)
    with zipfile.ZipFile(out) as zf:
        info = zf.infolist()[0]
        assert info.filename == "b1_progress_20240101.csv" and info.flag_bits & 1  # encrypted
        with pytest.raises(RuntimeError, match="password required"):
            zf.read(info)
        # ZipCrypto checks a wrong password against one header byte: 1 in 256 pass that check and then
        # fail in decompression or the CRC instead. Either way the content never comes out.
        with pytest.raises((RuntimeError, zipfile.BadZipFile, zlib.error)):
            zf.read(info, pwd=b"wrong")
        assert zf.read(info, pwd=password.encode()).decode() == TEXT


def test_aes256(csv_file: Path, tmp_path: Path) -> None:
    out = zip_report(csv_file, tmp_path / "a.zip", password="k", encryption="aes256")
    with zipfile.ZipFile(out) as zf:
        assert zf.infolist()[0].compress_type == 99  # AES: not ZipCrypto
        with pytest.raises(NotImplementedError):
            zf.read(zf.namelist()[0], pwd=b"k")
    with pyzipper.AESZipFile(out) as zf:
        with pytest.raises(RuntimeError):
            zf.read("b1_progress_20240101.csv")
        zf.setpassword(b"k")
        assert zf.read("b1_progress_20240101.csv").decode() == TEXT


def test_existing_zip_is_replaced_and_bad_options_refused(csv_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "x.zip"
    target.write_bytes(b"stale")
    zip_report(csv_file, target, password="p")
    assert zipfile.is_zipfile(target)
    with pytest.raises(BadInput):
        zip_report(csv_file, target, password="")
    with pytest.raises(BadInput):
        zip_report(csv_file, target, password="p", encryption="rot13")  # type: ignore[arg-type]
