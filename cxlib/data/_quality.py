"""The data-quality table of loaded frames."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cxlib.data._schema import QUALITY_COLUMNS


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
    >>> from cxlib.data import load_transactions
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
