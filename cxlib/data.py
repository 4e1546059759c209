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

The client's other columns are kept after the canonical ones. Exports are read as they are,
never as the consultant hoped: a file name is read literally (``y[12].csv`` is that file,
never a pattern); a workbook with several sheets needs ``sheet=``; ``NULL``, ``N/A``, ``nan``,
``-`` and the other :data:`NULL_MARKERS` are missing values; an id is text (``007`` stays
``007``; a float artefact ``17850.0`` loses its ``.0`` only when every id has one, so CSV,
Excel and parquet exports of one table agree), and a control character in it is an offence;
explicit UTC offsets are applied and ISO dates always parse; event dates after the export
date or before :data:`MIN_DATE` and amounts beyond :data:`MAX_ABS_AMOUNT` are offences; a
file with a header and no rows is an error.

Invalid rows either raise a
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
import datetime as dt
import difflib
import gzip
import os
import re
import tempfile
import warnings
from collections.abc import Mapping, Sequence
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
    "MAX_ABS_AMOUNT",
    "MIN_DATE",
    "NULL_MARKERS",
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

#: Columns of :func:`quality_report`. ``rows_flagged`` counts rows that were kept but that a
#: reader should know about (refund or cancellation lines, zero amounts, repeated rows).
QUALITY_COLUMNS = [
    "table",
    "source",
    "rows_read",
    "rows_kept",
    "rows_set_aside",
    "reason",
    "rows_flagged",
]

#: Cell texts that mean "no value" in exports (compared trimmed and case-insensitively): in a
#: checked column they are missing values, never a customer id called "NULL".
NULL_MARKERS = ("null", "n/a", "na", "#n/a", "none", "nan", "nat", "nil", "-", "--", "(null)")

#: Numbers (amounts, costs, prices) larger than this in magnitude are offending values: no
#: purchase is worth a trillion, and 1e308 would sum to infinity.
MAX_ABS_AMOUNT = 1e12

#: Dates before this are offending values (Excel's day 0 is 1899-12-30; 1900-01-00 artefacts).
MIN_DATE = dt.date(1900, 1, 1)

#: Event dates (not, e.g., a contract end) must not lie after the export date.
_EVENT_DATES = {"date", "signup_date"}

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
    sheet: str | int | None = None,
    exclude: Sequence[Mapping[str, Any]] | None = None,
    observation_end: Any = None,
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
        What to do with rows without a customer (or with a null marker or a control
        character as its id), with a missing, unparseable or implausible date or a missing,
        non-numeric or absurd amount: raise a :class:`~cxlib.DataError`, or set them aside,
        count them by reason in the quality records and warn. Refunds, zero amounts and rows
        identical to an earlier one are kept and counted (``rows_flagged``).
    encoding : str, optional
        Text encoding of a CSV file (default UTF-8), e.g. ``"cp1251"`` or ``"latin-1"``.
    sheet : str or int, optional
        The worksheet of an Excel workbook (name or 0-based position); required when the
        workbook has more than one sheet.
    exclude : list of mappings, optional
        Rows to set aside and count, whatever ``on_invalid`` says: non-product codes such as
        postage, bank charges or manual adjustments. Each rule names a ``column`` (the client's
        name) and ``values`` (exact values) and/or ``prefixes``, plus an optional ``reason``
        shown in the quality records, e.g. ``[{"column": "StockCode", "values": ["POST",
        "BANK CHARGES"], "reason": "non-product code"}]``.
    observation_end : date or str, optional
        The export date (default: today, UTC). Event dates after it, or before
        :data:`MIN_DATE`, are offending values; a contract end may lie in the future.

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
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
        caller="load_transactions",
    )


def load_customers(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
    sheet: str | int | None = None,
    exclude: Sequence[Mapping[str, Any]] | None = None,
    observation_end: Any = None,
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
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
        caller="load_customers",
    )


