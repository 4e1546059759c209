"""Loaders for the four canonical tables: client exports in, validated canonical frames out.

Every loader takes a path (``.csv``, ``.csv.gz``, ``.tsv``, ``.txt``, ``.parquet``, ``.xlsx``) or a
DataFrame, maps the client's column names to cxlib's canonical names, parses and checks each
canonical column, and returns a new frame:

===============  ==========================================  ======================================
table            required columns (dtype)                    optional canonical columns
===============  ==========================================  ======================================
transactions     customer_id (str), date (datetime64[ns]),    order_id, category, channel
                 amount (float64; negative = refund)
customers        customer_id (str, unique)                   signup_date, contract_end
                                                             (datetime64[ns]), acquisition_cost
                                                             (float64)
surveys          customer_id (str), date, score (int64 0-10)  comment
feedback         customer_id (str), date, text (str)          channel, topic
===============  ==========================================  ======================================

The client's other columns are kept after the canonical ones. Invalid rows either raise a
:class:`cxlib.DataError` (``on_invalid="raise"``, the default) or are set aside and counted
(``on_invalid="drop"``); in both cases nothing disappears silently. Each returned frame carries
its data-quality records in ``frame.attrs["quality"]``; :func:`quality_report` turns the
records of one or more frames into the table the report shows.

Files are read by DuckDB (every column as text, then parsed with explicit types, validation
flags computed in the same pass), so a CSV of tens of millions of rows loads in tens of seconds
without pandas' memory blow-up. Above :data:`LARGE_TABLE_ROWS` kept rows, text columns
(``customer_id`` included) come back as pyarrow-backed strings (``string[pyarrow]``) rather than
Python objects; see ``benchmarks/load_memory.py`` (10 million rows in well under 4 GiB).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib._validation import DataError, format_offenders

__all__ = [
    "LARGE_TABLE_ROWS",
    "QUALITY_COLUMNS",
    "SCHEMAS",
    "load_customers",
    "load_experiments",
    "load_feedback",
    "load_surveys",
    "load_transactions",
    "quality_report",
]

#: Canonical columns of each table: name -> kind. ``id``/``date``/``number``/``score``/``text``
#: are parsed and checked; ``string`` columns are kept as they are.
SCHEMAS: dict[str, dict[str, dict[str, str]]] = {
    "transactions": {
        "required": {"customer_id": "id", "date": "date", "amount": "number"},
        "optional": {"order_id": "string", "category": "string", "channel": "string"},
    },
    "customers": {
        "required": {"customer_id": "id"},
        "optional": {
            "signup_date": "date",
            "acquisition_cost": "number",
            "contract_end": "date",
        },
    },
    "surveys": {
        "required": {"customer_id": "id", "date": "date", "score": "score"},
        "optional": {"comment": "string"},
    },
    "feedback": {
        "required": {"customer_id": "id", "date": "date", "text": "text"},
        "optional": {"channel": "string", "topic": "string"},
    },
    "experiments": {
        "required": {"customer_id": "id", "group": "text", "start": "date"},
        "optional": {"experiment": "string", "end": "date"},
    },
}

#: Columns of :func:`quality_report`.
QUALITY_COLUMNS = ["table", "source", "rows_read", "rows_kept", "rows_set_aside", "reason"]

#: ``reason`` of a table's quality row when no row was set aside.
NO_REASON = "none"

#: Tables with more rows than this return their text columns (``customer_id`` included) as
#: pyarrow-backed strings (``pd.StringDtype("pyarrow")``) instead of Python ``object`` strings:
#: ten million Python strings per column would cost gigabytes. Set it to 0 to always get
#: compact strings, or to ``float("inf")`` to never get them.
LARGE_TABLE_ROWS = 2_000_000

_COMPACT_TEXT = pd.StringDtype("pyarrow")
_ARROW_STRINGS = {pa.string(): _COMPACT_TEXT, pa.large_string(): _COMPACT_TEXT}

_LINE_ITEM = ("quantity", "unit_price")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_NUMERIC_TYPES = re.compile(
    r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$", re.IGNORECASE
)
_FLOAT_TYPES = re.compile(r"^(FLOAT|DOUBLE|REAL|DECIMAL.*)$", re.IGNORECASE)
_TEMPORAL_TYPES = re.compile(r"^(DATE|TIMESTAMP.*)$", re.IGNORECASE)
# Day/month/year or month/day/year, e.g. 3/2/2024, 03.02.24, 13-02-2024.
_DMY = r"^(\d{1,2})([./-])(\d{1,2})[./-](\d{4}|\d{2})$"
# Year range that fits datetime64[ns].
_MIN_YEAR, _MAX_YEAR = 1678, 2261


# --------------------------------------------------------------------------------------------
# public loaders


def load_transactions(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Load a transactions export as a canonical frame: one row per purchase or refund.

    Parameters
    ----------
    source : str, Path or DataFrame
        A ``.csv``/``.tsv``/``.txt`` file (optionally ``.gz``; delimiter ``,`` ``;`` tab or ``|``
        detected from the header), a ``.parquet`` or ``.xlsx`` file (first sheet), or a
        DataFrame (never modified).
    columns : mapping, optional
        Canonical name -> the client's column name, e.g. ``{"customer_id": "Kundennr"}``.
        Canonical names the mapping leaves out are looked up under their own name. A line-item
        export without an amount maps ``quantity`` and ``unit_price`` instead (or has columns
        of those names); the amount is then ``quantity * unit_price``.
    date_format : str, optional
        ``strftime`` format of the table's text dates (every date column), e.g.
        ``"%d/%m/%Y"``; cells that are already dates (Excel, Parquet) need none. Without it,
        ISO dates (``2024-02-03``, optionally with a time) parse; day/month dates parse only
        when some day above 12 shows which part is the day, and a column where both readings
        are possible is a :class:`~cxlib.DataError`.
    on_invalid : {"raise", "drop"}
        What to do with rows without a customer, with a missing or unparseable date or a
        missing or non-numeric amount: raise a :class:`~cxlib.DataError`, or set them aside,
        count them by reason in the quality records and warn.
    encoding : str, optional
        Text encoding of a CSV file (default UTF-8), e.g. ``"cp1251"`` or ``"latin-1"``.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``date`` (datetime64[ns]), ``amount`` (float64; negative amounts
        are refunds and are kept), then ``order_id``, ``category``, ``channel`` when present,
        then the client's other columns. ``attrs["quality"]`` holds the data-quality records
        (see :func:`quality_report`). The index is a fresh ``RangeIndex``. Text columns are
        Python strings (``object``), or pyarrow-backed strings (``string[pyarrow]``) when
        more than :data:`LARGE_TABLE_ROWS` rows are kept.

    Raises
    ------
    DataError
        Naming the file (or ``DataFrame``), the column (the client's name and the canonical
        one) and up to five offending values with their row numbers. Row numbers are line
        numbers as an editor or spreadsheet shows them: the header is line 1, so the first
        data row is row 2 (blank lines, which are skipped, and line breaks inside quoted
        values shift them). Parquet rows count from 1; DataFrame rows are index labels.

    Examples
    --------
    >>> raw = pd.DataFrame({"client": ["A", "A", "B"],
    ...                     "day": ["03/02/2024", "15/02/2024", "01/03/2024"],
    ...                     "total": [10.0, -2.5, 7.0]})
    >>> tx = load_transactions(raw, columns={"customer_id": "client", "date": "day",
    ...                                      "amount": "total"}, date_format="%d/%m/%Y")
    >>> tx
      customer_id       date  amount
    0           A 2024-02-03    10.0
    1           A 2024-02-15    -2.5
    2           B 2024-03-01     7.0
    """
    return _load(
        "transactions",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        caller="load_transactions",
    )


