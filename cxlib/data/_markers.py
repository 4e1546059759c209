"""Missing-value markers in a customers table's attribute columns, counted per column.

Real exports mark a missing cell in many ways: an empty cell, ``?``, ``NA``, ``N/A``,
``NULL`` (:data:`MISSING_MARKERS`). In a canonical column the checking query reads the
:data:`~cxlib.data._schema.NULL_MARKERS` as missing; in the client's own attribute columns
(tenure, a churned flag, a balance) a single ``?`` used to keep a column of numbers as text.
:func:`read_missing_markers` reads every marker as a missing value, types a column whose other
cells are all numbers as numeric (as the loader types a clean column), and returns one
data-quality record per column with missing cells, so the report counts them, column by
column, as it counts the transactions' flagged lines.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from cxlib.data._schema import NULL_MARKERS

__all__ = ["MISSING_MARKERS", "read_missing_markers"]

#: Cell texts read as "no value" in an attribute column (trimmed, case-insensitive): the
#: loaders' NULL markers plus the ``?`` of survey-tool and UCI-style exports, and the empty cell.
MISSING_MARKERS = ("", "?", *NULL_MARKERS)

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def read_missing_markers(
    frame: pd.DataFrame, *, table: str, skip: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read the missing-value markers of ``frame``'s text columns; count them per column.

    Parameters
    ----------
    frame : DataFrame
        A loaded table (its canonical columns are in ``skip``).
    table : str
        The table's name, for the records.
    skip : tuple of str
        Columns left as they are (the canonical ones: the loader already checked them).

    Returns
    -------
    frame : DataFrame
        A copy: markers are missing values; a text column with a marker whose other cells are
        all numbers (none with a leading zero, as ``007``) is numeric, as the loader types a
        column without markers.
    records : list of dict
        Per column with missing cells: ``reason`` ``"kept: missing value in column 'X' (...)"``
        naming the markers seen and their counts, ``rows_flagged`` the rows (the other fields
        are filled in by the caller).

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "b", "c"], "Tenure": ["3", "?", "0"]})
    >>> out, records = read_missing_markers(raw, table="customers", skip=("customer_id",))
    >>> out["Tenure"].tolist(), records[0]["reason"], records[0]["rows_flagged"]
    ([3.0, nan, 0.0], "kept: missing value in column 'Tenure' ('?' 1)", 1)
    """
    out, records = frame.copy(), []
    for name in frame.columns:
        if name in skip:
            continue
        values = frame[name]
        missing = values.isna().to_numpy()
        texts = None
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            if pd.api.types.is_datetime64_any_dtype(values):
                texts = None
            else:
                texts = values.astype("string").str.strip()
        markers: dict[str, int] = {}
        if texts is not None:
            lowered = texts.str.lower()
            marked = lowered.isin(MISSING_MARKERS).fillna(False).to_numpy(dtype=bool) & ~missing
            for marker, n in texts[marked].value_counts(sort=False).sort_index().items():
                markers[repr(str(marker))] = int(n)
            if marked.any():  # the markers kept the loader from typing the column
                out[name] = values.where(~marked)
                _as_numbers(out, name, texts[~(missing | marked)])
            missing = missing | marked
        if missing.any():
            empty = int(missing.sum()) - sum(markers.values())
            seen = ([f"empty {empty}"] if empty else []) + [f"{m} {n}" for m, n in markers.items()]
            records.append(
                {
                    "table": table,
                    "rows_set_aside": 0,
                    "reason": f"kept: missing value in column '{name}' ({', '.join(seen)})",
                    "rows_flagged": int(missing.sum()),
                }
            )
    return out, records


def _as_numbers(out: pd.DataFrame, name: str, present: pd.Series) -> None:
    """Make column ``name`` of ``out`` numeric when its present cells are all plain numbers."""
    if present.empty or out[name].dtype.kind in "biuf":
        return
    text = present.astype(str)
    if not text.str.fullmatch(_NUMBER).all() or text.str.match(_LEADING_ZERO).any():
        return
    numbers = pd.to_numeric(out[name], errors="coerce")
    whole = numbers.dropna()
    if numbers.notna().all() and (whole == np.round(whole)).all():
        numbers = numbers.astype("int64")
    out[name] = numbers
