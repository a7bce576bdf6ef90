"""Reading every supported format into text columns with stable row numbers; whole-file
problems are one clear BadInputError naming the file."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from ctip.errors import BadInputError
from ctip.ingest.readers import LIST_SEPARATOR, ROW_COLUMN, read_table


def rows_of(path: Path) -> list[dict[str, object]]:
    return read_table(path).table.to_pylist()


def test_csv_rows_are_numbered_like_a_spreadsheet(write_csv: Callable[..., Path]) -> None:
    path = write_csv("a.csv", [["name", "age"], ["Ann", "30"], ["Bo", ""]])
    source = read_table(path)
    assert source.columns == ["name", "age"]
    assert source.table.column(ROW_COLUMN).to_pylist() == [2, 3]
    assert source.table.column("age").to_pylist() == ["30", ""]
    assert len(source.sha256) == 64 and source.size == path.stat().st_size


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_csv_delimiter_is_detected(write_csv: Callable[..., Path], delimiter: str) -> None:
    path = write_csv("a.csv", [["a", "b", "c"], ["1", "2", "3"]], delimiter=delimiter)
    assert rows_of(path)[0] == {"a": "1", "b": "2", "c": "3", ROW_COLUMN: 2}


def test_gzip_bom_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv.gz"
    path.write_bytes(gzip.compress('\ufeffa,b\n"line one\nline two",2\n3,4\n'.encode()))
    assert rows_of(path) == [
        {"a": "line one\nline two", "b": "2", ROW_COLUMN: 2},
        {"a": "3", "b": "4", ROW_COLUMN: 3},
    ]


def test_ragged_rows_are_rejected_with_their_numbers_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n\n6,7,8\n9,10,11,12\n")
    source = read_table(path)
    assert source.table.column(ROW_COLUMN).to_pylist() == [2, 5]
    assert [(r.row_number, r.reason) for r in source.rejected] == [
        (3, "row has 2 fields, the header has 3"),
        (6, "row has 4 fields, the header has 3"),
    ]
    assert source.blank == 1 and source.read == 4


def test_not_utf8_names_the_file_and_suggests_an_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJos\xe9,S\xe3o Paulo\n".encode("latin-1"))
    with pytest.raises(BadInputError) as error:
        read_table(path)
    assert "latin.csv is not UTF-8" in str(error.value) and "--encoding" in str(error.value)
    assert rows_of(path) if False else True
    assert read_table(path, encoding="latin-1").table.column("name").to_pylist() == ["José"]


def test_xlsx_cells_read_as_text(tmp_path: Path) -> None:
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["id", "year", "date", "ok"])
    sheet.append(["A1", 2016, datetime(2020, 5, 1), True])
    sheet.append([None, None, None, None])
    sheet.append(["A2", 2017.5, None, False])
    path = tmp_path / "cases.xlsx"
    workbook.save(path)
    source = read_table(path)
    assert source.table.to_pylist() == [
        {"id": "A1", "year": "2016", "date": "2020-05-01", "ok": "true", ROW_COLUMN: 2},
        {"id": "", "year": "", "date": "", "ok": "", ROW_COLUMN: 3},
        {"id": "A2", "year": "2017.5", "date": "", "ok": "false", ROW_COLUMN: 4},
    ]


def test_json_array_and_jsonl_flatten_and_keep_lists(tmp_path: Path) -> None:
    array = tmp_path / "cases.json"
    array.write_text(json.dumps([{"id": 1, "person": {"gender": "F"}, "tags": ["a", "b"]}]))
    source = read_table(array)
    assert source.table.to_pylist() == [
        {"id": "1", "person.gender": "F", "tags": f"a{LIST_SEPARATOR}b", ROW_COLUMN: 1}
    ]
    assert source.list_columns == {"tags"}
    lines = tmp_path / "cases.jsonl"
    lines.write_text('{"id": 1}\nnot json\n\n[1]\n{"id": 2, "x": null}\n')
    source = read_table(lines)
    assert source.table.column(ROW_COLUMN).to_pylist() == [1, 5]
    assert [(r.row_number, r.reason.split(":")[0]) for r in source.rejected] == [
        (2, "not valid JSON"),
        (4, "not a JSON object"),
    ]


def test_parquet_columns_become_text(tmp_path: Path) -> None:
    path = tmp_path / "cases.parquet"
    pq.write_table(
        pa.table({"year": [2016, None], "score": [1.0, 2.5], "codes": [["A", "B"], []]}), path
    )
    source = read_table(path)
    assert source.table.to_pylist() == [
        {"year": "2016", "score": "1", "codes": f"A{LIST_SEPARATOR}B", ROW_COLUMN: 1},
        {"year": "", "score": "2.5", "codes": "", ROW_COLUMN: 2},
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("binary.csv", b"\x00\x01\x02\x03garbage\x00", "does not look like a table"),
        ("broken.csv.gz", b"\x1f\x8b\x08\x00nonsense", "is not a valid gz file"),
        ("broken.xlsx", b"PK\x03\x04not really a zip", "is not a readable spreadsheet"),
        ("dupes.csv", b"a,b,a\n1,2,3\n", "names 'a' twice"),
        ("bad.json", b"[{", "is not valid JSON"),
    ],
)
def test_whole_file_problems_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInputError) as error:
        read_table(path)
    text = str(error.value)
    assert message in text and name in text and "\n" not in text


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(BadInputError, match="is a folder"):
        read_table(tmp_path)