def load_customers(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Load a customer table as a canonical frame: one row per customer.

    ``customer_id`` must be present and unique: a missing or repeated id is an offending row
    (with ``on_invalid="drop"`` the first row of a repeated id is kept and later ones are set
    aside). ``signup_date`` and ``contract_end`` (dates, may be empty) and
    ``acquisition_cost`` (a number, may be empty) are parsed when present; every other column
    is an attribute and is kept (CSV columns whose every value is a number become numeric).
    Parameters, row numbers and errors are as in :func:`load_transactions`.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), the optional canonical columns present, then the attributes.

    Examples
    --------
    >>> load_customers(pd.DataFrame({"id": [7, 8], "region": ["north", "south"]}),
    ...                columns={"customer_id": "id"})
      customer_id region
    0           7  north
    1           8  south
    """
    return _load(
        "customers",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        caller="load_customers",
    )


def load_surveys(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Load NPS survey answers as a canonical frame: one row per answer.

    ``score`` must be an integer from 0 to 10 (``4.5``, ``11``, ``-1`` and ``"ten"`` are
    offending values). Parameters, row numbers and errors are as in :func:`load_transactions`.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``date`` (datetime64[ns]), ``score`` (int64), then ``comment``
        when present, then the client's other columns.

    Examples
    --------
    >>> load_surveys(pd.DataFrame({"customer_id": ["A"], "date": ["2024-05-01"],
    ...                            "score": ["9"]}))
      customer_id       date  score
    0           A 2024-05-01      9
    """
    return _load(
        "surveys",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        caller="load_surveys",
    )


