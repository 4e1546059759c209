"""Cross-sell gaps: categories a segment buys less often than comparable customers do.

:func:`penetration_gaps` compares each segment with the customers who spend as much (spend
bands), category by category; public through :mod:`cxlib.segmentation.wallet`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.segmentation._wallet_spend import (
    _TRAILING_DAYS,
    _not_applicable,
    _text_ids,
    active_customers,
)
from cxlib.segmentation.features import _base_for, _row_numbers
from cxlib.settings.params import Interval, check_param, check_positive_int
from cxlib.settings.validation import check_transactions, segment_series


def penetration_gaps(
    transactions: pd.DataFrame,
    segments,
    *,
    base: pd.DataFrame | None = None,
    active: pd.Series | None = None,
    min_customers: int = 30,
    spend_bands: int = 4,
    target_quantile: float = 0.75,
) -> pd.DataFrame:
    """Cross-sell opportunities: categories a segment buys less often than comparable customers.

    Only active customers count (see :func:`cxlib.segmentation.wallet.estimate_wallet`), and
    only their purchases of the trailing 12 months. Customers are compared with customers who
    spend as much: each active customer falls in one of ``spend_bands`` bands of trailing
    12-month spend (quantiles). In a band, a category's **target penetration** is the
    ``target_quantile`` of the penetrations of the segments with at least ``min_customers``
    customers in that band (a high but reachable benchmark among lookalikes, not the best
    segment, not 100%). A segment's gap in the band is the target minus its own penetration
    (never negative); the opportunity values the missing buyers at the band's 12-month spend per
    buyer of the category. Rows sum the bands.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions with a ``category`` column.
    segments : Series or DataFrame
        Segment per customer.
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (e.g. ``client.base``); built when omitted.
    active : Series of bool, optional
        Active customers; default ``~base["churned"]`` or a purchase in the trailing 12 months.
    min_customers : int
        Segments with fewer customers in a band do not set that band's target.
    spend_bands : int
        Number of spend bands (quantiles of trailing 12-month spend).
    target_quantile : float
        Quantile of the lookalike segments' penetrations taken as the target, in [0.5, 1].

    Returns
    -------
    DataFrame
        One row per (``segment``, ``category``), sorted by ``opportunity`` (descending):
        ``customers`` (active), ``buyers`` (in the last 12 months), ``penetration``,
        ``target_penetration`` (customer-weighted over the bands), ``penetration_gap``,
        ``new_buyers`` (gap x customers, summed over bands), ``spend_per_buyer`` (12-month net
        revenue per buyer of the category, the bands' average weighted by new buyers) and
        ``opportunity`` (annual net revenue: ``new_buyers x spend_per_buyer``). Empty, with the
        reason in ``attrs["note"]``, when the transactions have no ``category`` column or no
        cell has ``min_customers`` customers.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": list("abcdef"), "category": list("xxxyxy"),
    ...                    "amount": 10.0, "date": pd.Timestamp("2024-01-01")})
    >>> seg = pd.Series({"a": "s1", "b": "s1", "c": "s1", "d": "s2", "e": "s2", "f": "s2"})
    >>> gaps = penetration_gaps(tx, seg, min_customers=1, spend_bands=1, target_quantile=1.0)
    >>> columns = ["segment", "category", "penetration", "target_penetration"]
    >>> gaps.loc[0, columns].astype(str).tolist()
    ['s1', 'y', '0.0', '0.6666666666666666']
    """
    caller = "penetration_gaps"
    tx = _text_ids(check_transactions(transactions, caller=caller))
    columns = [
        "segment",
        "category",
        "customers",
        "buyers",
        "penetration",
        "target_penetration",
        "penetration_gap",
        "new_buyers",
        "spend_per_buyer",
        "opportunity",
    ]
    if "category" not in tx.columns:
        return _not_applicable(
            columns, "No penetration gaps: the transactions have no 'category' column."
        )
    check_positive_int(spend_bands, "spend_bands", caller=caller)
    check_param("target_quantile", target_quantile, Interval(float, 0.5, 1), caller=caller)
    seg = segment_series(segments, caller=caller)
    base = _base_for(tx, base, None, caller, columns=["revenue_12m"])
    ids = active_customers(base, active, caller=caller).intersection(seg.index, sort=False)
    spend = base.set_axis(base.index.astype(str)).loc[ids, "revenue_12m"].astype(float)
    band = _spend_band(spend, spend_bands)
    end = pd.Timestamp(base.attrs.get("observation_end", tx["date"].max()))
    dates = tx["date"]
    recent = tx.loc[(dates > end - pd.Timedelta(days=_TRAILING_DAYS)) & (dates <= end)]
    rows = _row_numbers(recent["customer_id"], ids)  # the customer's position in ids, or -1
    categories = sorted(tx["category"].unique())
    lines = pd.DataFrame(
        {
            "row": rows,
            "category": pd.Categorical(recent["category"], categories=categories).codes,
            "amount": recent["amount"].to_numpy(dtype=float),
        }
    )
    lines = lines.loc[(lines["row"] >= 0) & (lines["category"] >= 0)]
    cells = _band_cells(lines, seg.loc[ids], band, categories)
    eligible = cells[cells["customers"] >= min_customers]
    if eligible.empty:
        return _not_applicable(
            columns,
            f"No penetration gaps: no segment and spend band has {min_customers} active customers.",
        )
    target = eligible.groupby(["band", "category"])["penetration"].quantile(target_quantile)
    cells["target_penetration"] = (
        target.reindex(pd.MultiIndex.from_frame(cells[["band", "category"]])).fillna(0.0).to_numpy()
    )
    cells["new_buyers"] = (cells["target_penetration"] - cells["penetration"]).clip(
        lower=0
    ) * cells["customers"]
    per_buyer = (
        cells.groupby(["band", "category"])[["spend", "buyers"]]
        .sum()
        .pipe(lambda t: t["spend"] / t["buyers"].where(t["buyers"] > 0))
    )
    cells["spend_per_buyer"] = (
        per_buyer.reindex(pd.MultiIndex.from_frame(cells[["band", "category"]]))
        .fillna(0.0)
        .to_numpy()
    )
    cells["opportunity"] = cells["new_buyers"] * cells["spend_per_buyer"]
    cells["target_buyers"] = cells["target_penetration"] * cells["customers"]
    out = cells.groupby(["segment", "category"])[
        ["customers", "buyers", "target_buyers", "new_buyers", "opportunity"]
    ].sum()
    out["penetration"] = out["buyers"] / out["customers"]
    out["target_penetration"] = out["target_buyers"] / out["customers"]
    out["penetration_gap"] = out["new_buyers"] / out["customers"]
    out["spend_per_buyer"] = (
        out["opportunity"] / out["new_buyers"].where(out["new_buyers"] > 0)
    ).fillna(0.0)
    out = out[columns[2:]].astype({"customers": int, "buyers": int})
    return out.sort_values("opportunity", ascending=False, kind="stable").reset_index()


def _spend_band(spend: pd.Series, bands: int) -> pd.Series:
    """Return the band 0..bands-1 of trailing spend (quantiles of ranks; ties share a band)."""
    ranks = spend.rank(method="min", pct=True).to_numpy()
    band = np.minimum(np.floor((ranks - 1e-12) * bands), bands - 1).astype(int)
    return pd.Series(np.clip(band, 0, None), index=spend.index, name="band")


def _band_cells(lines: pd.DataFrame, seg: pd.Series, band: pd.Series, categories) -> pd.DataFrame:
    """Count customers, buyers and 12-month spend per (segment, band, category).

    ``lines`` are the trailing 12 months' transactions as integer codes: ``row`` (the
    customer's position in ``seg``), ``category`` (position in ``categories``), ``amount``.
    A buyer is a customer with a positive line in the category (counted once).
    """
    keys = pd.DataFrame({"segment": seg, "band": band.reindex(seg.index)})
    sizes = keys.groupby(["segment", "band"]).size().rename("customers")
    # one cell number per (segment, band) of each customer, then per category
    cell_of_customer = sizes.index.get_indexer(pd.MultiIndex.from_frame(keys))
    n_categories = len(categories)
    row, category = lines["row"].to_numpy(), lines["category"].to_numpy(dtype=np.int64)
    flat = cell_of_customer[row].astype(np.int64) * n_categories + category
    size = len(sizes) * n_categories
    spend = np.bincount(flat, weights=lines["amount"].to_numpy(), minlength=size)
    positive = lines["amount"].to_numpy() > 0
    bought = np.unique(row[positive].astype(np.int64) * n_categories + category[positive])
    buyer_cells = cell_of_customer[bought // n_categories] * n_categories + bought % n_categories
    buyers = np.bincount(buyer_cells, minlength=size)
    grid = pd.MultiIndex.from_tuples(
        [(s, b, c) for (s, b) in sizes.index for c in categories],
        names=["segment", "band", "category"],
    )
    cells = pd.DataFrame(index=grid)
    cells["customers"] = np.repeat(sizes.to_numpy(), n_categories)
    cells["buyers"] = buyers.astype(int)
    cells["spend"] = spend
    cells["penetration"] = cells["buyers"] / cells["customers"]
    return cells.reset_index()
