"""Flattening a batch's inputs with Arrow kernels (engine/inputs.py)."""

from __future__ import annotations

import pyarrow as pa

from exhaust.engine.backend import DuckDBBackend
from exhaust.engine.inputs import first_per_key, legacy_timestamp, unwrapped_board
from exhaust.sources.schema import TABLES


def evaluate(expression, data: pa.Table) -> list:
    """One expression over `data` on DuckDB."""
    backend = DuckDBBackend()
    try:
        table = backend.table("t", data)
        return backend.execute(table.select(v=expression(table))).column("v").to_pylist()
    finally:
        backend.close()


def test_first_per_key_keeps_the_first_row_of_each_key_in_order() -> None:
    table = pa.table({"k": ["a", "b", "a", "c", "b"], "v": [1, 2, 3, 4, 5]})
    kept = first_per_key(table, ["k"])
    assert kept.column("k").to_pylist() == ["a", "b", "c"]
    assert kept.column("v").to_pylist() == [1, 2, 4]


def test_legacy_dates_parse_to_utc() -> None:
    texts = pa.table({"d": ["2019-11-13 05:41:50:382+0000", None, "2020-08-25 19:15:54:150+0530"]})
    parsed = evaluate(lambda t: legacy_timestamp(t.d), texts)
    assert [v.isoformat() if v else None for v in parsed] == [
        "2019-11-13T05:41:50.382000+00:00",
        None,
        "2020-08-25T13:45:54.150000+00:00",
    ]


def test_board_json_array_text_gives_its_first_element() -> None:
    users = TABLES["users"].schema.empty_table()
    boards = ['["IGOT-Health"]', "CBSE", "[]", None, '["A", "B"]', ' [ "Spaced" ]']
    data = {name: [None] * len(boards) for name in users.column_names}
    data["board"] = boards
    table = pa.table(data, schema=users.schema)
    assert evaluate(lambda t: unwrapped_board(t.board), table) == [
        "IGOT-Health",
        "CBSE",
        None,
        None,
        "A",
        "Spaced",
    ]