def load_feedback(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
) -> pd.DataFrame:
    """Load complaint and feedback texts as a canonical frame: one row per message.

    A row with an empty ``text`` is an offending row. Parameters, row numbers and errors are
    as in :func:`load_transactions`.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``date`` (datetime64[ns]), ``text`` (str), then ``channel`` and
        ``topic`` when present, then the client's other columns.

    Examples
    --------
    >>> load_feedback(pd.DataFrame({"customer_id": ["A"], "date": ["2024-05-01"],
    ...                             "text": ["Parcel came late"]}))
      customer_id       date              text
    0           A 2024-05-01  Parcel came late
    """
    return _load(
        "feedback",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        caller="load_feedback",
    )


def load_experiments(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
    data_end: Any = None,
    groups: Any = None,
) -> pd.DataFrame:
    """Load experiment assignments as a canonical frame: one row per customer and experiment.

    ``group`` is ``"control"`` or a treatment name; ``start`` the day the customer's action
    started (the same for a whole experiment, or per customer); the optional ``end`` the last
    day to measure; ``experiment`` names the test (a table without it holds one experiment,
    named ``"experiment"``). Rows are then checked together
    (:func:`cxlib.experiments.validate_assignments`): an unknown group (a spelling of
    ``control`` other than ``"control"``, or a group outside ``groups``), an experiment
    without a control or treatment group, a customer in two groups of one experiment, or a
    start or end after ``data_end`` (the last transaction date) is a
    :class:`~cxlib.DataError` naming the rows, whatever ``on_invalid`` says (no row can be
    chosen over another). Other parameters, row numbers and errors are as in
    :func:`load_transactions`.

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``group`` (str), ``start`` (datetime64[ns]), ``experiment``
        (str), then ``end`` when present, then the client's other columns.

    Examples
    --------
    >>> load_experiments(pd.DataFrame({"customer_id": ["A", "B"], "group": ["control", "sms"],
    ...                                "start": ["2025-03-01", "2025-03-01"]}))
      customer_id    group      start  experiment
    0           A  control 2025-03-01  experiment
    1           B      sms 2025-03-01  experiment
    """
    from cxlib.experiments import validate_assignments

    frame = _load("experiments", source, columns=columns, date_format=date_format,
                  on_invalid=on_invalid, encoding=encoding, caller="load_experiments")
    if "experiment" not in frame.columns:
        frame.insert(3, "experiment", "experiment")
    labels = frame.index
    if frame.attrs["quality"][0]["rows_read"] == len(frame):  # else: rows of the loaded table
        if isinstance(source, pd.DataFrame):
            labels = source.index
        else:
            offset = 1 if _file_kind([s.lower() for s in Path(source).suffixes[-2:]]) == (
                "parquet") else 2
            labels = pd.RangeIndex(offset, offset + len(frame))
    name = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    validate_assignments(frame.set_axis(labels), data_end=data_end, groups=groups,
                         source=f"load_experiments ({name})")
    return frame


def quality_report(*frames: pd.DataFrame) -> pd.DataFrame:
    """Tabulate the data-quality records of loaded frames: rows read, kept, set aside and why.

    Parameters
    ----------
    *frames : DataFrame
        Frames returned by :func:`load_transactions`, :func:`load_customers`,
        :func:`load_surveys` or :func:`load_feedback` (their ``attrs["quality"]`` records).

    Returns
    -------
    DataFrame
        One row per table and reason, columns ``table``, ``source`` (file name or
        ``"DataFrame"``), ``rows_read``, ``rows_kept``, ``rows_set_aside`` (for that reason)
        and ``reason`` (``"none"`` when nothing was set aside).

    Examples
    --------
    >>> import warnings
    >>> raw = pd.DataFrame({"customer_id": ["A", None], "date": ["2024-01-02", "2024-01-03"],
    ...                     "amount": [5.0, 6.0]})
    >>> with warnings.catch_warnings(record=True):  # "set aside 1 of 2 rows: ..."
    ...     tx = load_transactions(raw, on_invalid="drop")
    >>> quality_report(tx).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'table': 'transactions', 'source': 'DataFrame', 'rows_read': 2, 'rows_kept': 1,
     'rows_set_aside': 1, 'reason': 'missing customer_id'}
    """
    records: list[dict[str, Any]] = []
    for position, frame in enumerate(frames):
        quality = getattr(frame, "attrs", {}).get("quality")
        if quality is None:
            raise ValueError(
                "The frames passed to quality_report must be returned by the cxlib.data loaders "
                f"(with attrs['quality']). Got a frame without it at position {position} instead."
            )
        records.extend(dict(record) for record in quality)
    report = pd.DataFrame.from_records(records, columns=QUALITY_COLUMNS)
    for column in ("rows_read", "rows_kept", "rows_set_aside"):
        report[column] = report[column].astype("int64")
    return report


# --------------------------------------------------------------------------------------------
# implementation


