"""Opening a client's export as the DuckDB relation ``src``.

Files (CSV, gzip, Excel, parquet) are sniffed for their delimiter and encoding and transcoded
when needed; DataFrames are registered as Arrow tables.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.data._limits import (
    _check_columns,
    _check_last_line,
    _check_workbook,
    _line_error,
    _open_binary,
)
from cxlib.data._schema import _DELIMITERS, _SNIFF_BYTES, _literal
from cxlib.settings.config import Limits
from cxlib.settings.params import param_error
from cxlib.settings.validation import DataError


@dataclass
class _Source:
    """The raw rows, as a DuckDB relation named ``src``, and how to name their rows."""

    name: str  # shown in messages: the path as given, or "DataFrame"
    short_name: str  # shown in the quality table
    row_offset: int  # row label = position + row_offset (files)
    frame: pd.DataFrame | None = None  # set for DataFrame and Excel sources
    row_labels: pd.Index | None = None  # DataFrame sources: index labels
    text_file: bool = False  # CSV: every column is text; extra columns get their type inferred

    def labels(self, positions: np.ndarray) -> list[Any]:
        if self.row_labels is not None:
            return list(self.row_labels[positions])
        return [int(p) + self.row_offset for p in positions]


def _open_source(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | pd.DataFrame,
    *,
    encoding: str | None,
    caller: str,
    scratch: str,
    sheet: str | int | None = None,
    limits: Limits | None = None,
) -> _Source:
    limits = limits or Limits()
    if isinstance(source, pd.DataFrame):
        _check_columns(len(source.columns), limits, "DataFrame", caller)
        return _Source(
            name="DataFrame",
            short_name="DataFrame",
            row_offset=0,
            frame=source,
            row_labels=source.index,
        )
    if not isinstance(source, str | Path):
        raise param_error("source", source, "a file path or a DataFrame", caller=caller)
    path = Path(source)
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    kind = _file_kind(suffixes)
    if kind is None:
        raise DataError(
            f"{caller} ({path}): unsupported file type {''.join(suffixes) or '(no suffix)'}; "
            "expected a .csv, .csv.gz, .tsv, .txt, .parquet or .xlsx file, or a DataFrame"
        )
    if not path.is_file():
        raise DataError(f"{caller}: file {path} does not exist")
    name = str(path)
    if sheet is not None and kind != "excel":
        raise DataError(f"{caller} ({name}): sheet={sheet!r} is only for Excel workbooks")
    if kind == "excel":
        _check_workbook(path, sheet, limits, caller)
        frame = _read_excel(path, sheet, caller)
        _check_columns(len(frame.columns), limits, name, caller)
        return _Source(name=name, short_name=path.name, row_offset=2, frame=frame)
    # DuckDB expands * ? [ ] { } in file names (y[12].csv would read y1.csv): read the file
    # through a plainly named link to it, so exactly the named file is read.
    read_path = _literal_path(path, scratch)
    if kind == "parquet":
        con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({_literal(str(read_path))})")
        return _Source(name=name, short_name=Path(source).name, row_offset=1)
    # text: CSV, TSV, TXT, maybe gzipped
    gzipped = suffixes[-1] == ".gz"
    codec = _codec(encoding, caller)
    header = _sniff_header(
        path, gzipped=gzipped, codec=codec, caller=caller, limit=limits.max_line_bytes
    )
    delimiter = _detect_delimiter(header, tab_default=".tsv" in suffixes)
    names = _header_names(header, delimiter, name, caller)
    _check_columns(len(names), limits, name, caller)
    _check_last_line(path, gzipped, limits.max_line_bytes, name, caller)
    if codec not in ("utf-8", "utf-8-sig"):
        read_path = _transcode(path, gzipped=gzipped, codec=codec, scratch=scratch)
        gzipped = False
    # Everything is given, so DuckDB does not sniff (which would read the file again). A line
    # longer than the limit is an error (see _limits._line_error).
    types = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    options = (
        f"auto_detect=false, header=true, columns={{{types}}}, delim={_literal(delimiter)}, "
        f"quote='\"', escape='\"', comment='', max_line_size={limits.max_line_bytes}, "
        f"compression={_literal('gzip' if gzipped else 'none')}"
    )
    con.execute(f"CREATE VIEW src AS SELECT * FROM read_csv({_literal(str(read_path))}, {options})")
    return _Source(name=name, short_name=Path(source).name, row_offset=2, text_file=True)


def _literal_path(path: Path, scratch: str) -> Path:
    """Return a path to ``path``'s file whose name DuckDB cannot read as a pattern."""
    link = Path(scratch) / ("input" + "".join(s.lower() for s in path.suffixes[-2:]))
    try:
        os.symlink(path.resolve(), link)
    except OSError:  # no symlinks here: a file name without pattern characters is safe as is
        if re.search(r"[*?\[\]{}]", str(path)):
            raise
        return path
    return link