def load_surveys(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
    sheet: str | int | None = None,
    exclude: Sequence[Mapping[str, Any]] | None = None,
    observation_end: Any = None,
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
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
        caller="load_surveys",
    )


def load_feedback(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
    sheet: str | int | None = None,
    exclude: Sequence[Mapping[str, Any]] | None = None,
    observation_end: Any = None,
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
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
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

    frame = _load(
        "experiments",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        caller="load_experiments",
    )
    if "experiment" not in frame.columns:
        frame.insert(3, "experiment", "experiment")
    labels = frame.index
    if frame.attrs["quality"][0]["rows_read"] == len(frame):  # else: rows of the loaded table
        if isinstance(source, pd.DataFrame):
            labels = source.index
        else:
            offset = (
                1
                if _file_kind([s.lower() for s in Path(source).suffixes[-2:]]) == ("parquet")
                else 2
            )
            labels = pd.RangeIndex(offset, offset + len(frame))
    name = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    validate_assignments(
        frame.set_axis(labels),
        data_end=data_end,
        groups=groups,
        source=f"load_experiments ({name})",
    )
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
        ``"DataFrame"``), ``rows_read``, ``rows_kept``, ``rows_set_aside`` (for that reason),
        ``reason`` (``"none"`` when nothing was set aside) and ``rows_flagged``: rows that were
        kept but are counted for the reader under a reason starting with ``"kept:"``
        (transactions: negative amounts, i.e. refund or cancellation lines, zero amounts, and
        rows identical to an earlier one).

    Examples
    --------
    >>> import warnings
    >>> raw = pd.DataFrame({"customer_id": ["A", None], "date": ["2024-01-02", "2024-01-03"],
    ...                     "amount": [5.0, 6.0]})
    >>> with warnings.catch_warnings(record=True):  # "set aside 1 of 2 rows: ..."
    ...     tx = load_transactions(raw, on_invalid="drop")
    >>> quality_report(tx).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'table': 'transactions', 'source': 'DataFrame', 'rows_read': 2, 'rows_kept': 1,
     'rows_set_aside': 1, 'reason': 'missing customer_id', 'rows_flagged': 0}
    """
    records: list[dict[str, Any]] = []
    for position, frame in enumerate(frames):
        quality = getattr(frame, "attrs", {}).get("quality")
        if quality is None:
            raise ValueError(
                "The frames passed to quality_report must be returned by the cxlib.data loaders "
                f"(with attrs['quality']). Got a frame without it at position {position} instead."
            )
        records.extend({"rows_flagged": 0, **record} for record in quality)
    report = pd.DataFrame.from_records(records, columns=QUALITY_COLUMNS)
    for column in ("rows_read", "rows_kept", "rows_set_aside", "rows_flagged"):
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
    sheet: str | int | None = None,
    exclude: Sequence[Mapping[str, Any]] | None = None,
    observation_end: Any = None,
    caller: str,
) -> pd.DataFrame:
    if on_invalid not in ("raise", "drop"):
        raise _parameter_error(caller, "on_invalid", '"raise" or "drop"', on_invalid)
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise _parameter_error(
            caller, "date_format", 'a strftime format such as "%d/%m/%Y"', date_format
        )
    columns = _check_columns_parameter(table, columns, caller)
    rules = _check_exclude_parameter(exclude, caller)
    bounds = _date_bounds(observation_end, caller)
    if sheet is not None and not isinstance(sheet, str | int) or isinstance(sheet, bool):
        raise _parameter_error(caller, "sheet", "a sheet name or 0-based position", sheet)
    name = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        with tempfile.TemporaryDirectory(prefix="cxlib-") as scratch:
            # Spill files (if any) go to the scratch folder, never to the working directory.
            con.execute(f"SET temp_directory = {_literal(scratch)}")
            src = _open_source(
                con, source, encoding=encoding, caller=caller, scratch=scratch, sheet=sheet
            )
            return _load_checked(
                con,
                src,
                table,
                columns,
                date_format,
                on_invalid,
                caller,
                rules=rules,
                bounds=bounds,
            )
    except duckdb.Error as exc:
        message = str(exc)
        if "unicode" in message.lower():
            line = re.search(r"Line: (\d+)", message)
            raise _decoding_error(
                caller,
                name,
                _codec(encoding, caller),
                int(line.group(1)) if line else None,
                "invalid byte sequence",
            ) from None
        lines = [line.strip() for line in message.splitlines() if line.strip()]
        first = "; ".join(lines[:3]) if lines else type(exc).__name__
        raise DataError(f"{caller} ({name}): could not read the file: {first}") from None
    except UnicodeDecodeError as exc:
        raise _decoding_error(
            caller, name, exc.encoding, None, f"{exc.reason} at byte {exc.start}"
        ) from None
    finally:
        con.close()


def _check_columns_parameter(
    table: str, columns: Mapping[str, str] | None, caller: str
) -> dict[str, str]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise _parameter_error(
            caller, "columns", "a mapping of canonical name -> column name", columns
        )
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
        raise _parameter_error(
            caller, "columns", "a mapping of canonical name -> column name (strings)", bad_values
        )
    return dict(columns)


def _check_exclude_parameter(
    exclude: Sequence[Mapping[str, Any]] | None, caller: str
) -> list[dict[str, Any]]:
    """Validate the ``exclude`` rules: column, values and/or prefixes (strings), reason."""
    if exclude is None:
        return []
    must = (
        'a list of rules such as {"column": "StockCode", "values": ["POST"], '
        '"prefixes": ["C"], "reason": "non-product code"}'
    )
    if isinstance(exclude, Mapping | str) or not isinstance(exclude, Sequence):
        raise _parameter_error(caller, "exclude", must, exclude)
    rules = []
    for rule in exclude:
        if not isinstance(rule, Mapping):
            raise _parameter_error(caller, "exclude", must, exclude)
        rule = {k: v for k, v in rule.items() if v is not None}
        lists = [rule.get(key, []) for key in ("values", "prefixes")]
        if (
            set(rule) - {"column", "values", "prefixes", "reason"}
            or not isinstance(rule.get("column"), str)
            or not any(lists)
            or not all(
                isinstance(v, list | tuple) and all(isinstance(x, str) for x in v) for v in lists
            )
        ):
            raise _parameter_error(caller, "exclude", must, exclude)
        if "reason" not in rule:
            shown = [*rule.get("values", []), *(f"{p}…" for p in rule.get("prefixes", []))]
            rule["reason"] = f"{rule['column']} in {shown}"
        rules.append(rule)
    return rules


def _date_bounds(observation_end: Any, caller: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) plausible event timestamp: MIN_DATE and the end of the export date."""
    if observation_end is None:
        end = pd.Timestamp(dt.datetime.now(dt.UTC).date())
    else:
        try:
            end = pd.Timestamp(observation_end)
        except (TypeError, ValueError):
            end = pd.NaT
        if end is pd.NaT or isinstance(observation_end, bool | int | float):
            raise _parameter_error(
                caller, "observation_end", "a date such as '2024-12-31'", observation_end
            )
        if end.tzinfo is not None:
            end = end.tz_convert("UTC").tz_localize(None)
    return pd.Timestamp(MIN_DATE), end.normalize() + pd.Timedelta(days=1)


