"""The public loaders (one per canonical table) and the checks of their parameters."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cxlib.data._assignments import validate_assignments
from cxlib.data._checked import _load_checked
from cxlib.data._limits import _limits, _line_error, _read_error
from cxlib.data._markers import read_missing_markers
from cxlib.data._schema import (
    _LINE_ITEM,
    MIN_DATE,
    SCHEMAS,
    _literal,
)
from cxlib.data._sources import (
    _codec,
    _decoding_error,
    _file_kind,
    _open_binary,
    _open_source,
)
from cxlib.settings.config import Limits
from cxlib.settings.params import Options, Satisfies, check_param, param_error
from cxlib.settings.validation import DataError


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
    decimal: str | None = None,
    limits: Limits | Mapping[str, int] | None = None,
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
        decimal=decimal,
        limits=limits,
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
    decimal: str | None = None,
    limits: Limits | Mapping[str, int] | None = None,
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
    frame = _load(
        "customers",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
        decimal=decimal,
        limits=limits,
        caller="load_customers",
    )
    return _with_missing_markers(frame, "customers")


def _with_missing_markers(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` with its attributes' missing markers read and counted (:mod:`._markers`)."""
    canonical = (*SCHEMAS[table]["required"], *SCHEMAS[table]["optional"])
    out, records = read_missing_markers(frame, table=table, skip=canonical)
    quality = [dict(record) for record in frame.attrs.get("quality", [])]
    base = {k: quality[0][k] for k in ("source", "rows_read", "rows_kept")} if quality else {}
    out.attrs = {**frame.attrs, "quality": quality + [{**base, **r} for r in records]}
    return out


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
    decimal: str | None = None,
    limits: Limits | Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Load NPS survey answers as a canonical frame: one row per answer.

    ``score`` must be an integer from 0 to 10 (``4.5``, ``11``, ``-1`` and ``"ten"`` are
    offending values). Parameters, row numbers and errors are as in :func:`load_transactions`.

    A survey run per period rather than dated per answer may carry a ``period`` column instead
    of ``date`` (map it with ``columns={"period": "<column>"}``): quarters (``2024Q1``,
    ``2024-Q1``, ``Q1 2024``, and the French ``T1 2024``), months (``2024-03``, ``2024/03``,
    ``03/2024``) or years (``2024``), all of one length; anything else is an offending value
    ("unparseable period"). An integer period index (1, 2, 3, ...) is refused: it has no
    calendar, so write the periods out in the export. The NPS functions that group by time
    (:func:`cxlib.nps.nps_by`, :func:`cxlib.nps.latest_answers`) use the period; computations
    that need each answer's date date it on its period's last day, with a warning
    (``cxlib.settings.validation.dated_answers``).

    Returns
    -------
    DataFrame
        ``customer_id`` (str), ``date`` (datetime64[ns]) or ``period`` (``period[Q-DEC]``,
        ``period[M]`` or ``period[Y-DEC]``), ``score`` (int64), then ``comment`` (and
        ``period`` beside a date) when present, then the client's other columns.

    Examples
    --------
    >>> load_surveys(pd.DataFrame({"customer_id": ["A"], "date": ["2024-05-01"],
    ...                            "score": ["9"]}))
      customer_id       date  score
    0           A 2024-05-01      9
    >>> by_quarter = load_surveys(pd.DataFrame({"client": ["A", "B"], "trimestre": ["T1 2024",
    ...                           "2024Q2"], "score": [9, 3]}),
    ...                           columns={"customer_id": "client", "period": "trimestre"})
    >>> by_quarter["period"].tolist()
    [Period('2024Q1', 'Q-DEC'), Period('2024Q2', 'Q-DEC')]
    """
    frame = _load(
        "surveys",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        sheet=sheet,
        exclude=exclude,
        observation_end=observation_end,
        decimal=decimal,
        limits=limits,
        caller="load_surveys",
    )
    if "period" in frame.columns:
        column = (columns or {}).get("period", "period")
        where = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
        frame["period"] = _periods(frame["period"], f"load_surveys ({where}): column {column!r}")
    return frame


#: Canonical period text (see _sql._PERIOD_FORMATS) -> pandas frequency and its name.
_PERIOD_LENGTHS = {4: ("Y", "year"), 6: ("Q", "quarter"), 7: ("M", "month")}


def _periods(text: pd.Series, where: str) -> pd.Series:
    """Canonical period texts ("2024Q1", "2024-03", "2024") as pandas Periods of one length."""
    lengths = text.astype(object).str.len()
    found = sorted(int(n) for n in lengths.dropna().unique())
    if len(found) > 1:
        examples = ", ".join(
            f"{(lengths == n).sum():,} {_PERIOD_LENGTHS[n][1]}(s) ({text[lengths == n].iloc[0]})"
            for n in found
        )
        raise DataError(
            f"{where} mixes period lengths: {examples}. An NPS over time compares periods of "
            "one length: write every period as a month, a quarter or a year."
        )
    freq = _PERIOD_LENGTHS[found[0]][0] if found else "Q"
    return pd.Series(pd.PeriodIndex(text.astype(object), freq=freq), index=text.index)


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
    decimal: str | None = None,
    limits: Limits | Mapping[str, int] | None = None,
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
        decimal=decimal,
        limits=limits,
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
    limits: Limits | Mapping[str, int] | None = None,
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
    frame = _load(
        "experiments",
        source,
        columns=columns,
        date_format=date_format,
        on_invalid=on_invalid,
        encoding=encoding,
        limits=limits,
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
    decimal: str | None = None,
    limits: Limits | Mapping[str, int] | None = None,
    caller: str,
) -> pd.DataFrame:
    limits = _limits(limits, caller)
    _check_read_options(decimal, on_invalid, date_format, caller)
    columns = _check_columns_parameter(table, columns, caller)
    rules = _check_exclude_parameter(exclude, caller)
    bounds = _date_bounds(observation_end, caller)
    check_param("sheet", sheet, _SHEET, caller=caller)
    name = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        # The checking query computes each expression once in nested SELECTs; DuckDB's search
        # for common subexpressions costs time quadratic in the number of columns (minutes
        # for a few thousand) and finds nothing there.
        con.execute("SET disabled_optimizers = 'common_subexpressions'")
        with tempfile.TemporaryDirectory(prefix="cxlib-") as scratch:
            # Spill files (if any) go to the scratch folder, never to the working directory.
            con.execute(f"SET temp_directory = {_literal(scratch)}")
            src = _open_source(
                con,
                source,
                encoding=encoding,
                caller=caller,
                scratch=scratch,
                sheet=sheet,
                limits=limits,
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
                decimal=decimal,
                limits=limits,
            )
    except duckdb.Error as exc:
        message = str(exc)
        text = not isinstance(source, pd.DataFrame) and _is_text(Path(source))
        if text:  # a line over the limit: DuckDB's message depends on how long it is
            gzipped = Path(source).suffix.lower() == ".gz"
            opener = partial(_open_binary, gzipped=gzipped)
            error = _line_error(Path(source), opener, limits.max_line_bytes, name, caller)
            if error is not None:
                raise error from None
        if "unicode" in message.lower():
            line = re.search(r"Line: (\d+)", message)
            raise _decoding_error(
                caller,
                name,
                _codec(encoding, caller),
                int(line.group(1)) if line else None,
                "invalid byte sequence",
            ) from None
        raise _read_error(message, name, caller, text=text) from None
    except UnicodeDecodeError as exc:
        raise _decoding_error(
            caller, name, exc.encoding, None, f"{exc.reason} at byte {exc.start}"
        ) from None
    finally:
        con.close()


def _is_text(path: Path) -> bool:
    return _file_kind([s.lower() for s in path.suffixes[-2:]]) == "text"


def _check_columns_parameter(
    table: str, columns: Mapping[str, str] | None, caller: str
) -> dict[str, str]:
    if columns is None:
        return {}
    if not isinstance(columns, Mapping):
        raise param_error(
            "columns", columns, "a mapping of canonical name -> column name", caller=caller
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
        raise param_error(
            "columns", bad_values, "a mapping of canonical name -> column name (strings)",
            caller=caller,
        )  # fmt: skip
    return dict(columns)


#: The options every loader reads the same way, DuckDB or Spark (:func:`_check_read_options`).
_DECIMAL = Options((None, ".", ","), words='"." or "," (or None: read from the values)')
_ON_INVALID = Options(("raise", "drop"), words='"raise" or "drop"')
_DATE_FORMAT = Satisfies(
    lambda value: value is None or isinstance(value, str) and "%" in value,
    'a strftime format such as "%d/%m/%Y"',
)
_SHEET = Satisfies(
    lambda value: value is None or isinstance(value, str | int) and not isinstance(value, bool),
    "a sheet name or 0-based position",
)


def _check_read_options(decimal: Any, on_invalid: Any, date_format: Any, caller: str) -> None:
    """Refuse a ``decimal``, ``on_invalid`` or ``date_format`` no loader reads."""
    check_param("decimal", decimal, _DECIMAL, caller=caller)
    check_param("on_invalid", on_invalid, _ON_INVALID, caller=caller)
    check_param("date_format", date_format, _DATE_FORMAT, caller=caller)


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
        raise param_error("exclude", exclude, must, caller=caller)
    rules = []
    for rule in exclude:
        if not isinstance(rule, Mapping):
            raise param_error("exclude", exclude, must, caller=caller)
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
            raise param_error("exclude", exclude, must, caller=caller)
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
            raise param_error(
                "observation_end", observation_end, "a date such as '2024-12-31'", caller=caller
            )
        if end.tzinfo is not None:
            end = end.tz_convert("UTC").tz_localize(None)
    return pd.Timestamp(MIN_DATE), end.normalize() + pd.Timedelta(days=1)