def _read_excel(path: Path, sheet: str | int | None, caller: str) -> pd.DataFrame:
    """One worksheet, its text cells kept as text ("007" stays "007").

    A workbook with several sheets needs ``sheet``: reading the first one silently could
    leave out most of the data.
    """
    try:
        with pd.ExcelFile(path) as book:
            names = book.sheet_names
            if sheet is None and len(names) > 1:
                raise DataError(
                    f"{caller} ({path}): the workbook has {len(names)} sheets {names}; "
                    f"say which one to read with sheet={names[0]!r} (a sheet's name, or its "
                    "0-based position)"
                )
            if isinstance(sheet, str) and sheet not in names:
                raise DataError(f"{caller} ({path}): no sheet {sheet!r}; the workbook has {names}")
            if isinstance(sheet, int) and not 0 <= sheet < len(names):
                raise DataError(
                    f"{caller} ({path}): no sheet {sheet} (0-based); the workbook "
                    f"has {len(names)}: {names}"
                )
            # dtype=object: pandas would otherwise turn the text cell "007" into the number 7.
            frame = pd.read_excel(book, sheet_name=0 if sheet is None else sheet, dtype=object)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise many kinds for a bad file
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{caller} ({path}): could not read the Excel file: {detail}") from None
    for column in frame.columns:  # typed cells keep their type: numbers, dates
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, dt.datetime | dt.date) for v in values):
            frame[column] = pd.to_datetime(frame[column])
        elif len(values) and all(
            isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values
        ):
            frame[column] = pd.to_numeric(frame[column])
    return frame


def _file_kind(suffixes: list[str]) -> str | None:
    if not suffixes:
        return None
    last = suffixes[-1]
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".xlsx", ".xlsm"):
        return "excel"
    text = (".csv", ".tsv", ".txt")
    if last in text or (last == ".gz" and len(suffixes) == 2 and suffixes[0] in text):
        return "text"
    return None


def _codec(encoding: str | None, caller: str) -> str:
    if encoding is None:
        return "utf-8"
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise param_error(
            "encoding",
            encoding,
            "a Python codec name such as 'utf-8', 'cp1251' or 'latin-1'",
            caller=caller,
        ) from None


def _decoding_error(caller: str, name: str, codec: str, line: int | None, detail: str) -> DataError:
    where = f" (line {line})" if line is not None else ""
    other = (
        "encoding='cp1252' (Western Europe), encoding='cp1251' (Cyrillic) or encoding='latin-1'"
        if codec.startswith("utf")
        else ("another encoding")
    )
    return DataError(
        f"{caller} ({name}): the file is not valid {codec}{where}: {detail}. "
        f"Pass the file's encoding, e.g. {other} for exports from Windows or Excel."
    )


def _header_names(header: str, delimiter: str, name: str, caller: str) -> list[str]:
    """Return a CSV header's column names (``column<i>`` for a blank one); refuse repeats."""
    names = [
        field.strip() or f"column{i}"
        for i, field in enumerate(next(csv.reader([header], delimiter=delimiter)))
    ]
    duplicated = _repeated(names)
    if duplicated:
        raise DataError(f"{caller} ({name}): duplicate column(s) {duplicated}; got {names}")
    return names