# ---- reading


def _open_source(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | pd.DataFrame,
    *,
    encoding: str | None,
    caller: str,
    scratch: str,
    sheet: str | int | None = None,
) -> _Source:
    if isinstance(source, pd.DataFrame):
        return _Source(
            name="DataFrame",
            short_name="DataFrame",
            row_offset=0,
            frame=source,
            row_labels=source.index,
        )
    if not isinstance(source, str | Path):
        raise _parameter_error(caller, "source", "a file path or a DataFrame", source)
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
        frame = _read_excel(path, sheet, caller)
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
    header = _sniff_header(path, gzipped=gzipped, codec=codec, caller=caller)
    delimiter = _detect_delimiter(header, tab_default=".tsv" in suffixes)
    if codec not in ("utf-8", "utf-8-sig"):
        read_path = _transcode(path, gzipped=gzipped, codec=codec, scratch=scratch)
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
                    "say which one to read with sheet= (a table's `sheet:` in the config)"
                )
            if isinstance(sheet, str) and sheet not in names:
                raise DataError(f"{caller} ({path}): no sheet {sheet!r}; the workbook has {names}")
            if isinstance(sheet, int) and not 0 <= sheet < len(names):
                raise DataError(
                    f"{caller} ({path}): no sheet {sheet} (0-based); the workbook "
                    f"has {len(names)}: {names}"
                )
            # dtype=object: pandas would otherwise turn the text cell "007" into the number 7.
            frame = book.parse(0 if sheet is None else sheet, dtype=object)
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
        raise _parameter_error(
            caller,
            "encoding",
            "a Python codec name such as 'utf-8', 'cp1251' or 'latin-1'",
            encoding,
        ) from None


