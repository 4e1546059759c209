"""Cohort retention: acquisition cohorts x periods since acquisition."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib._validation import DataError, check_transactions
from cxlib.churn._common import _observation_end


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
    transactions : DataFrame
        Canonical transactions.
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
    transactions = check_transactions(transactions, caller=caller)
    if freq not in ("M", "Q", "W"):
        raise ValueError(
            f"The 'freq' parameter of {caller} must be one of ['M', 'Q', 'W']. "
            f"Got {freq!r} instead."
        )
    end = _observation_end(transactions, observation_end)
    tx = transactions.loc[transactions["date"] <= end, ["customer_id", "date", "amount"]]
    first = tx.loc[tx["amount"] > 0].groupby("customer_id")["date"].min()
    if first.empty:
        raise DataError(f"{caller}: no purchase (positive amount) to define cohorts from")
    tx = tx.loc[tx["customer_id"].isin(first.index)]
    cohort = first.dt.to_period(freq)
    period_of = tx["date"].dt.to_period(freq)
    cohort_of = cohort.reindex(tx["customer_id"]).to_numpy()
    age = np.array([p.ordinal for p in period_of.array]) - np.array([c.ordinal for c in cohort_of])
    frame = pd.DataFrame(
        {
            "cohort": cohort_of,
            "period": age,
            "customer_id": tx["customer_id"].to_numpy(),
            "amount": tx["amount"].to_numpy(),
            "buy": tx["amount"].to_numpy() > 0,
        }
    )
    customers = frame.loc[frame["buy"]].groupby(["cohort", "period"])["customer_id"].nunique()
    revenue = frame.groupby(["cohort", "period"])["amount"].sum()
    last_period = end.to_period(freq)
    if last_period.end_time.normalize() > end:  # the last period is incomplete
        last_period = last_period - 1
    sizes = cohort.value_counts().sort_index()
    rows = []
    for c, size in sizes.items():
        n_periods = last_period.ordinal - c.ordinal + 1
        for k in range(max(n_periods, 0)):
            rows.append((c, k, int(size)))
    grid = pd.DataFrame(rows, columns=["cohort", "period", "cohort_size"])
    grid = grid.join(customers.rename("customers"), on=["cohort", "period"])
    grid = grid.join(revenue.rename("revenue"), on=["cohort", "period"])
    grid["customers"] = grid["customers"].fillna(0).astype(int)
    grid["revenue"] = grid["revenue"].fillna(0.0)
    grid["retention_rate"] = grid["customers"] / grid["cohort_size"]
    base = grid.loc[grid["period"] == 0].set_index("cohort")["revenue"]
    base_of = base.reindex(grid["cohort"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        grid["revenue_retention"] = np.where(base_of > 0, grid["revenue"] / base_of, np.nan)
    table = grid[
        [
            "cohort",
            "period",
            "cohort_size",
            "customers",
            "retention_rate",
            "revenue",
            "revenue_retention",
        ]
    ].reset_index(drop=True)
    if table.empty:
        warnings.warn(f"{caller}: no complete {freq} period in the data", stacklevel=2)

    def pivot(column):
        out = table.pivot(index="cohort", columns="period", values=column)
        out.columns.name = "period"
        return out

    return CohortRetention(
        table, pivot("customers"), pivot("retention_rate"), pivot("revenue_retention"), freq
    )