def _repeated(names: list[str]) -> list[str]:
    """Return the names that occur more than once, sorted (linear in the number of names)."""
    return sorted(name for name, n in Counter(names).items() if n > 1)


def _sniff_header(
    path: Path, *, gzipped: bool, codec: str, caller: str, limit: int | None = None
) -> str:
    """Return the first non-blank line of a text file (its header), decoded.

    Reads 64 KB at a time until the line ends, so a header of thousands of columns is read
    whole; a line longer than ``limit`` bytes is an error naming ``limits.max_line_bytes``.
    """
    limit = limit or Limits().max_line_bytes
    head = b""
    try:
        with _open_binary(path, gzipped=gzipped) as handle:
            while True:
                chunk = handle.read(_SNIFF_BYTES)
                head += chunk
                complete = [line for line in head.split(b"\n")[:-1] if line.strip()]
                if complete or not chunk:
                    break
                if len(head) > limit:  # no header line within the limit
                    opener = partial(_open_binary, gzipped=gzipped)
                    raise _line_error(path, opener, limit, str(path), caller) or DataError(
                        f"{caller} ({path}): no header line in the first {limit:,} bytes"
                    )
    except (OSError, EOFError) as exc:
        raise DataError(f"{caller} ({path}): could not read the file: {exc}") from exc
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(head, final=not chunk)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        byte = head[exc.start : exc.start + 1].hex()
        raise _decoding_error(caller, str(path), codec, line, f"byte 0x{byte}") from None
    text = text.lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line
    raise DataError(f"{caller} ({path}): the file is empty (no header line)")


def _detect_delimiter(header: str, *, tab_default: bool) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    if counts[best] == 0:
        return "\t" if tab_default else ","
    return best


def _transcode(path: Path, *, gzipped: bool, codec: str, scratch: str) -> Path:
    target = Path(scratch) / "utf8.csv"
    with (
        _open_binary(path, gzipped=gzipped) as raw,
        codecs.getreader(codec)(raw, errors="strict") as reader,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        while chunk := reader.read(1 << 22):
            out.write(chunk)
    return target


# ---- parsing and checking


def _relation_types(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    relation = con.sql("SELECT * FROM src")
    return {name: str(dtype) for name, dtype in zip(relation.columns, relation.types, strict=True)}


def _register_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, names: list[str]) -> None:
    """Register the canonical columns of a DataFrame as ``src`` (text for anything not typed)."""
    arrays: dict[str, pa.Array] = {}
    for name in names:
        series = frame[name]
        if isinstance(series, pd.DataFrame):  # duplicated column name: reported later
            series = series.iloc[:, 0]
        dtype = series.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            arrays[name] = pa.array(
                series.to_numpy(dtype="datetime64[ns]"), mask=series.isna().to_numpy()
            )
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            arrays[name] = pa.array(
                series.to_numpy(dtype="datetime64[ns]"), mask=series.isna().to_numpy()
            )
        elif pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            arrays[name] = pa.Array.from_pandas(series)
        elif pd.api.types.is_float_dtype(dtype):
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            arrays[name] = pa.array(values, mask=np.isnan(values))
        else:
            arrays[name] = _text_array(series)
    table = pa.table(arrays) if arrays else pa.table({"_empty": pa.nulls(len(frame))})
    con.register("src_arrow", table)
    con.execute("CREATE VIEW src AS SELECT * FROM src_arrow")


def _text_array(series: pd.Series) -> pa.Array:
    """Text of a column: fast when it already holds only strings and missing values."""
    try:
        array = pa.array(series.to_numpy(dtype=object), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        array = None
    if array is not None and (pa.types.is_string(array.type) or pa.types.is_null(array.type)):
        return array.cast(pa.string())
    return pa.array(
        [None if _is_missing(value) else _to_text(value) for value in series], type=pa.string()
    )


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells
        return False


def _to_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