def _open_binary(path: Path, gzipped: bool):
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _decoding_error(caller: str, name: str, codec: str, line: int | None, detail: str) -> DataError:
    where = f" (line {line})" if line is not None else ""
    other = (
        "encoding='cp1251' or encoding='latin-1'"
        if codec.startswith("utf")
        else ("another encoding")
    )
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
    con: duckdb.DuckDBPyConnection,
    check: _Check,
    src: _Source,
    caller: str,
    mixed: tuple[str, str] | None = None,
) -> str | None:
    """Infer the format of a text date column: ISO (None) or unambiguous day/month order.

    ``mixed`` is an ISO row and a failing row: a column holding both ISO and day/month/year
    dates is an error naming both formats (guessing the order for some rows would misread
    ``05/01`` as May 1 or January 5 without a word).
    """
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
    if dmy == 0:
        return None
    year = "%Y" if year_digits == 4 else "%y"
    day_first = f"%d{separator}%m{separator}{year}"
    month_first = f"%m{separator}%d{separator}{year}"
    where = f"{caller} ({src.name}): column {check.client!r} (canonical {check.canonical!r})"
    if iso and mixed is not None:
        raise DataError(
            f"{where} mixes date formats: {iso:,} ISO date(s) ({mixed[0]}) and {dmy:,} "
            f"day/month/year or month/day/year date(s) ({mixed[1]}). Pass "
            f"date_format={day_first!r} or date_format={month_first!r} for the others "
            "(ISO dates always parse)."
        )
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


@dataclass
class _Sql:
    """The SQL of one canonical column in stages, so each expression is computed once.

    ``text`` (from the source column, aliased ``t{i}``; the source column itself is ``c{i}``),
    ``parsed`` (from those, aliased ``p{i}``), ``value`` (from ``p{i}``, aliased ``v{i}``),
    then the flags (from all of them).
    """

    text: str
    parsed: str
    value: str
    missing: str
    bad: str
    out_of_range: str


def _not_a_null_marker(trimmed: str) -> str:
    """Return SQL for ``trimmed``, or NULL when it is empty or one of :data:`NULL_MARKERS`."""
    markers = ", ".join(_literal(m) for m in NULL_MARKERS)
    longest = max(len(m) for m in NULL_MARKERS)
    # The length test first: lower() runs only on the few short values.
    return (
        f"CASE WHEN length({trimmed}) <= {longest} AND lower({trimmed}) IN ({markers}) "
        f"THEN NULL ELSE NULLIF({trimmed}, '') END"
    )


