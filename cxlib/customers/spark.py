""":func:`cxlib.customers.customer_base` and :func:`cxlib.customers.rfm_summary` over Spark rows.

The per-customer totals are aggregated in Spark with the engine's SQL
(:func:`cxlib.customers.totals.spark_totals`); only they come back to the driver, and the
base built from them equals DuckDB's on the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.customers.base import join_customers
from cxlib.customers.purchases import check_freq, check_resolution
from cxlib.customers.summary import resolve_ends
from cxlib.customers.totals import base_from, spark_totals, summary_in_units
from cxlib.settings.validation import DataError


def _spark_ends(rows, observation_end, calibration_end, caller):
    first, last = rows.selectExpr("min(date)", "max(date)").first()
    if first is None:
        raise DataError(f"{caller}: the transactions table is empty")
    dates = np.array([first, last], dtype="datetime64[ns]")
    return resolve_ends(dates, observation_end, calibration_end, caller)


def spark_customer_base(
    rows, *, customers=None, observation_end=None, freq: str = "W", resolution: str = "D"
) -> pd.DataFrame:
    """:func:`cxlib.customers.customer_base` over checked Spark rows, aggregated in Spark.

    ``rows``: a Spark DataFrame of canonical transactions (``customer_id``, ``date``,
    ``amount``, optional ``order_id``), e.g. from the Spark loader. Only the per-customer totals
    come back to the driver; the result equals DuckDB's on the same rows.
    """
    caller = "customer_base"
    check_freq(freq, caller)
    check_resolution(resolution, caller)
    obs_end, _ = _spark_ends(rows, observation_end, None, caller)
    base = base_from(
        spark_totals(rows),
        obs_end=obs_end,
        freq=freq,
        resolution=resolution,
        with_orders="order_id" in rows.columns,
        caller=caller,
    )
    if customers is not None:
        base = join_customers(base, customers, caller)
    return base


def spark_rfm_summary(
    rows, *, freq: str = "W", observation_end=None, calibration_end=None, resolution: str = "D"
) -> pd.DataFrame:
    """:func:`cxlib.customers.rfm_summary` over checked Spark rows, aggregated in Spark."""
    caller = "rfm_summary"
    check_freq(freq, caller)
    check_resolution(resolution, caller)
    obs_end, cal_end = _spark_ends(rows, observation_end, calibration_end, caller)
    return summary_in_units(
        spark_totals(rows),
        freq=freq,
        resolution=resolution,
        obs_end=obs_end,
        cal_end=cal_end,
        caller=caller,
        with_orders=False,
    ).frame
