"""Sunbird PII encryption: verified vectors (research §4.4), pass-through, and vectorised = scalar."""

from __future__ import annotations

import base64

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from exhaust.pii import decrypt, decrypt_array, decrypt_many, encrypt, encrypt_array, encrypt_many

# Stored in the release-7.0.0 fixture report_data.cql (user ...e9a1); the line break is at column 76.
FIXTURE_EMAIL = (
    "PEhQxQlaMdJEXOzShY0NAiKg4LqC2xUDE4InNodhG/fJMhq69iAPzseEdYAlMPWegxJaAnH+tJwc\n"
    "ZuqPxJCtJkiGfwlCUEj5B41z4/RjH/7XowwzRVZXH0jth3IW4Ik8TQtMGOn7lhkDdxs1iV8l8A=="
)
FIXTURE_PHONE = "1wsQrmy8Q1T4gFa+MOJsirdQC2yhyJsm2Rgj229s2b5Hk/JLNNnHMz6ywhgzYpgcQ6QILjcTLl7z\n7s4aRbsrWw=="
MAHESH = (
    "hEl2QebTnaqQ1bFGq1eDm2YA6t3qsvD+yQhDFhoh0gDNPoIYFNvPQnqKzwTGb7OvAEvkXHEI77pF\n"
    "Ci1PobMnBC8zUCPA8+cEDAp+FS5noE4z8ARNs9cFUoZHj9tz3LKCTQtMGOn7lhkDdxs1iV8l8A=="
)
SALT = "SunBird"


def test_fixture_values_decrypt() -> None:
    assert decrypt(FIXTURE_EMAIL, SALT) == "abc@gmail.com"
    assert decrypt(FIXTURE_PHONE, SALT) == "99999999"
    assert decrypt_many([FIXTURE_EMAIL, FIXTURE_PHONE], SALT) == ["abc@gmail.com", "99999999"]


def test_encrypt_matches_what_sunbird_stores_line_breaks_included() -> None:
    # Java's encoder breaks lines at 76 characters in every round; the breaks of round two are
    # encrypted by round three, so dropping them would give a different (wrong) ciphertext.
    assert encrypt("mahesh@ilimi.in", SALT) == MAHESH
    assert MAHESH[76] == "\n"
    assert encrypt_many(["mahesh@ilimi.in"], SALT) == [MAHESH]
    assert decrypt(MAHESH, SALT) == "mahesh@ilimi.in"


def test_whitespace_in_ciphertext_is_ignored() -> None:
    variants = [
        FIXTURE_EMAIL.replace("\n", ""),
        FIXTURE_EMAIL.replace("\n", "\r\n"),
        "  " + FIXTURE_EMAIL + "\n",
        FIXTURE_EMAIL[:10] + " \t" + FIXTURE_EMAIL[10:],
    ]
    assert [decrypt(v, SALT) for v in variants] == ["abc@gmail.com"] * 4
    assert decrypt_many(variants, SALT) == ["abc@gmail.com"] * 4


def test_values_that_do_not_decrypt_pass_through_unchanged() -> None:
    values = [
        None,
        "",
        "   ",
        "abc@gmail.com",
        "9999999999",
        "not base64 at all!",
        "QUFB",  # valid base64, not a whole AES block
        base64.b64encode(b"A" * 16).decode(),  # one block, but its padding is invalid
        "ಕನ್ನಡ",
        FIXTURE_EMAIL[:-4],  # truncated ciphertext
    ]
    assert [decrypt(v, SALT) for v in values] == values
    assert decrypt_many(values, SALT) == values


def test_salt_is_stripped_by_length_only() -> None:
    # Sunbird never checks the prefix: any salt of the same length decrypts.
    assert decrypt(encrypt("someone@example.com", "aaaa"), "bbbb") == "someone@example.com"
    assert decrypt(encrypt("someone@example.com", "aaaa"), "") != "someone@example.com"


def test_salt_control_characters_become_literal_escapes() -> None:
    assert encrypt("x@y.in", "a\nb\tc\rd") == encrypt("x@y.in", "a\\nb\\tc\\rd")
    assert decrypt(encrypt("x@y.in", "a\\nb\\tc\\rd"), "a\nb\tc\rd") == "x@y.in"