def _expressions(
    check: _Check,
    dtype: str,
    date_format: str | None,
    i: int,
    *,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    zero_fraction_ids: bool = False,
) -> _Sql:
    """Build the SQL for (text, parsed value, 'missing', 'bad', 'out of range') of column i."""
    t, c, v = f"t{i}", f"c{i}", f"v{i}"
    text = _not_a_null_marker(f"s{i}")  # s{i}: the trimmed text of the source column
    numeric = bool(_NUMERIC_TYPES.match(dtype))
    temporal = bool(_TEMPORAL_TYPES.match(dtype))
    if _FLOAT_TYPES.match(dtype):  # 1001.0 -> '1001' (yyyymmdd dates from Excel/pandas)
        text = (
            f"CASE WHEN isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e18 "
            f"THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
        )
    false = "false"
    if check.kind == "id":
        if _FLOAT_TYPES.match(dtype) and not zero_fraction_ids:
            text = f"CAST({c} AS VARCHAR)"  # 1.5 and 2.0 stay as they are
        elif zero_fraction_ids and not numeric:  # every id is '17850.0': the export's artefact
            text = f"regexp_replace({text}, '\\.0+$', '')"
        control = f"regexp_matches({t}, '[\\x00-\\x1f\\x7f]')"
        return _Sql(text, t, f"p{i}", f"{t} IS NULL", control, false)
    if check.kind == "date":
        if temporal:
            parsed = f"CAST({c} AS TIMESTAMP)"
        else:
            # An explicit UTC offset is applied (the session's time zone is UTC); ISO dates
            # parse whatever date_format says.
            # The slower time-zone-aware cast only where something follows the time that
            # could be an offset or a zone name; "yyyy-" first, so 2024/02/29 stays unparsed.
            zone = "'[+Zz]|-|[A-Za-z]{2}'"
            iso = (
                f"CASE WHEN substr({t}, 5, 1) <> '-' THEN NULL "
                f"WHEN length({t}) > 10 AND regexp_matches(substr({t}, 11), {zone}) "
                f"THEN CAST(TRY_CAST({t} AS TIMESTAMPTZ) AS TIMESTAMP) "
                f"ELSE TRY_CAST({t} AS TIMESTAMP) END"
            )
            if date_format is None:
                parsed = iso
            else:
                parsed = (
                    f"coalesce(CAST(try_strptime({t}, {_literal(date_format)}) "
                    f"AS TIMESTAMP), {iso})"
                )
        value = f"CASE WHEN year(p{i}) BETWEEN {_MIN_YEAR} AND {_MAX_YEAR} THEN p{i} END"
        source_missing = f"{c} IS NULL" if temporal else f"{t} IS NULL"
        bad = f"(NOT ({source_missing}) AND {v} IS NULL)"
        out_of_range = false
        if bounds is not None:
            earliest, latest = (_literal(str(b)) for b in bounds)
            out_of_range = f"{v} < TIMESTAMP {earliest}"
            if check.canonical in _EVENT_DATES:
                out_of_range += f" OR {v} >= TIMESTAMP {latest}"
        return _Sql(text, parsed, value, source_missing, bad, out_of_range)
    if check.kind in ("number", "score"):
        if numeric:
            value = f"CAST({c} AS DOUBLE)"
            source_missing = f"{c} IS NULL"
        else:
            value = f"TRY_CAST({t} AS DOUBLE)"
            source_missing = f"{t} IS NULL"
        bad = f"(NOT ({source_missing}) AND ({v} IS NULL OR NOT isfinite({v})))"
        out_of_range = f"abs({v}) > {MAX_ABS_AMOUNT!r}"
        if check.kind == "score":
            bad = f"({bad} OR {v} <> round({v}) OR {v} < 0 OR {v} > 10)"
            out_of_range = false
        return _Sql(text, value, f"p{i}", source_missing, bad, out_of_range)
    if check.kind == "text":
        return _Sql(text, f"CAST({c} AS VARCHAR)", f"p{i}", f"{t} IS NULL", false, false)
    return _Sql(text, f"CAST({c} AS VARCHAR)", f"p{i}", false, false, false)  # "string"