@dataclass
class _Check:
    """One canonical column to parse and check."""

    canonical: str
    client: str
    kind: str
    required: bool


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parameter_error(caller: str, name: str, must: str, got: Any) -> ValueError:
    return ValueError(f"The {name!r} parameter of {caller} must be {must}. Got {got!r} instead.")


def _load(
    table: str,
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None,
    date_format: str | None,
    on_invalid: str,
    encoding: str | None,
    caller: str,
) -> pd.DataFrame:
    if on_invalid not in ("raise", "drop"):
        raise _parameter_error(caller, "on_invalid", '"raise" or "drop"', on_invalid)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise _parameter_error(caller, "date_format", 'a strftime format such as "%d/%m/%Y"',
                               date_format)
    columns = _check_columns_parameter(table, columns, caller)
    name = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        with tempfile.TemporaryDirectory(prefix="cxlib-") as scratch:
            # Spill files (if any) go to the scratch folder, never to the working directory.
            con.execute(f"SET temp_directory = {_literal(scratch)}")
            src = _open_source(con, source, encoding=encoding, caller=caller, scratch=scratch)
            return _load_checked(con, src, table, columns, date_format, on_invalid, caller)
    except duckdb.Error as exc:
        message = str(exc)
        if "unicode" in message.lower():
            line = re.search(r"Line: (\d+)", message)
            raise _decoding_error(
                caller, name, _codec(encoding, caller), int(line.group(1)) if line else None,
                "invalid byte sequence",
            ) from None
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        first = "; ".join(lines[:3]) if lines else type(exc).__name__
        raise DataError(f"{caller} ({name}): could not read the file: {first}") from None
    except UnicodeDecodeError as exc:
        raise _decoding_error(caller, name, exc.encoding, None,
                              f"{exc.reason} at byte {exc.start}") from None
    finally:
        con.close()


def _check_columns_parameter(
    table: str, columns: Mapping[str, str] | None, caller: str
) -> dict[str, str]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise _parameter_error(caller, "columns", "a mapping of canonical name -> column name",
                               columns)
    schema = SCHEMAS[table]
    known = [*schema["required"], *schema["optional"]]
    if table == "transactions":
        known += list(_LINE_ITEM)
    unknown = [key for key in columns if key not in known]
    if unknown:
        raise DataError(
            f"{caller}: unknown canonical name(s) {unknown} in columns; "
            f"the {table} table knows {known} (keys are cxlib's names, values the client's)"
        )
    bad_values = {key: value for key, value in columns.items() if not isinstance(value, str)}
    if bad_values:
        raise _parameter_error(caller, "columns", "a mapping of canonical name -> column name "
                               "(strings)", bad_values)
    return dict(columns)


# ---- reading


def _open_source(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | pd.DataFrame,
    *,
    encoding: str | None,
    caller: str,
    scratch: str,
) -> _Source:
    if isinstance(source, pd.DataFrame):
        return _Source(name="DataFrame", short_name="DataFrame", row_offset=0, frame=source,
                       row_labels=source.index)
    if not isinstance(source, str | Path):
        raise _parameter_error(caller, "source", "a file path or a DataFrame", source)
    path = Path(source)
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    kind = _file_kind(suffixes)
    if kind is None:
        raise _parameter_error(
            caller, "source",
            "a .csv, .csv.gz, .tsv, .txt, .parquet or .xlsx file, or a DataFrame", str(source),
        )
    if not path.is_file():
        raise DataError(f"{caller}: file {path} does not exist")
    name = str(path)
    if kind == "parquet":
        con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({_literal(str(path))})")
        return _Source(name=name, short_name=path.name, row_offset=1)
    if kind == "excel":
        try:
            frame = pd.read_excel(path)
        except (ValueError, OSError, KeyError) as exc:
            raise DataError(f"{caller} ({name}): could not read the Excel file: {exc}") from exc
        return _Source(name=name, short_name=path.name, row_offset=2, frame=frame)
    # text: CSV, TSV, TXT, maybe gzipped
    gzipped = suffixes[-1] == ".gz"
    codec = _codec(encoding, caller)
    header = _sniff_header(path, gzipped=gzipped, codec=codec, caller=caller)
    delimiter = _detect_delimiter(header, tab_default=".tsv" in suffixes)
    if codec not in ("utf-8", "utf-8-sig"):
        path = _transcode(path, gzipped=gzipped, codec=codec, scratch=scratch)
        gzipped = False
    names = [
        field.strip() or f"column{i}"
        for i, field in enumerate(next(csv.reader([header], delimiter=delimiter)))
    ]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"{caller} ({name}): duplicate column(s) {duplicated}; got {names}")
    # Everything is given, so DuckDB does not sniff (which would read the file again).
    types = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    options = (
        f"auto_detect=false, header=true, columns={{{types}}}, delim={_literal(delimiter)}, "
        f"quote='\"', escape='\"', comment='', "
        f"compression={_literal('gzip' if gzipped else 'none')}"
    )
    con.execute(f"CREATE VIEW src AS SELECT * FROM read_csv({_literal(str(path))}, {options})")
    return _Source(name=name, short_name=Path(source).name, row_offset=2, text_file=True)


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
        raise _parameter_error(caller, "encoding", "a Python codec name such as 'utf-8', "
                               "'cp1251' or 'latin-1'", encoding) from None