def test_full_line_gets_a_trailing_break_like_java() -> None:
    # A ciphertext of 57 * 16 bytes fills its last line exactly; sun.misc then ends with "\n".
    value = "v" * 900
    stored = encrypt(value, "")
    assert stored.endswith("\n") == (len(base64.b64decode(stored)) % 57 == 0)
    lengths = {len(base64.b64decode(encrypt("v" * n, ""))) % 57 for n in range(0, 1000, 7)}
    assert 0 in lengths  # the case is exercised
    assert all(decrypt(encrypt("v" * n, ""), "") == "v" * n for n in range(0, 1000, 7))
    assert encrypt_many(["v" * n for n in range(0, 1000, 7)], "") == [
        encrypt("v" * n, "") for n in range(0, 1000, 7)
    ]


def test_arrow_forms_keep_nulls_and_length() -> None:
    column = pa.array(["a@b.in", None, "", "ಕ@ಕ.in"])
    encrypted = encrypt_array(column, SALT)
    assert encrypted.type == pa.string()
    assert encrypted.null_count == 1
    assert decrypt_array(encrypted, SALT).equals(column)
    assert decrypt_array(pa.chunked_array([column, column]), SALT).to_pylist() == column.to_pylist() * 2
    assert decrypt_array(pa.nulls(3), SALT).to_pylist() == [None] * 3
    assert decrypt_array(pa.array(["a", None], type=pa.large_string()), SALT).to_pylist() == ["a", None]
    assert encrypt_many([], SALT) == []
    assert decrypt_many([], SALT) == []


def test_many_values_match_scalar() -> None:
    values = [f"user{i}@example.com" if i % 3 else f"9{i:09d}" for i in range(3000)]
    encrypted = encrypt_many(values, SALT)
    assert encrypted == [encrypt(v, SALT) for v in values]
    assert decrypt_many(encrypted, SALT) == values


salts = st.text(max_size=24)
texts = st.text(max_size=120)


@settings(max_examples=150, deadline=None)
@given(value=texts, salt=salts)
def test_round_trip(value: str, salt: str) -> None:
    assert decrypt(encrypt(value, salt), salt) == value


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.one_of(st.none(), texts), max_size=40), salt=salts)
def test_encrypt_many_equals_scalar(values: list[str | None], salt: str) -> None:
    encrypted = encrypt_many(values, salt)
    assert encrypted == [None if v is None else encrypt(v, salt) for v in values]
    assert decrypt_many(encrypted, salt) == values


def _garbage() -> st.SearchStrategy[str]:
    """Inputs that may or may not decrypt: text, base64 of random bytes, damaged ciphertexts."""
    raw_b64 = st.binary(max_size=96).map(lambda b: base64.b64encode(b).decode())
    damaged = st.tuples(texts, st.integers(0, 200), st.sampled_from([" ", "\n", "=", "A", "é", ""])).map(
        lambda t: (lambda c: c[: t[1]] + t[2] + c[t[1] :])(encrypt(t[0], SALT))
    )
    return st.one_of(texts, raw_b64, damaged, texts.map(lambda v: encrypt(v, SALT)))


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), _garbage()), max_size=30))
def test_decrypt_many_equals_scalar_on_any_input(values: list[str | None]) -> None:
    assert decrypt_many(values, SALT) == [decrypt(v, SALT) for v in values]


def test_release_7_fixture_values_with_literal_backslash_n_decrypt(sunbird_fixtures) -> None:
    """The release-7.0.0 CQL fixture stores Java's line breaks as the two characters backslash and n."""
    from exhaust.pii import decrypt, decrypt_array
    from exhaust.sources.cql import parse_cql_inserts

    path = sunbird_fixtures / "release-7.0.0/lern-data-products/src/test/resources/exhaust/report_data.cql"
    users = [
        row for _, table, row in parse_cql_inserts(path.read_text()) if table == "user" and row.get("email")
    ]
    encrypted = [u for u in users if "\\n" in u["email"]]
    assert encrypted, "the fixture has encrypted emails"
    emails = {decrypt(u["email"], "SunBird") for u in encrypted}
    assert "abc@gmail.com" in emails
    column = pa.array([u["email"] for u in encrypted] + ["plain\\ntext"])
    assert decrypt_array(column, "SunBird").to_pylist() == [
        decrypt(u["email"], "SunBird") for u in encrypted
    ] + ["plain\\ntext"]