def _reason(check: _Check, missing: bool, *, bounds=None) -> str:
    if missing:
        return f"missing {check.canonical}"
    return {
        "id": f"control character in {check.canonical}",
        "date": f"unparseable {check.canonical}",
        "number": f"non-numeric {check.canonical}",
        "score": "score not an integer 0-10",
    }[check.kind]


def _range_reason(check: _Check, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    if check.kind == "number":
        return f"{check.canonical} beyond ±{MAX_ABS_AMOUNT:.0e}"
    earliest, latest = bounds
    if check.canonical in _EVENT_DATES:
        last = (latest - pd.Timedelta(days=1)).date()
        return f"{check.canonical} before {earliest.date()} or after the export date {last}"
    return f"{check.canonical} before {earliest.date()}"


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
    *,
    rules: list[dict[str, Any]] | None = None,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    rules = rules or []
    file_types: dict[str, str] = {}
    if src.frame is not None:
        available = [str(c) for c in src.frame.columns]
    else:
        file_types = _relation_types(con)
        available = list(file_types)
    duplicated = sorted({c for c in available if available.count(c) > 1})
    if duplicated:
        raise DataError(f"{caller} ({src.name}): duplicate column(s) {duplicated}; got {available}")
    checks = _resolve_columns(src, available, table, columns, caller)
    absent = [rule["column"] for rule in rules if rule["column"] not in available]
    if absent:
        raise DataError(
            f"{caller} ({src.name}): exclude names column(s) {absent}, which the "
            f"file does not have; the file has {available}"
        )
    used = {check.client for check in checks}
    if src.frame is not None:
        frame = src.frame.copy(deep=False)
        frame.columns = available
        registered = used | {rule["column"] for rule in rules}
        _register_frame(con, frame, sorted(registered, key=available.index))
        types = _relation_types(con)
    else:
        types = file_types
    extras = [name for name in available if name not in used]
    extra_types: dict[str, str] = {}
    if src.text_file:
        extra_types = _extra_types(con, extras)
    row_hash = table == "transactions" and src.frame is None
    zero_fraction = {
        check.client: _ids_all_end_in_zero_fraction(con, check.client, types[check.client])
        for check in checks
        if check.kind == "id"
    }

    def run(formats: dict[str, str | None]) -> pa.Table:
        # Nested SELECTs so that each column's text, parsed value and flags are computed
        # once, however many later expressions read them.
        source, trimmed, inner, parse, clamp, flag, select = [], [], [], ["*"], ["*"], ["*"], []
        for i, check in enumerate(checks):
            sql = _expressions(
                check,
                types[check.client],
                formats.get(check.canonical),
                i,
                bounds=bounds,
                zero_fraction_ids=zero_fraction.get(check.client, False),
            )
            q = _quote(check.client)
            source.append(f"{q} AS c{i}")
            inner.append(f"c{i}")
            parse.append(f"{sql.parsed} AS p{i}")
            clamp.append(f"{sql.value} AS v{i}")
            if check.kind == "string":  # kept as it is: nothing to check
                select += [
                    f"v{i}",
                    f"false AS m{i}",
                    f"false AS b{i}",
                    f"false AS o{i}",
                    f"NULL::VARCHAR AS r{i}",
                ]
                continue
            trimmed.append(f"trim(CAST({q} AS VARCHAR)) AS s{i}")
            source.append(f"CAST({q} AS VARCHAR) AS raw{i}")
            inner += [f"{sql.text} AS t{i}", f"raw{i}"]
            flag += [
                f"coalesce({sql.missing}, false) AS m{i}",
                f"coalesce({sql.bad}, false) AS b{i}",
                f"coalesce({sql.out_of_range}, false) AS o{i}",
            ]
            select += [
                f"v{i}",
                f"m{i}",
                f"b{i}",
                f"o{i}",
                f"CASE WHEN m{i} OR b{i} OR o{i} THEN coalesce(raw{i}, '') END AS r{i}",
            ]
        for k, rule in enumerate(rules):
            cell = f"trim(CAST({_quote(rule['column'])} AS VARCHAR))"
            tests = (
                [f"{cell} IN ({', '.join(_literal(v) for v in rule['values'])})"]
                if rule.get("values")
                else []
            )
            tests += [f"starts_with({cell}, {_literal(p)})" for p in rule.get("prefixes", [])]
            source.append(f"coalesce({' OR '.join(tests)}, false) AS e{k}")
            inner.append(f"e{k}")
            select.append(f"e{k}")
        if src.frame is None:
            for j, name in enumerate(extras):
                target = extra_types.get(name)
                q = _quote(name)
                if target is None or target == "VARCHAR":
                    source.append(f"{q} AS x{j}")
                else:
                    source.append(f"TRY_CAST(NULLIF(trim({q}), '') AS {target}) AS x{j}")
                inner.append(f"x{j}")
                select.append(f"x{j}")
        if row_hash:  # identical rows, counted without a pandas pass over every column
            source.append(f"hash({', '.join(_quote(name) for name in available)}) AS h")
            inner.append("h")
            select.append("h")
        source += trimmed
        query = f"SELECT {', '.join(source)} FROM src"
        for stage in (inner, parse, clamp, flag, select):
            query = f"SELECT {', '.join(stage)} FROM ({query})"
        reader = con.sql(query).arrow()
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
                inferred_format = _date_format(
                    con, check, src, caller, _mixed_examples(result, i, src)
                )
                if inferred_format is not None:
                    inferred[check.canonical] = inferred_format
        if inferred:
            del result
            formats.update(inferred)
            result = run(formats)
    n_rows = result.num_rows
    if n_rows == 0 and src.frame is None or n_rows == 0 and src.name != "DataFrame":
        raise DataError(f"{caller} ({src.name}): the file has a header but no data rows")

    # Which rows are set aside, and why: excluded rows first (the config's rules explain
    # them, even when they are also invalid), then the first failing check in column order.
    reasons: list[str] = []
    code = np.zeros(n_rows, dtype=np.int16)
    for k, rule in enumerate(rules):
        mask = result.column(f"e{k}").to_numpy(zero_copy_only=False)
        if mask.any():
            reasons.append(f"excluded: {rule['reason']}")
            code[mask & (code == 0)] = len(reasons)
    excluded = code > 0
    offences: list[tuple[_Check, str, np.ndarray, int]] = []
    for i, check in enumerate(checks):
        for flag, is_missing in ((f"m{i}", True), (f"b{i}", False), (f"o{i}", False)):
            mask = result.column(flag).to_numpy(zero_copy_only=False) & ~excluded
            if check.kind in ("string", "text") and not is_missing:
                continue
            if not check.required and is_missing:
                continue
            if mask.any():
                reasons.append(
                    _range_reason(check, bounds) if flag[0] == "o" else _reason(check, is_missing)
                )
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
        raise _offence_error(
            src,
            caller,
            check,
            reason,
            mask,
            result.column(f"v{i}") if reason == "duplicate customer_id" else result.column(f"r{i}"),
        )

    keep = code == 0
    n_kept = int(keep.sum())
    value_names = [f"v{i}" for i in range(len(checks))]
    extra_names = [f"x{j}" for j in range(len(extras))] if src.frame is None else []
    duplicates = None
    if row_hash:
        hashes = np.sort(result.column("h").to_numpy(zero_copy_only=False)[keep])
        duplicates = int((hashes[1:] == hashes[:-1]).sum())  # sorting beats np.unique here
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
    out.columns = [check.canonical for check in checks] + (extras if src.frame is None else [])
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
            "rows_flagged": 0,
        }
        for reason, n in (set_aside.items() if set_aside else [(NO_REASON, 0)])
    ]
    records += [
        {
            "table": table,
            "source": src.short_name,
            "rows_read": n_rows,
            "rows_kept": n_kept,
            "rows_set_aside": 0,
            "reason": reason,
            "rows_flagged": n,
        }
        for reason, n in _flagged_rows(out, table, duplicates).items()
    ]
    out.attrs["quality"] = records
    if set_aside:
        detail = ", ".join(f"{n:,} {reason}" for reason, n in set_aside.items())
        warnings.warn(
            f"{caller} ({src.name}): set aside {n_rows - n_kept:,} of {n_rows:,} rows: {detail}",
            stacklevel=4,
        )
    return out


