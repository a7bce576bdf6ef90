"""Read an agency's file (CSV, XLSX/ODS, JSON, JSONL, Parquet; gzip-compressed or not) into an
Arrow table of strings, with a stable row number for every record.

Every value arrives as text: typing and validation happen later, in SQL, where a bad value
becomes a quarantine entry instead of a failed read. Rows the parser itself cannot read (a CSV
line with the wrong number of fields, a JSON line that is not an object) are returned as
``RejectedRow`` so the importer quarantines them too. Whole-file problems raise
``BadInputError`` with one line naming the file and what to do.

Row numbers are what a person sees: in a CSV or spreadsheet the header is row 1 and the first
record row 2; in JSON Lines the line number; in a JSON array or Parquet file the 1-based
position. Empty lines are counted as ``blank``; rows of empty cells stay rows, and the importer
counts them as blank when no mapped column has a value.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import lzma
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctip.errors import BadInputError

ROW_COLUMN = "_ctip_row"
LIST_SEPARATOR = "\x1f"  # joins the items of a JSON/Parquet list in one text cell
CSV_DELIMITERS = (",", ";", "\t", "|")
TABULAR_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".ods": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSIONS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    raw: str
    reason: str


@dataclass
class SourceTable:
    """A file read into memory: strings only, plus the row number column."""

    path: Path
    sha256: str
    size: int
    format: str
    table: pa.Table
    columns: list[str]
    rejected: list[RejectedRow] = field(default_factory=list)
    blank: int = 0
    list_columns: set[str] = field(default_factory=set)

    @property
    def read(self) -> int:
        """Records read: parsed rows plus rows the parser rejected, blank rows excluded."""
        return int(self.table.num_rows) + len(self.rejected)


def read_table(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> SourceTable:
    """Read ``path`` whatever its tabular format; see the module docstring."""
    raw = read_bytes(path)
    digest = _Sha256InBackground(raw)
    data, inner_suffix = decompress(path, raw)
    kind = TABULAR_SUFFIXES.get(inner_suffix) or _sniff(data, path)
    if kind == "csv":
        source = _read_csv(path, data, encoding)
    elif kind == "xlsx":
        source = _read_spreadsheet(path, data, sheet)
    elif kind == "json":
        source = _read_json(path, data)
    elif kind == "jsonl":
        source = _read_jsonl(path, data)
    else:
        source = _read_parquet(path, data)
    source.sha256 = digest.result()
    source.size = len(raw)
    return source


class _Sha256InBackground:
    """Hash the file on another thread while it is parsed: hashlib releases the GIL."""

    def __init__(self, data: bytes) -> None:
        self._digest = ""
        self._thread = threading.Thread(target=self._run, args=(data,), daemon=True)
        self._thread.start()

    def _run(self, data: bytes) -> None:
        self._digest = hashlib.sha256(data).hexdigest()

    def result(self) -> str:
        self._thread.join()
        return self._digest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or one BadInputError naming the file (missing, a folder, empty)."""
    if not path.exists():
        raise BadInputError(f"{path}: no such file", hint="check the path")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder, not a file", hint="name one file to import")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read it ({exc.strerror})") from exc
    if not data:
        raise BadInputError(f"{path} is empty", hint="export the table again")
    return data


def decompress(path: Path, data: bytes) -> tuple[bytes, str]:
    """(uncompressed bytes, inner suffix) for .gz/.bz2/.xz files and unnamed gzip data."""
    suffixes = [s.lower() for s in path.suffixes]
    outer = suffixes[-1] if suffixes else ""
    if outer in COMPRESSIONS:
        try:
            return COMPRESSIONS[outer](data), (suffixes[-2] if len(suffixes) > 1 else "")
        except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise BadInputError(
                f"{path} is not a valid {outer[1:]} file ({exc})",
                hint="decompress it by hand to check, or export it again",
            ) from exc
    if data[:2] == b"\x1f\x8b":  # gzip without the .gz name
        try:
            return gzip.decompress(data), outer
        except (OSError, EOFError) as exc:
            raise BadInputError(f"{path} looks gzip-compressed but is damaged ({exc})") from exc
    return data, outer


def _sniff(data: bytes, path: Path) -> str:
    head = data[:4096]
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInputError(
            f"{path} does not look like a table (binary content)",
            hint="export it as CSV, XLSX, JSON or Parquet",
        )
    return "csv"


# --- CSV -------------------------------------------------------------------------------------


