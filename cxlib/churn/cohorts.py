"""Cohort retention: acquisition cohorts x periods since acquisition."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import _observation_end
from cxlib.data.engine import cohort_sql, last_date, run
from cxlib.settings.params import Options, check_param
from cxlib.settings.validation import DataError, check_transactions


@dataclass
class CohortRetention:
    """Acquisition cohorts x periods since acquisition.

    Attributes
    ----------
    table : DataFrame
        Tidy: ``cohort`` (Period), ``period`` (int, 0 = acquisition period), ``cohort_size``,
        ``customers`` (with a purchase in that period), ``retention_rate``, ``revenue`` (net),
        ``revenue_retention`` (revenue over the cohort's period-0 revenue). Cells not fully
        observed are absent.
    counts, rates, revenue_retention : DataFrame
        The same, pivoted: cohorts as rows, periods as columns, NaN where not observed.
    freq : str
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    rates: pd.DataFrame
    revenue_retention: pd.DataFrame
    freq: str


def cohort_retention(
    transactions: pd.DataFrame, *, freq: str = "M", observation_end=None
) -> CohortRetention:
    """Cohort retention: counts, rates and revenue retention by acquisition cohort.

    A customer's cohort is the period of their first purchase. ``customers`` in period ``k``
    counts cohort members with at least one purchase ``k`` periods after acquisition; revenue
    is net of refunds. A period that ends after ``observation_end`` is incomplete and left out.

    Parameters
    ----------
    transactions : DataFrame or Spark DataFrame
        Canonical transactions (checked Spark rows with ``engine: spark``; the cells are then
        counted in Spark).
    freq : {"M", "Q", "W"}, default "M"
        Cohort and period length.
    observation_end : date-like, optional
        Last observed day; defaults to the last transaction date.

    Returns
    -------
    CohortRetention

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2025-01-05", "2025-02-07", "2025-01-20"]),
    ...     "amount": [10.0, 5.0, 10.0]})
    >>> cohort_retention(tx, observation_end="2025-02-28").rates.to_numpy().tolist()
    [[1.0, 0.5]]
    """
    caller = "cohort_retention"
    spark = hasattr(transactions, "sparkSession")  # engine spark: checked rows, counted there
    if not spark:
        transactions = check_transactions(transactions, caller=caller)
    check_param("freq", freq, Options(("M", "Q", "W")), caller=caller)
    if spark:
        end = last_date(transactions) if observation_end is None else pd.Timestamp(observation_end)
    else:
        end = _observation_end(transactions, observation_end)
    # The cells are counted in the engine (cxlib.data.engine.cohort_sql, the same SQL for DuckDB
    # and Spark); a purchase is a day with positive net spend, as in the customer base.
    cells = run(cohort_sql(freq=freq, observation_end=end), transactions)
    if cells.empty:
        raise DataError(f"{caller}: no day with positive net spend to define cohorts from")
    # Period numbers of the SQL -> pandas Periods (pandas numbers weeks from 1969-12-29 + 1).
    shift = 1 if freq == "W" else 0
    cells["cohort"] = pd.PeriodIndex.from_ordinals(cells["cohort"].to_numpy() + shift, freq=freq)
    cells["period"] = cells.pop("k").astype(np.int64)
    sizes = cells.groupby("cohort")["cohort_size"].first().sort_index()
    keyed = cells.set_index(["cohort", "period"])
    customers = keyed["customers"].dropna()
    revenue = keyed["revenue"].dropna()
    table = _cohort_grid(sizes, customers, revenue, _last_complete_period(end, freq))
    if table.empty:
        warnings.warn(f"{caller}: no complete {freq} period in the data", stacklevel=2)

    def pivot(column):
        out = table.pivot(index="cohort", columns="period", values=column)
        out.columns.name = "period"
        return out

    return CohortRetention(
        table, pivot("customers"), pivot("retention_rate"), pivot("revenue_retention"), freq
    )


def _last_complete_period(end: pd.Timestamp, freq: str) -> pd.Period:
    last = end.to_period(freq)
    return last - 1 if last.end_time.normalize() > end else last


def _cohort_grid(sizes, customers, revenue, last_period) -> pd.DataFrame:
    """Every observed (cohort, period) cell: sizes, buyers, revenue and the two rates."""
    rows = [
        (c, k, int(size))
        for c, size in sizes.items()
        for k in range(max(last_period.ordinal - c.ordinal + 1, 0))
    ]
    grid = pd.DataFrame(rows, columns=["cohort", "period", "cohort_size"])
    grid = grid.join(customers.rename("customers"), on=["cohort", "period"])
    grid = grid.join(revenue.rename("revenue"), on=["cohort", "period"])
    grid["customers"] = grid["customers"].fillna(0).astype(int)
    grid["revenue"] = grid["revenue"].fillna(0.0)
    grid["retention_rate"] = grid["customers"] / grid["cohort_size"]
    first = grid.loc[grid["period"] == 0].set_index("cohort")["revenue"]
    first_of = first.reindex(grid["cohort"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        grid["revenue_retention"] = np.where(first_of > 0, grid["revenue"] / first_of, np.nan)
    columns = ["cohort", "period", "cohort_size", "customers", "retention_rate", "revenue"]
    return grid[[*columns, "revenue_retention"]].reset_index(drop=True)