def _ids_all_end_in_zero_fraction(con: duckdb.DuckDBPyConnection, column: str, dtype: str) -> bool:
    """Whether every id of the column carries a float artefact: 17850.0 (text or a float).

    Only then is the ``.0`` dropped, so the same customer reads the same from a CSV, an Excel
    sheet or a parquet file; an id column that mixes ``17850`` and ``17850.0`` is kept as is.
    """
    q = _quote(column)
    if _FLOAT_TYPES.match(dtype):
        value, artefact = q, f"{q} = trunc({q}) OR NOT isfinite({q})"
    elif _NUMERIC_TYPES.match(dtype) or _TEMPORAL_TYPES.match(dtype):
        return False
    else:
        value = _not_a_null_marker(f"trim({q})")
        artefact = f"ends_with({value}, '.0') AND regexp_matches({value}, '^[+-]?[0-9]+[.]0+$')"
    # The first id without the artefact settles it (LIMIT 1 stops the scan there).
    found = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM src WHERE {value} IS NOT NULL AND NOT "
        f"coalesce({artefact}, false) LIMIT 1) UNION ALL "
        f"SELECT count(*) FROM (SELECT 1 FROM src WHERE {value} IS NOT NULL LIMIT 1)"
    ).fetchall()
    without, any_id = (row[0] for row in found)
    return bool(any_id and not without)