def _decode_check(path: Path, data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """Return (bytes, encoding for pyarrow). Fails with a suggestion when not UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "utf8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding is None:
        encoding = "utf-16"
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadInputError(
                f"{path} cannot be read as {encoding} ({exc.__class__.__name__})",
                hint="check --encoding",
            ) from exc
        return text.lstrip("\ufeff").encode("utf-8"), "utf8"
    return data, "utf8"


def _not_utf8(path: Path, data: bytes) -> BadInputError:
    try:
        data.decode("utf-8")
        where = ""
    except UnicodeDecodeError as exc:
        where = f" (invalid byte at position {exc.start})"
    guess = _guess_encoding(data)
    hint = f"pass --encoding {guess}" if guess else "pass --encoding NAME"
    return BadInputError(
        f"{path} is not UTF-8 text{where}", hint=f"{hint}, or save it again as UTF-8"
    )


COMMON_ENCODINGS = (
    "utf_16",
    "cp1252",
    "iso8859_1",
    "iso8859_15",
    "cp1251",
    "koi8_r",
    "cp1250",
    "iso8859_2",
    "cp1256",
    "cp874",
    "gb18030",
    "big5",
    "shift_jis",
    "euc_kr",
    "mac_roman",
)


def _guess_encoding(data: bytes) -> str | None:
    """Name the likeliest encoding, preferring the ones spreadsheets actually write."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[:200_000])
    for match in matches:
        if match.encoding in COMMON_ENCODINGS:
            return str(match.encoding)
    try:
        data[:200_000].decode("cp1252")
    except UnicodeDecodeError:
        best = matches.best()
        return str(best.encoding) if best is not None else None
    return "cp1252"


def _detect_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1
    for delimiter in CSV_DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header(path: Path, text_head: str, delimiter: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text_head), delimiter=delimiter))
    except StopIteration as exc:
        raise BadInputError(f"{path} has no header row") from exc
    return _unique_names(path, first)


def _unique_names(path: Path, names: Iterable[Any]) -> list[str]:
    result: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        text = str(name).strip() if name is not None else ""
        if not text:
            text = f"column_{position}"
        if text in seen:
            raise BadInputError(
                f"{path}: the header names '{text}' twice (columns {seen[text]} and {position})",
                hint="rename one of them",
            )
        seen[text] = position
        result.append(text)
    if not result:
        raise BadInputError(f"{path} has no header row")
    return result


def _read_csv(path: Path, data: bytes, encoding: str | None) -> SourceTable:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding:
        raise BadInputError(
            f"{path} does not look like a table (binary content)",
            hint="export it as CSV, XLSX, JSON or Parquet",
        )
    data, arrow_encoding = _decode_check(path, data, encoding)
    head = data[:65536].decode("utf-8", errors="ignore")
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else _detect_delimiter(head)
    columns = _header(path, head, delimiter)
    invalid_rows: list[int] = []

    def on_invalid(_row: Any) -> str:
        invalid_rows.append(1)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=columns, skip_rows=1, encoding=arrow_encoding, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "UTF-8" in str(exc):
            raise _not_utf8(path, data) from exc
        raise BadInputError(
            f"{path} cannot be parsed as CSV ({str(exc).splitlines()[0]})",
            hint="check it opens in a spreadsheet and export it again",
        ) from exc
    if invalid_rows:
        # Rows were skipped, so positions no longer give row numbers: read it again with
        # Python's csv module, which knows where every record starts.
        return _read_csv_exact(path, data, delimiter, columns)
    rows = pa.array(range(2, table.num_rows + 2), type=pa.int64())
    return SourceTable(path, "", 0, "csv", table.append_column(ROW_COLUMN, rows), columns)


