"""Where the value sits: totals by segment (bootstrap over customers) and its concentration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.settings.params import Interval, check_param
from cxlib.settings.validation import DataError, validate_columns


def _bootstrap_totals(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Totals of ``n_boot`` resamples (with replacement) of ``values``, in memory-bounded blocks."""
    n = len(values)
    if n == 0:
        return np.zeros(n_boot)
    totals = np.empty(n_boot)
    block = max(1, min(n_boot, 5_000_000 // n))
    for start in range(0, n_boot, block):
        stop = min(n_boot, start + block)
        picks = rng.integers(0, n, size=(stop - start, n))
        totals[start:stop] = values[picks].sum(axis=1)
    return totals


def segment_value(
    values: pd.DataFrame,
    segments: pd.Series | None = None,
    *,
    value: str = "clv",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Total and mean value per segment, with bootstrap intervals over customers.

    The interval answers "how much would the total move with another draw of customers like
    these": customers are resampled with replacement within each segment. It does not include
    the uncertainty of the model's parameters (see :func:`clv_interval`).

    Parameters
    ----------
    values : DataFrame
        From :func:`customer_value`, indexed by customer.
    segments : Series, optional
        Segment label per customer (indexed by customer id). Customers without a label are
        grouped as "(none)". When not given, one segment "All customers".
    value : str, default "clv"
        Column of ``values`` to total.
    n_boot : int, default 1000
        Bootstrap resamples.
    seed : int, default 0
        Random seed.
    level : float, default 0.95
        Interval coverage.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (largest total first): ``customers``, ``total``, ``total_low``,
        ``total_high``, ``mean``, ``share`` (of the overall total).
    """
    caller = "segment_value"
    validate_columns(values, [value], caller=caller)
    check_param("n_boot", n_boot, Interval(int, 10, None), caller=caller)
    check_param("level", level, Interval(float, 0, 1, closed="neither"), caller=caller)
    data = values[value].astype(float)
    if data.isna().any():
        raise DataError(f"{caller}: column {value!r} has {int(data.isna().sum())} missing value(s)")
    if segments is None:
        labels = pd.Series("All customers", index=values.index)
    else:
        labels = pd.Series(segments).reindex(values.index).astype(object).fillna("(none)")
    rng = np.random.default_rng(seed)
    rows = []
    tail = (1 - level) / 2
    for label, group in data.groupby(labels, sort=True):
        totals = _bootstrap_totals(group.to_numpy(), n_boot, rng)
        rows.append(
            {
                "segment": label,
                "customers": len(group),
                "total": group.sum(),
                "total_low": np.quantile(totals, tail),
                "total_high": np.quantile(totals, 1 - tail),
                "mean": group.mean(),
            }
        )
    out = pd.DataFrame(rows).set_index("segment").sort_values("total", ascending=False)
    grand = data.sum()
    out["share"] = out["total"] / grand if grand != 0 else np.nan
    return out


def value_concentration(values: pd.DataFrame | pd.Series, *, value: str = "clv") -> pd.DataFrame:
    """Lorenz curve of value: the share of value held by the top x% of customers.

    Returns
    -------
    DataFrame
        ``share_of_customers`` (0..1, most valuable first) and ``share_of_value``, starting at
        (0, 0); negative values count as they are.

    Examples
    --------
    >>> curve = value_concentration(pd.Series([1.0, 1.0, 8.0]))
    >>> curve.round(3).values.tolist()
    [[0.0, 0.0], [0.333, 0.8], [0.667, 0.9], [1.0, 1.0]]
    """
    data = values if isinstance(values, pd.Series) else values[value]
    ordered = np.sort(data.to_numpy(dtype=float))[::-1]
    if len(ordered) == 0 or ordered.sum() == 0:
        raise DataError("value_concentration: no customer value to distribute")
    n = len(ordered)
    return pd.DataFrame(
        {
            "share_of_customers": np.arange(n + 1) / n,
            "share_of_value": np.r_[0.0, np.cumsum(ordered)] / ordered.sum(),
        }
    )


def top_share(values: pd.DataFrame | pd.Series, share: float = 0.2, *, value: str = "clv") -> float:
    """Share of the total value held by the most valuable ``share`` of customers.

    Examples
    --------
    >>> top_share(pd.Series([1.0, 1.0, 1.0, 1.0, 6.0]), 0.2)
    0.6
    """
    check_param("share", share, Interval(float, 0, 1, closed="right"), caller="top_share")
    curve = value_concentration(values, value=value)
    return float(np.interp(share, curve["share_of_customers"], curve["share_of_value"]))