def _open_binary(path: Path, gzipped: bool):
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _decoding_error(caller: str, name: str, codec: str, line: int | None, detail: str) -> DataError:
    where = f" (line {line})" if line is not None else ""
    other = "encoding='cp1251' or encoding='latin-1'" if codec.startswith("utf") else (
        "another encoding")
    return DataError(
        f"{caller} ({name}): the file is not valid {codec}{where}: {detail}. "
        f"Pass the file's encoding, e.g. {other} for exports from Windows or Excel."
    )


def _sniff_header(path: Path, *, gzipped: bool, codec: str, caller: str) -> str:
    try:
        with _open_binary(path, gzipped) as handle:
            head = handle.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(f"{caller} ({path}): could not read the file: {exc}") from exc
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = decoder.decode(head, final=len(head) < _SNIFF_BYTES)
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
        _open_binary(path, gzipped) as raw,
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
            arrays[name] = pa.array(series.to_numpy(dtype="datetime64[ns]"),
                                    mask=series.isna().to_numpy())
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            arrays[name] = pa.array(series.to_numpy(dtype="datetime64[ns]"),
                                    mask=series.isna().to_numpy())
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


def _resolve_columns(
    src: _Source,
    available: list[str],
    table: str,
    columns: dict[str, str],
    caller: str,
) -> list[_Check]:
    schema = SCHEMAS[table]
    required = dict(schema["required"])
    if table == "transactions":
        mapped_line_items = [key for key in _LINE_ITEM if key in columns]
        if "amount" in columns and mapped_line_items:
            raise DataError(
                f"{caller}: columns maps both 'amount' and {mapped_line_items}; map either "
                "'amount' or both 'quantity' and 'unit_price'"
            )
        if len(mapped_line_items) == 1:
            raise DataError(
                f"{caller}: columns maps {mapped_line_items[0]!r} alone; the amount of a line "
                "item needs both 'quantity' and 'unit_price'"
            )
        amount_present = columns.get("amount", "amount") in available
        line_items_present = all(columns.get(k, k) in available for k in _LINE_ITEM)
        if mapped_line_items or (not amount_present and line_items_present):
            del required["amount"]
            required.update({"quantity": "number", "unit_price": "number"})

    missing = [name for name in required if columns.get(name, name) not in available]
    if missing:
        lines = []
        for name in missing:
            wanted = columns.get(name, name)
            close = difflib.get_close_matches(wanted, available, n=1, cutoff=0.6)
            hint = f" (closest: {close[0]!r})" if close else ""
            lines.append(f"{name!r} (looked for column {wanted!r}){hint}")
        also = " (or 'quantity' and 'unit_price')" if "amount" in missing else ""
        example = ", ".join(f"{name!r}: '<column>'" for name in missing)
        raise DataError(
            f"{caller} ({src.name}): missing column(s) {', '.join(lines)}{also}; the file has "
            f"{available}. Map the client's names with columns={{{example}}}."
        )
    checks = [_Check(name, columns.get(name, name), kind, True) for name, kind in required.items()]
    for name, kind in schema["optional"].items():
        client = columns.get(name, name)
        if client in available:
            checks.append(_Check(name, client, kind, False))
        elif name in columns:
            raise DataError(
                f"{caller} ({src.name}): columns maps {name!r} to {client!r}, which the file "
                f"does not have; the file has {available}"
            )
    return checks