def _read_csv_exact(path: Path, data: bytes, delimiter: str, columns: list[str]) -> SourceTable:
    """Slow, exact reading for files with malformed rows: each is rejected with its number."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    next(reader, None)
    width = len(columns)
    values: list[list[str]] = [[] for _ in columns]
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    blank = 0
    for index, record in enumerate(reader):
        row_number = index + 2
        if len(record) == width:
            for column, value in zip(values, record, strict=True):
                column.append(value)
            numbers.append(row_number)
        elif not any(cell.strip() for cell in record):
            blank += 1
        else:
            rejected.append(
                RejectedRow(
                    row_number,
                    delimiter.join(record),
                    f"row has {len(record)} fields, the header has {width}",
                )
            )
    arrays = [pa.array(column, type=pa.string()) for column in values]
    table = pa.Table.from_arrays(
        [*arrays, pa.array(numbers, type=pa.int64())], names=[*columns, ROW_COLUMN]
    )
    return SourceTable(path, "", 0, "csv", table, columns, rejected=rejected, blank=blank)


# --- spreadsheets ----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _read_spreadsheet(path: Path, data: bytes, sheet: str | None) -> SourceTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        if sheet is not None and sheet not in names:
            raise BadInputError(
                f"{path} has no sheet '{sheet}'", hint=f"sheets: {', '.join(names)}"
            )
        chosen = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
        rows = chosen.to_python(skip_empty_area=False)
    except BadInputError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise BadInputError(
            f"{path} is not a readable spreadsheet ({exc})",
            hint="open and save it again in a spreadsheet program, or export CSV",
        ) from exc
    if not rows:
        raise BadInputError(f"{path} has an empty first sheet", hint="use --sheet NAME")
    columns = _unique_names(path, rows[0])
    width = len(columns)
    values: list[list[str]] = [[] for _ in columns]
    numbers: list[int] = []
    rejected: list[RejectedRow] = []
    for index, row in enumerate(rows[1:]):
        cells = [cell_text(c) for c in row]
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            rejected.append(
                RejectedRow(index + 2, "\t".join(cells), f"row has values beyond column {width}")
            )
            continue
        cells = (cells + [""] * width)[:width]
        for column, value in zip(values, cells, strict=True):
            column.append(value)
        numbers.append(index + 2)
    table = pa.Table.from_arrays(
        [*(pa.array(v, type=pa.string()) for v in values), pa.array(numbers, type=pa.int64())],
        names=[*columns, ROW_COLUMN],
    )
    return SourceTable(path, "", 0, "xlsx", table, columns, rejected=rejected)


# --- JSON ------------------------------------------------------------------------------------


def _flatten(record: dict[str, Any], prefix: str = "") -> tuple[dict[str, str], set[str]]:
    flat: dict[str, str] = {}
    lists: set[str] = set()
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            inner, inner_lists = _flatten(value, f"{name}.")
            flat.update(inner)
            lists |= inner_lists
        elif isinstance(value, list):
            if all(not isinstance(item, dict | list) for item in value):
                flat[name] = LIST_SEPARATOR.join(cell_text(item) for item in value)
                lists.add(name)
            else:
                flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = cell_text(value)
    return flat, lists


def _records_to_source(
    path: Path, kind: str, records: list[tuple[int, dict[str, Any]]], rejected: list[RejectedRow]
) -> SourceTable:
    columns: dict[str, None] = {}
    flat_records: list[tuple[int, dict[str, str]]] = []
    list_columns: set[str] = set()
    for number, record in records:
        flat, lists = _flatten(record)
        list_columns |= lists
        columns.update(dict.fromkeys(flat))
        flat_records.append((number, flat))
    names = list(columns)
    arrays = [
        pa.array([flat.get(n, "") for _, flat in flat_records], type=pa.string()) for n in names
    ]
    numbers = pa.array([number for number, _ in flat_records], type=pa.int64())
    table = pa.Table.from_arrays([*arrays, numbers], names=[*names, ROW_COLUMN])
    return SourceTable(
        path, "", 0, kind, table, names, rejected=rejected, list_columns=list_columns
    )


def _read_json(path: Path, data: bytes) -> SourceTable:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(
            f"{path} is not valid JSON ({exc})", hint="for one object per line use .jsonl"
        ) from exc
    if isinstance(document, dict):
        lists = [v for v in document.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise BadInputError(f"{path}: expected a JSON array of records")
        document = lists[0]
    if not isinstance(document, list):
        raise BadInputError(f"{path}: expected a JSON array of records")
    records: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    for index, item in enumerate(document, start=1):
        if isinstance(item, dict):
            records.append((index, item))
        else:
            rejected.append(RejectedRow(index, json.dumps(item)[:1000], "not a JSON object"))
    return _records_to_source(path, "json", records, rejected)


def _read_jsonl(path: Path, data: bytes) -> SourceTable:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{path} is not UTF-8 text", hint="save it again as UTF-8") from exc
    records: list[tuple[int, dict[str, Any]]] = []
    rejected: list[RejectedRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            rejected.append(RejectedRow(number, line[:1000], f"not valid JSON: {exc.msg}"))
            continue
        if not isinstance(item, dict):
            rejected.append(RejectedRow(number, line[:1000], "not a JSON object"))
            continue
        records.append((number, item))
    if not records and not rejected:
        raise BadInputError(f"{path} has no records")
    return _records_to_source(path, "jsonl", records, rejected)


# --- Parquet ---------------------------------------------------------------------------------


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        items = [
            None if v is None else LIST_SEPARATOR.join(cell_text(x) for x in v)
            for v in column.to_pylist()
        ]
        return pa.chunked_array([pa.array(items, type=pa.string())])
    if pa.types.is_struct(kind) or pa.types.is_map(kind):
        items = [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(items, type=pa.string())])
    if pa.types.is_floating(kind):
        items = [None if v is None else cell_text(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(items, type=pa.string())])
    return pc.cast(column, pa.string())


def _read_parquet(path: Path, data: bytes) -> SourceTable:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"{path} is not a readable Parquet file ({exc})") from exc
    columns = _unique_names(path, table.column_names)
    list_columns = {
        name
        for name, column in zip(columns, table.columns, strict=True)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
    }
    arrays = [pc.fill_null(_as_text(column), "") for column in table.columns]
    numbers = pa.array(range(1, table.num_rows + 1), type=pa.int64())
    text_table = pa.Table.from_arrays([*arrays, numbers], names=[*columns, ROW_COLUMN])
    return SourceTable(path, "", 0, "parquet", text_table, columns, list_columns=list_columns)
