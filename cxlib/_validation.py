"""Input checks shared by every module: one error type, one message style."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["DataError", "format_offenders", "validate_columns"]


class DataError(ValueError):
    """Invalid client data: names the file, the column and a few offending values with their rows.

    It subclasses :class:`ValueError` so code that already catches ``ValueError`` keeps working.

    Examples
    --------
    >>> raise DataError("transactions.csv: column 'amount' is not numeric")
    Traceback (most recent call last):
    ...
    cxlib._validation.DataError: transactions.csv: column 'amount' is not numeric
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
    cxlib._validation.DataError: churn_model: missing column(s) ['date']; got ['id', 'when']
    """
    where = f"{caller} ({source})" if source else caller
    columns: Sequence[str] = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"{where}: duplicate column(s) {duplicated}; got {list(columns)}")
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; got {list(columns)}")