def _date_format(
    con: duckdb.DuckDBPyConnection, check: _Check, src: _Source, caller: str
) -> str | None:
    """Infer the format of a text date column: ISO (None) or unambiguous day/month order."""
    text = f"NULLIF(trim({_quote(check.client)}), '')"
    stats = con.execute(
        f"""
        SELECT count(TRY_CAST({text} AS TIMESTAMP)) AS iso,
               count_if(regexp_matches({text}, '{_DMY}')) AS dmy,
               max(TRY_CAST(regexp_extract({text}, '{_DMY}', 1) AS INTEGER)) AS first,
               max(TRY_CAST(regexp_extract({text}, '{_DMY}', 3) AS INTEGER)) AS second,
               arg_min(regexp_extract({text}, '{_DMY}', 2), {text})
                   FILTER (WHERE regexp_matches({text}, '{_DMY}')) AS separator,
               max(length(regexp_extract({text}, '{_DMY}', 4))) AS year_digits,
               arg_min({text}, {text}) FILTER (WHERE regexp_matches({text}, '{_DMY}'))
                   AS example
        FROM src
        """
    ).fetchall()[0]
    iso, dmy, first, second, separator, year_digits, example = stats
    if dmy == 0 or iso >= dmy:
        return None
    year = "%Y" if year_digits == 4 else "%y"
    day_first = f"%d{separator}%m{separator}{year}"
    month_first = f"%m{separator}%d{separator}{year}"
    where = f"{caller} ({src.name}): column {check.client!r} (canonical {check.canonical!r})"
    if first <= 12 and second <= 12:
        raise DataError(
            f"{where} has ambiguous dates such as {example!r}: no day is above 12, so each "
            f"date reads both as day/month and as month/day. Pass date_format={day_first!r} "
            f"or date_format={month_first!r} to say which."
        )
    if first > 12 and second > 12:
        raise DataError(
            f"{where} mixes day/month and month/day dates (both parts go above 12). "
            f"Fix the export, or pass date_format={day_first!r} or date_format={month_first!r}; "
            f"dates that do not fit the format are then reported."
        )
    return day_first if first > 12 else month_first


def _expressions(
    check: _Check,
    dtype: str,
    date_format: str | None,
) -> tuple[str, str, str]:
    """Build the SQL for (parsed value, 'missing' flag, 'bad' flag) of one canonical column."""
    q = _quote(check.client)
    text = f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"
    if _FLOAT_TYPES.match(dtype):  # 1001.0 -> '1001' (ids, yyyymmdd dates from Excel/pandas)
        text = (f"CASE WHEN isfinite({q}) AND {q} = trunc({q}) AND abs({q}) < 1e18 "
                f"THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) ELSE CAST({q} AS VARCHAR) END")
    numeric = bool(_NUMERIC_TYPES.match(dtype))
    temporal = bool(_TEMPORAL_TYPES.match(dtype))
    false = "false"
    if check.kind == "id":
        return text, f"({text}) IS NULL", false
    if check.kind == "date":
        if temporal:
            parsed = f"CAST({q} AS TIMESTAMP)"
        else:
            if date_format is None:
                parsed = f"TRY_CAST({text} AS TIMESTAMP)"
            else:
                parsed = f"try_strptime({text}, {_literal(date_format)})"
        value = (f"CASE WHEN year({parsed}) BETWEEN {_MIN_YEAR} AND {_MAX_YEAR} "
                 f"THEN {parsed} END")
        source_missing = f"({q}) IS NULL" if temporal else f"({text}) IS NULL"
        return value, source_missing, f"(NOT ({source_missing}) AND ({value}) IS NULL)"
    if check.kind in ("number", "score"):
        if numeric:
            value = f"CAST({q} AS DOUBLE)"
            source_missing = f"({q}) IS NULL"
        else:
            value = f"TRY_CAST({text} AS DOUBLE)"
            source_missing = f"({text}) IS NULL"
        bad = f"(NOT ({source_missing}) AND (({value}) IS NULL OR NOT isfinite({value})))"
        if check.kind == "score":
            bad = (f"({bad} OR ({value}) <> round({value}) OR ({value}) < 0 "
                   f"OR ({value}) > 10)")
        return value, source_missing, bad
    if check.kind == "text":
        return f"CAST({q} AS VARCHAR)", f"({text}) IS NULL", false
    return f"CAST({q} AS VARCHAR)", false, false  # kind "string": kept as it is


def _reason(check: _Check, missing: bool) -> str:
    if missing:
        return f"missing {check.canonical}"
    return {
        "date": f"unparseable {check.canonical}",
        "number": f"non-numeric {check.canonical}",
        "score": "score not an integer 0-10",
    }[check.kind]


def _extra_types(con: duckdb.DuckDBPyConnection, extras: list[str]) -> dict[str, str]:
    """Numeric type of text extra columns whose every value is a number (else VARCHAR)."""
    if not extras:
        return {}
    parts = []
    for i, name in enumerate(extras):
        text = f"NULLIF(trim({_quote(name)}), '')"
        parts.append(
            f"count({text}) AS n{i}, "
            f"count_if(regexp_matches({text}, '^[+-]?[0-9]{{1,18}}$')) AS i{i}, "
            f"count(TRY_CAST({text} AS DOUBLE)) AS d{i}, "
            f"count_if(regexp_matches({text}, '^[+-]?0[0-9]')) AS z{i}"
        )
    row = con.execute(f"SELECT {', '.join(parts)} FROM src").fetchall()[0]
    types = {}
    for i, name in enumerate(extras):
        n, n_int, n_float, leading_zero = row[4 * i : 4 * i + 4]
        if n == 0 or leading_zero:
            types[name] = "VARCHAR"
        elif n_int == n:
            types[name] = "BIGINT"
        elif n_float == n:
            types[name] = "DOUBLE"
        else:
            types[name] = "VARCHAR"
    return types


