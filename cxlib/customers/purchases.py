"""Purchases counted per customer and period: the pieces the base and the holdout share.

A purchase is a day (or a period of ``freq``) with positive net spend; this module holds that
rule once, over plain arrays, for :mod:`cxlib.customers.summary` and for
:func:`cxlib.clv.holdout.tracking` (which counts purchases per calendar period). API:

- :data:`FREQUENCIES`, :data:`RESOLUTIONS`, :data:`NET_SPEND_TOLERANCE`;
- :func:`check_freq`, :func:`check_resolution`: the parameter errors of a public function;
- :func:`clean_transactions`: checked ids, dates and amounts as arrays;
- :func:`factorize_ids`, :func:`id_order`: integer codes for the ids, and their sorted order;
- :func:`period_ordinal`: the index of the period (day, Monday-week, month) each date falls in;
- :func:`positive_periods`: net spend per customer and period, purchase periods only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib.data.engine import NET_SPEND_TOLERANCE
from cxlib.settings import units
from cxlib.settings.params import Options, check_param
from cxlib.settings.validation import DataError, check_transactions, format_offenders

__all__ = [
    "FREQUENCIES",
    "NET_SPEND_TOLERANCE",
    "RESOLUTIONS",
    "check_freq",
    "check_resolution",
    "clean_transactions",
    "factorize_ids",
    "id_order",
    "period_ordinal",
    "positive_periods",
]

#: Period lengths :func:`rfm_summary` understands: days, weeks (Monday to Sunday), calendar months.
FREQUENCIES = ("D", "W", "M")


#: What one purchase is: a day with positive net spend, or a whole period of ``freq``.
RESOLUTIONS = ("D", "period")


def check_freq(freq: str, caller: str) -> None:
    """Raise the parameter error unless ``freq`` is one of :data:`FREQUENCIES`."""
    units.period(freq, codes=FREQUENCIES, caller=caller)


def check_resolution(resolution: str, caller: str) -> None:
    """Raise the parameter error unless ``resolution`` is one of :data:`RESOLUTIONS`."""
    check_param("resolution", resolution, Options(RESOLUTIONS), caller=caller)


def period_ordinal(dates: np.ndarray, freq: str) -> np.ndarray:
    """Return the index of the period each date is in (days, Monday-weeks or months since 1970)."""
    if freq == "M":
        return dates.astype("datetime64[M]").astype(np.int64)
    days = dates.astype("datetime64[D]").astype(np.int64)
    if freq == "W":
        # 1970-01-01 was a Thursday; shifting by 3 days makes weeks start on Monday, as pandas'
        # weekly periods ("W" = "W-SUN", weeks ending on Sunday) and lifetimes do.
        return (days + 3) // 7
    return days


def clean_transactions(transactions: pd.DataFrame, caller: str):
    """Return customer ids, dates (datetime64[ns]) and amounts (float64) after the one check."""
    tx = check_transactions(transactions, caller=caller)
    return tx["customer_id"], tx["date"].to_numpy(dtype="datetime64[ns]"), tx["amount"].to_numpy()


def factorize_ids(ids: pd.Series, caller: str):
    """Return integer codes and unique values of the ids; refuse missing ids."""
    values = ids.to_numpy()
    codes, uniques = pd.factorize(values, sort=False)
    if (codes < 0).any():
        missing = ids.isna()
        raise DataError(
            f"{caller}: column 'customer_id' has {int(missing.sum())} missing value(s): "
            f"{format_offenders(ids[missing])}"
        )
    return codes, np.asarray(uniques, dtype=object if values.dtype == object else None)


def id_order(ids: np.ndarray) -> np.ndarray:
    """Positions that sort the customer ids (Arrow for text; unsortable mixes keep their order)."""
    if ids.dtype == object:
        try:
            return pc.sort_indices(pa.array(ids, type=pa.string())).to_numpy()
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
    try:
        return np.argsort(ids, kind="stable")
    except TypeError:
        return np.arange(len(ids))


def positive_periods(codes: np.ndarray, periods: np.ndarray, amounts: np.ndarray):
    """Net each customer's spend per period; keep periods with positive net spend.

    Returns customer codes, periods and net amounts of the purchase periods, sorted by customer
    then period.
    """
    if len(codes) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=np.float64)
    low = periods.min()
    span = np.int64(periods.max() - low + 1)
    small = (int(codes.max()) + 1) * int(span) < 2**31
    key_type = np.int32 if small else np.int64  # int32 keys sort faster
    key = codes.astype(key_type) * key_type(span) + (periods - low).astype(key_type)
    # Sorting the int64 keys is several times faster than hashing them on 10M rows.
    order = np.argsort(key)
    key = key[order]
    ordered = amounts[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    values = np.add.reduceat(ordered, starts)
    # "Positive" up to rounding: a refund that cancels its purchase nets to zero in any order.
    keep = values > NET_SPEND_TOLERANCE
    keys, values = key[starts][keep], values[keep]
    return keys.astype(np.int64) // span, keys.astype(np.int64) % span + low, values
