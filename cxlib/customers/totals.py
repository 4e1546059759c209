"""The per-customer adapters: an engine's per-customer totals turned into the summary and the base.

Every engine (DuckDB over a pandas frame, Spark over its rows) runs the same SQL,
:func:`cxlib.data.engine.customer_totals_sql`, and hands its per-customer totals to the same
Python here, so the base is one computation whichever engine counted. API:

- a **totals source** is a callable ``totals_of(freq, obs_end, cal_end, with_orders)``
  returning ``(totals, ids)``: the engine's frame and the customer id of each of its rows;
  :func:`duckdb_totals` and :func:`spark_totals` make one;
- :func:`summarise`: the :class:`Summary` (``frequency``, ``recency``, ``T``,
  ``monetary_value`` and the holdout columns, time in periods) of a totals source;
- :func:`summary_in_units`: the same at a resolution, time in units of ``freq``;
- :func:`base_from`: the customer base's columns (first and last purchase, revenue, ...).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.customers.purchases import factorize_ids, id_order, period_ordinal
from cxlib.data import engine
from cxlib.settings import units

__all__ = ["Summary", "base_from", "duckdb_totals", "spark_totals", "summarise", "summary_in_units"]


def duckdb_totals(ids, dates, amounts, orders, caller):
    """Return a ``totals_of`` callable: the engine's SQL run in DuckDB over checked columns.

    Customer ids go in as integer codes (:func:`pd.factorize`, which also rejects missing ids),
    so any id type the pandas path accepts groups the same, and come back as the ids.
    """
    codes, uniques = factorize_ids(ids, caller)
    columns = {
        "customer_id": pa.array(codes.astype(np.int32 if len(uniques) < 2**31 else np.int64)),
        "date": pa.array(dates),
        "amount": pa.array(amounts),
    }
    if orders is not None:  # order ids of any type, as codes; missing ones as NULL
        order_codes, _ = pd.factorize(orders, use_na_sentinel=True)
        columns["order_id"] = pa.array(order_codes, mask=order_codes < 0)
    table = pa.table(columns)

    def totals_of(freq, obs_end, cal_end, with_orders):
        sql = engine.customer_totals_sql(
            freq=freq, observation_end=obs_end, calibration_end=cal_end, with_orders=with_orders
        )
        totals = engine.run_duckdb(sql, table)
        return totals, uniques[totals["customer_id"].to_numpy()]

    return totals_of


def spark_totals(rows):
    """Return a totals source (see the module): the engine's SQL run in Spark over its rows.

    Only the per-customer totals come back to the driver.
    """

    def totals_of(freq, obs_end, cal_end, with_orders):
        sql = engine.customer_totals_sql(
            freq=freq, observation_end=obs_end, calibration_end=cal_end, with_orders=with_orders
        )
        totals = engine.run_spark(sql, rows)
        return totals, totals["customer_id"].to_numpy(dtype=object)

    return totals_of


@dataclass
class Summary:
    """What :func:`summarise` computed, for the public views to pick from."""

    frame: pd.DataFrame  # frequency, recency, T, monetary_value (+ holdout), time in periods
    totals: pd.DataFrame  # the engine's totals of the rows of ``frame``, same index


def summarise(totals_of, *, freq, obs_end, cal_end, caller, stacklevel=3, with_orders=False):
    """Summarise purchases per customer, time counted in periods of ``freq``.

    ``totals_of(freq, obs_end, cal_end, with_orders)`` runs
    :func:`cxlib.data.engine.customer_totals_sql` in an engine and returns its frame and the
    customer id of each of its rows.
    """
    totals, ids = totals_of(freq, obs_end, cal_end, with_orders)
    end = obs_end if cal_end is None else cal_end
    end_period = period_ordinal(np.array([end.to_datetime64()]), freq)[0]
    purchases = totals["purchases"].to_numpy(dtype=np.float64)
    has = purchases > 0
    no_purchase = ~has  # every row of totals has a transaction up to observation_end
    if cal_end is not None:
        first_in_holdout = ~has & (totals["holdout_purchases"].to_numpy() > 0)
        no_purchase &= ~first_in_holdout
    kept = np.flatnonzero(has)
    kept = kept[id_order(ids[kept])]
    rows = totals.iloc[kept].set_axis(pd.Index(ids[kept], name="customer_id"))
    frequency = purchases[kept] - 1.0
    first = rows["first_period"].to_numpy(dtype=np.float64)
    spend = rows["spend"].to_numpy(dtype=np.float64) - rows["first_spend"].to_numpy(np.float64)
    columns = {
        "frequency": frequency,
        "recency": rows["last_period"].to_numpy(dtype=np.float64) - first,
        "T": end_period - first,
        "monetary_value": np.where(frequency > 0, spend / np.maximum(frequency, 1), 0.0),
    }
    if cal_end is not None:
        count = rows["holdout_purchases"].to_numpy(dtype=np.float64)
        total = rows["holdout_spend"].to_numpy(dtype=np.float64)
        columns["frequency_holdout"] = count
        columns["monetary_value_holdout"] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        obs_period = period_ordinal(np.array([obs_end.to_datetime64()]), freq)[0]
        columns["duration_holdout"] = np.full(len(kept), float(obs_period - end_period))
        if not (totals["holdout_rows"].to_numpy() > 0).any():
            warnings.warn(
                f"{caller}: no transaction between calibration_end {cal_end.date()} and "
                f"observation_end {obs_end.date()}; the holdout is empty",
                stacklevel=stacklevel,
            )
    frame = pd.DataFrame(columns, index=rows.index)
    frame.attrs["customers_without_purchase"] = int(no_purchase.sum())
    if cal_end is not None:
        frame.attrs["customers_first_in_holdout"] = int(first_in_holdout.sum())
    if no_purchase.any():
        shown = ids[no_purchase]
        shown = pd.Series(shown[id_order(shown)][:5])
        warnings.warn(
            f"{caller}: {int(no_purchase.sum())} customer(s) have no period with positive net "
            f"spend (only refunds or zero amounts) and are left out of the summary, e.g. "
            f"{', '.join(map(repr, shown))}; the count is in "
            "summary.attrs['customers_without_purchase']",
            stacklevel=stacklevel,
        )
    return Summary(frame, rows)


def summary_in_units(totals_of, *, freq, resolution, obs_end, cal_end, caller, with_orders):
    """:func:`summarise` at the resolution asked, time expressed in units of ``freq``."""
    result = summarise(
        totals_of,
        freq="D" if resolution == "D" else freq,
        obs_end=obs_end,
        cal_end=cal_end,
        caller=caller,
        stacklevel=5,
        with_orders=with_orders,
    )
    if resolution == "D" and freq != "D":
        scale = 1.0 / units.days(freq)
        for column in ("recency", "T", "duration_holdout"):
            if column in result.frame:
                result.frame[column] *= scale
    return result


def _days(day_numbers: np.ndarray) -> np.ndarray:
    return np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def base_from(totals_of, *, obs_end, freq, resolution, with_orders, caller) -> pd.DataFrame:
    """Build the customer base from an engine's per-customer totals (see :func:`summarise`)."""
    result = summary_in_units(
        totals_of, freq=freq, resolution=resolution, obs_end=obs_end, cal_end=None,
        caller=caller, with_orders=with_orders,
    )  # fmt: skip
    base, rows = result.frame, result.totals
    # First and last purchase days: at day resolution the summary's periods are days; at
    # period resolution count per day (a period's first day is not a purchase day). A
    # customer with a purchase period has a purchase day (the days' net spends add up to it).
    days = rows
    if resolution != "D":
        days = summarise(totals_of, freq="D", obs_end=obs_end, cal_end=None, caller=caller)
        days = days.totals.reindex(base.index)
    first = days["first_period"].to_numpy(dtype=np.float64)
    last = days["last_period"].to_numpy(dtype=np.float64)
    end_day = float(obs_end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    day_counts = days["purchases"].to_numpy(dtype=np.float64)
    base["first_purchase"] = _days(first)
    base["last_purchase"] = _days(last)
    base["purchases"] = day_counts
    base["orders"] = rows["orders"].to_numpy(dtype=np.float64) if with_orders else day_counts
    for column in ("revenue", "revenue_12m", "refunds"):
        base[column] = rows[column].to_numpy(dtype=np.float64)
    base["days_since_last"] = end_day - last
    base["tenure_days"] = end_day - first
    base.attrs.update(observation_end=obs_end, freq=freq, resolution=resolution)
    return base