def _load_checked(
    con: duckdb.DuckDBPyConnection,
    src: _Source,
    table: str,
    columns: dict[str, str],
    date_format: str | None,
    on_invalid: str,
    caller: str,
) -> pd.DataFrame:
    file_types: dict[str, str] = {}
    if src.frame is not None:
        available = [str(c) for c in src.frame.columns]
    else:
        file_types = _relation_types(con)
        available = list(file_types)
    duplicated = sorted({c for c in available if available.count(c) > 1})
    if duplicated:
        raise DataError(f"{caller} ({src.name}): duplicate column(s) {duplicated}; "
                        f"got {available}")
    checks = _resolve_columns(src, available, table, columns, caller)
    used = {check.client for check in checks}
    if src.frame is not None:
        frame = src.frame.copy(deep=False)
        frame.columns = available
        _register_frame(con, frame, sorted(used, key=available.index))
        types = _relation_types(con)
    else:
        types = file_types
    extras = [name for name in available if name not in used]
    extra_types: dict[str, str] = {}
    if src.text_file:
        extra_types = _extra_types(con, extras)

    def run(formats: dict[str, str | None]) -> pa.Table:
        select = []
        for i, check in enumerate(checks):
            value, missing, bad = _expressions(
                check, types[check.client], formats.get(check.canonical)
            )
            raw = f"CAST({_quote(check.client)} AS VARCHAR)"
            select += [
                f"{value} AS v{i}",
                f"coalesce({missing}, false) AS m{i}",
                f"coalesce({bad}, false) AS b{i}",
                f"CASE WHEN coalesce({missing}, false) OR coalesce({bad}, false) "
                f"THEN coalesce({raw}, '') END AS r{i}",
            ]
        if src.frame is None:
            for j, name in enumerate(extras):
                target = extra_types.get(name)
                q = _quote(name)
                if target is None or target == "VARCHAR":
                    select.append(f"{q} AS x{j}")
                else:
                    select.append(f"TRY_CAST(NULLIF(trim({q}), '') AS {target}) AS x{j}")
        reader = con.sql(f"SELECT {', '.join(select)} FROM src").arrow()
        try:
            return reader.read_all()  # streamed: DuckDB never holds the whole result
        except (OSError, pa.ArrowException) as exc:  # a DuckDB error surfacing through Arrow
            raise duckdb.InvalidInputException(str(exc)) from exc

    # Parse text dates as ISO first; only a column with failures is examined for day/month
    # order (no extra pass over a clean file).
    formats = {check.canonical: date_format for check in checks if check.kind == "date"}
    result = run(formats)
    if date_format is None:
        inferred = {}
        for i, check in enumerate(checks):
            if (
                check.kind == "date"
                and types[check.client].upper() == "VARCHAR"
                and pc.any(result.column(f"b{i}")).as_py()
            ):
                inferred_format = _date_format(con, check, src, caller)
                if inferred_format is not None:
                    inferred[check.canonical] = inferred_format
        if inferred:
            del result
            formats.update(inferred)
            result = run(formats)
    n_rows = result.num_rows

    # Which rows are set aside, and why: the first failing check in column order wins.
    reasons: list[str] = []
    code = np.zeros(n_rows, dtype=np.int16)
    offences: list[tuple[_Check, str, np.ndarray, int]] = []
    for i, check in enumerate(checks):
        for flag, is_missing in ((f"m{i}", True), (f"b{i}", False)):
            mask = result.column(flag).to_numpy(zero_copy_only=False)
            if check.kind in ("string", "text") and not is_missing:
                continue
            if not check.required and is_missing:
                continue
            if mask.any():
                reasons.append(_reason(check, is_missing))
                code[mask & (code == 0)] = len(reasons)
                offences.append((check, reasons[-1], mask, i))
    if table == "customers":
        ids = pd.Series(result.column("v0").to_numpy(zero_copy_only=False), dtype=object)
        valid = code == 0
        repeated_all = ids.duplicated(keep=False).to_numpy() & valid
        if repeated_all.any():
            # Compare only among otherwise-valid rows: keep each id's first valid row.
            later = ids[valid].duplicated(keep="first")
            repeated_later = np.zeros(n_rows, dtype=bool)
            repeated_later[np.flatnonzero(valid)[later.to_numpy()]] = True
            reasons.append("duplicate customer_id")
            code[repeated_later] = len(reasons)
            offences.append((checks[0], reasons[-1], repeated_all, 0))

    if offences and on_invalid == "raise":
        check, reason, mask, i = offences[0]
        raise _offence_error(src, caller, check, reason, mask, result.column(f"v{i}")
                             if reason == "duplicate customer_id" else result.column(f"r{i}"))

    keep = code == 0
    n_kept = int(keep.sum())
    value_names = [f"v{i}" for i in range(len(checks))]
    extra_names = [f"x{j}" for j in range(len(extras))] if src.frame is None else []
    out_table = result.select(value_names + extra_names)
    del result
    if n_kept < n_rows:
        out_table = out_table.filter(pa.array(keep))
    compact = n_kept > LARGE_TABLE_ROWS
    out = out_table.to_pandas(
        coerce_temporal_nanoseconds=True,
        split_blocks=True,
        self_destruct=True,
        types_mapper=_ARROW_STRINGS.get if compact else None,
    )
    del out_table
    out.columns = [check.canonical for check in checks] + (
        extras if src.frame is None else []
    )
    out = _finish(out, checks, table, text_dtype=_COMPACT_TEXT if compact else object)
    if src.frame is not None and extras:
        rest = src.frame.iloc[np.flatnonzero(keep)]
        rest = rest.set_axis(available, axis=1)[extras].reset_index(drop=True)
        out = pd.concat([out, rest], axis=1)
    out = _rename_clashes(out, checks)

    set_aside = {reason: int((code == k + 1).sum()) for k, reason in enumerate(reasons)}
    set_aside = {reason: n for reason, n in set_aside.items() if n}
    records = [
        {
            "table": table,
            "source": src.short_name,
            "rows_read": n_rows,
            "rows_kept": n_kept,
            "rows_set_aside": n,
            "reason": reason,
        }
        for reason, n in (set_aside.items() if set_aside else [(NO_REASON, 0)])
    ]
    out.attrs["quality"] = records
    if set_aside:
        detail = ", ".join(f"{n:,} {reason}" for reason, n in set_aside.items())
        warnings.warn(
            f"{caller} ({src.name}): set aside {n_rows - n_kept:,} of {n_rows:,} rows: {detail}",
            stacklevel=4,
        )
    return out