def _flagged_rows(out: pd.DataFrame, table: str, duplicates: int | None) -> dict[str, int]:
    """Count the kept rows a reader should know about: refunds, zero amounts, repeated rows."""
    if table != "transactions" or out.empty:
        return {}
    amount = out["amount"].to_numpy()
    counts = {
        "kept: negative amount (refund or cancellation line)": int((amount < 0).sum()),
        "kept: zero amount": int((amount == 0).sum()),
        "kept: identical to an earlier row (duplicate line)": int(
            out.duplicated().sum() if duplicates is None else duplicates
        ),
    }
    return {reason: n for reason, n in counts.items() if n}


def _mixed_examples(result: pa.Table, i: int, src: _Source) -> tuple[str, str] | None:
    """Return an ISO row and a failing row of date column ``i`` (for a mixed-format error)."""
    parsed = result.column(f"v{i}")
    bad = result.column(f"b{i}").to_numpy(zero_copy_only=False)
    good = np.flatnonzero(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    if not len(good) or not bad.any():
        return None
    first_good, first_bad = int(good[0]), int(np.flatnonzero(bad)[0])
    iso = f"row {src.labels(np.array([first_good]))[0]}: {parsed[first_good].as_py():%Y-%m-%d}"
    other = (
        f"row {src.labels(np.array([first_bad]))[0]}: {result.column(f'r{i}')[first_bad].as_py()!r}"
    )
    return iso, other


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
    hint = hints.get(
        check.kind, " Fix the export, or pass on_invalid='drop' to set these rows aside."
    )
    if reason == "duplicate customer_id":
        hint = " Each customer needs one row; pass on_invalid='drop' to keep the first."
    if check.kind == "number" and any(
        isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", v) for v in values
    ):
        hint = (
            " The values look like decimal commas ('12,50'): export the file with '.' as "
            "the decimal separator." + hint
        )
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
