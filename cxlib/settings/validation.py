"""Input checks shared by every module: one error type, one message style."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

# The parameter checks live in cxlib.settings.params (one template); they are re-exported here
# because callers have long imported them from this module.
from cxlib.settings.params import check_fraction, check_positive_int, param_error

__all__ = [
    "DataError",
    "check_fraction",
    "check_positive_int",
    "check_transactions",
    "dated_answers",
    "format_offenders",
    "segment_series",
    "validate_columns",
]


class DataError(ValueError):
    """Invalid client data: names the file, the column and a few offending values with their rows.

    It subclasses :class:`ValueError` so code that already catches ``ValueError`` keeps working.

    Examples
    --------
    >>> raise DataError("transactions.csv: column 'amount' is not numeric")
    Traceback (most recent call last):
    ...
    cxlib.settings.validation.DataError: transactions.csv: column 'amount' is not numeric
    """


def format_offenders(values: pd.Series, *, limit: int = 5) -> str:
    """Describe up to ``limit`` offending values as ``row N: 'value'``, with a count of the rest.

    Row numbers are the index labels of ``values``; loaders index rows by their 1-based line in
    the file (header = line 1), so the numbers match what a consultant sees in an editor.

    Examples
    --------
    >>> format_offenders(pd.Series(["x", "", "7/13/2020"], index=[2, 5, 9]))
    "row 2: 'x', row 5: '', row 9: '7/13/2020'"
    """
    shown = ", ".join(f"row {row}: {value!r}" for row, value in values.head(limit).items())
    extra = len(values) - limit
    return shown + (f" (and {extra} more)" if extra > 0 else "")


def validate_columns(
    frame: pd.DataFrame,
    required: Iterable[str],
    *,
    caller: str,
    source: str | None = None,
) -> None:
    """Raise :class:`DataError` when ``frame`` lacks a required column or has duplicate columns.

    Parameters
    ----------
    frame : DataFrame
        The frame to check.
    required : iterable of str
        Columns that must be present.
    caller : str
        Name of the public function doing the check, to start the message with.
    source : str, optional
        File the frame came from, named in the message when given.

    Examples
    --------
    >>> validate_columns(pd.DataFrame({"id": [1], "when": [2]}), ["date"], caller="churn_model")
    Traceback (most recent call last):
    ...
    cxlib.settings.validation.DataError: churn_model: missing column(s) ['date']; got ['id', 'when']
    """
    where = f"{caller} ({source})" if source else caller
    columns: Sequence[str] = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"{where}: duplicate column(s) {duplicated}; got {list(columns)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; got {list(columns)}")


def check_transactions(transactions: pd.DataFrame, *, caller: str) -> pd.DataFrame:
    """Check a transactions table with the one policy; return it with canonical dtypes.

    Every public function that takes transactions calls this first, so one policy holds
    everywhere:

    * a DataFrame with ``customer_id``, ``date`` and ``amount`` columns and at least one row;
    * ``customer_id`` has no missing value;
    * ``date`` is already datetime64: library functions never guess a date format (the loaders
      parse dates with the client's ``date_format``); time-zone-aware dates are converted to
      UTC and made naive; missing dates (NaT) are refused;
    * ``amount`` is numeric (not boolean) and finite: missing or infinite amounts are refused.

    Offending rows are named (by the frame's index labels, the file's line numbers for frames
    from :mod:`cxlib.data`). The input is never modified: the same object is returned when it
    is already canonical, otherwise a new frame (other columns kept) with ``date`` as
    ``datetime64[ns]`` and ``amount`` as ``float64``.

    Raises
    ------
    DataError
        For any of the problems above.
    cxlib.settings.params.ParameterError
        (a ``TypeError``) when ``transactions`` is not a DataFrame.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-01-02"]),
    ...                    "amount": [5]})
    >>> check_transactions(tx, caller="f")["amount"].dtype
    dtype('float64')
    >>> check_transactions(tx.assign(date=["2025-01-02"]), caller="f")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxlib.settings.validation.DataError: f: column 'date' must hold dates (datetime64), got ...
    """
    if not isinstance(transactions, pd.DataFrame):
        got = type(transactions).__name__
        raise param_error("transactions", transactions, "a DataFrame", caller=caller, got=got)
    validate_columns(transactions, ["customer_id", "date", "amount"], caller=caller)
    if len(transactions) == 0:
        raise DataError(f"{caller}: the transactions table is empty")
    ids = transactions["customer_id"]
    missing = ids.isna()
    if missing.any():
        raise DataError(
            f"{caller}: column 'customer_id' has {int(missing.sum())} missing value(s): "
            f"{format_offenders(ids[missing])}"
        )
    dates = transactions["date"]
    changed = {}
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
        changed["date"] = dates
    if not pd.api.types.is_datetime64_any_dtype(dates):
        kind = "text" if not pd.api.types.is_numeric_dtype(dates) else f"dtype {dates.dtype}"
        raise DataError(
            f"{caller}: column 'date' must hold dates (datetime64), got {kind}; load the file "
            "with cxlib.data.load_transactions (with the client's date_format) or convert the "
            "column with pd.to_datetime"
        )
    if dates.dtype != "datetime64[ns]":
        changed["date"] = dates = dates.astype("datetime64[ns]")
    if dates.isna().any():
        bad = transactions.loc[dates.isna().to_numpy(), "date"]
        raise DataError(
            f"{caller}: column 'date' has {len(bad)} missing date(s) (NaT): {format_offenders(bad)}"
        )
    amounts = transactions["amount"]
    if not pd.api.types.is_numeric_dtype(amounts) or pd.api.types.is_bool_dtype(amounts):
        raise DataError(f"{caller}: column 'amount' must be numeric, got dtype {amounts.dtype}")
    values = amounts.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        bad = transactions.loc[~np.isfinite(values), "amount"]
        raise DataError(
            f"{caller}: column 'amount' has {len(bad)} missing or infinite value(s): "
            f"{format_offenders(bad)}"
        )
    if amounts.dtype != np.float64:
        changed["amount"] = pd.Series(values, index=transactions.index)
    if not changed:
        return transactions
    return transactions.assign(**changed)


def segment_series(segments: pd.Series | pd.DataFrame, *, caller: str) -> pd.Series:
    """One segment label (str) per customer, indexed by ``customer_id`` (str).

    Accepts a Series of labels or a frame with a ``segment`` column (what
    ``rfm_segments`` and ``cluster_customers(...).assignments`` return), indexed by customer.

    Raises
    ------
    DataError
        When the frame has no ``segment`` column or a customer appears twice.
    cxlib.settings.params.ParameterError
        (a ``ValueError``) when ``segments`` is neither a Series nor a DataFrame.
    """
    if isinstance(segments, pd.DataFrame):
        validate_columns(segments, ["segment"], caller=caller)
        segments = segments["segment"]
    if not isinstance(segments, pd.Series):
        must = "a Series or a DataFrame with a 'segment' column, indexed by customer_id"
        got = type(segments).__name__
        raise param_error("segments", segments, must, caller=caller, got=got)
    out = segments.astype(str)
    out.index = out.index.astype(str)
    out.index.name = "customer_id"
    if out.index.has_duplicates:
        duplicated = list(out.index[out.index.duplicated()][:5])
        raise DataError(f"{caller}: duplicate customer_id in segments, e.g. {duplicated}")
    return out


def dated_answers(surveys: pd.DataFrame | None, *, caller: str) -> pd.DataFrame | None:
    """Give survey answers a ``date`` where a computation needs one and they carry a period.

    A survey dated by period (:func:`cxlib.data.load_surveys`' ``period`` column, no dates)
    tells when each answer was known at the latest: on its period's last day. Computations
    that need each answer's date (features before a churn cutoff, spend after an answer,
    answers inside an experiment's window) use that day, so no answer is ever used before it
    could have been given; a ``UserWarning`` says so. Anything else is returned as it is.

    Examples
    --------
    >>> import warnings
    >>> answers = pd.DataFrame({"customer_id": ["a"], "score": [9],
    ...                         "period": pd.PeriodIndex(["2024Q1"], freq="Q")})
    >>> with warnings.catch_warnings(record=True):
    ...     dated_answers(answers, caller="churn_model")["date"].tolist()
    [Timestamp('2024-03-31 00:00:00')]
    """
    if surveys is None or "date" in surveys.columns or "period" not in surveys.columns:
        return surveys
    periods = surveys["period"]
    if not isinstance(periods.dtype, pd.PeriodDtype):
        raise DataError(
            f"{caller}: the surveys' 'period' column must hold pandas Periods (as "
            f"cxlib.data.load_surveys returns), not {periods.dtype}"
        )
    warnings.warn(
        f"{caller}: the surveys carry a period, not each answer's date; each answer is dated "
        "on its period's last day (when it was known at the latest)",
        UserWarning,
        stacklevel=3,
    )
    return surveys.assign(date=periods.dt.end_time.dt.normalize().astype("datetime64[ns]"))
