""":func:`cxlib.customers.customer_base` and :func:`cxlib.customers.rfm_summary` over Spark rows.

The per-customer totals are aggregated in Spark with the engine's SQL
(:func:`cxlib.data.engine.customer_totals_sql`); only they come back to the driver, and the
base built from them equals DuckDB's on the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib import customers as base_module
from cxlib.customers import _resolve_ends
from cxlib.data.engine import customer_totals_sql, run_spark
from cxlib.settings.validation import DataError


def _spark_totals(rows):
    """Return a ``totals_of`` callable (see cxlib.customers): the totals SQL run in Spark."""

    def totals_of(freq, obs_end, cal_end, with_orders):
        sql = customer_totals_sql(
            freq=freq, observation_end=obs_end, calibration_end=cal_end, with_orders=with_orders
        )
        totals = run_spark(sql, rows)
        return totals, totals["customer_id"].to_numpy(dtype=object)

    return totals_of


def _spark_ends(rows, observation_end, calibration_end, caller):
    first, last = rows.selectExpr("min(date)", "max(date)").first()
    if first is None:
        raise DataError(f"{caller}: the transactions table is empty")
    dates = np.array([first, last], dtype="datetime64[ns]")
    return _resolve_ends(dates, observation_end, calibration_end, caller)


def spark_customer_base(
    rows, *, customers=None, observation_end=None, freq: str = "W", resolution: str = "D"
) -> pd.DataFrame:
    """:func:`cxlib.customers.customer_base` over checked Spark rows, aggregated in Spark.

    ``rows``: a Spark DataFrame of canonical transactions (``customer_id``, ``date``,
    ``amount``, optional ``order_id``), e.g. from the Spark loader. Only the per-customer totals
    come back to the driver; the result equals DuckDB's on the same rows.
    """
    caller = "customer_base"
    base_module._check_freq(freq, caller)
    base_module._check_resolution(resolution, caller)
    obs_end, _ = _spark_ends(rows, observation_end, None, caller)
    base = base_module._base_from(
        _spark_totals(rows),
        obs_end=obs_end,
        freq=freq,
        resolution=resolution,
        with_orders="order_id" in rows.columns,
        caller=caller,
    )
    if customers is not None:
        base = base_module._join_customers(base, customers, caller)
    return base


def spark_rfm_summary(
    rows, *, freq: str = "W", observation_end=None, calibration_end=None, resolution: str = "D"
) -> pd.DataFrame:
    """:func:`cxlib.customers.rfm_summary` over checked Spark rows, aggregated in Spark."""
    caller = "rfm_summary"
    base_module._check_freq(freq, caller)
    base_module._check_resolution(resolution, caller)
    obs_end, cal_end = _spark_ends(rows, observation_end, calibration_end, caller)
    return base_module._summary_in_units(
        _spark_totals(rows),
        freq=freq,
        resolution=resolution,
        obs_end=obs_end,
        cal_end=cal_end,
        caller=caller,
        with_orders=False,
    ).frame