def _offence_error(
    src: _Source, caller: str, check: _Check, reason: str, mask: np.ndarray, raw: pa.ChunkedArray
) -> DataError:
    positions = np.flatnonzero(mask)
    shown = positions[:5]
    values = [raw[int(p)].as_py() for p in shown]
    values = ["" if v is None else v for v in values]
    offenders = format_offenders(pd.Series(values, index=src.labels(shown), dtype=object))
    if len(positions) > 5:
        offenders += f" (and {len(positions) - 5:,} more)"
    hints = {
        "date": " Pass date_format (e.g. date_format='%d/%m/%Y') if the dates use another format,"
        " or on_invalid='drop' to set these rows aside.",
        "id": " Pass on_invalid='drop' to set these rows aside (e.g. guest checkouts).",
    }
    hint = hints.get(check.kind, " Fix the export, or pass on_invalid='drop' to set these rows "
                                 "aside.")
    if reason == "duplicate customer_id":
        hint = " Each customer needs one row; pass on_invalid='drop' to keep the first."
    if check.kind == "number" and any(
        isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", v) for v in values
    ):
        hint = (" The values look like decimal commas ('12,50'): export the file with '.' as "
                "the decimal separator." + hint)
    return DataError(
        f"{caller} ({src.name}): column {check.client!r} (canonical {check.canonical!r}): "
        f"{len(positions):,} row(s) with {reason}: {offenders}.{hint}"
    )


def _finish(
    out: pd.DataFrame, checks: list[_Check], table: str, *, text_dtype: Any
) -> pd.DataFrame:
    """Canonical dtypes; line items become ``amount``; canonical columns first."""
    for check in checks:
        column = check.canonical
        dtype = {"date": "datetime64[ns]", "number": "float64", "score": "int64"}.get(
            check.kind, text_dtype
        )
        if out[column].dtype != dtype:
            out[column] = out[column].astype(dtype)
    if table == "transactions" and "quantity" in out.columns and "amount" not in out.columns:
        amount = out["quantity"] * out["unit_price"]
        position = list(out.columns).index("quantity")
        out.insert(position, "amount", amount)
        by_client = {check.canonical: check.client for check in checks}
        out = out.rename(columns={name: by_client[name] for name in _LINE_ITEM})
    return out


def _rename_clashes(out: pd.DataFrame, checks: list[_Check]) -> pd.DataFrame:
    """Suffix a kept client column named like a canonical column that came from elsewhere."""
    names = list(out.columns)
    seen: set[str] = set()
    for k, name in enumerate(names):
        if name in seen:
            names[k] = f"{name}_unmapped"
        seen.add(names[k])
    out.columns = names
    return out
