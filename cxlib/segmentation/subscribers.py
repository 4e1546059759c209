"""Segments of subscribers: named groups from tenure and value (or products held).

RFM needs purchases; a subscription client has a contract history instead
(:func:`cxlib.churn.contractual.contract_table`: tenure in whole periods, a churned flag and
attributes). :func:`subscriber_segments` names each customer's segment from two things a
subscription business manages by:

* **how long they have stayed**: *New* (less than a year), *Established* (one to three years),
  *Long-standing* (three years or more), counted in the contract's periods;
* **what they are worth**: with a payment per period (``contract_value``), *high value* (the
  top quarter of payments) or *standard value*; without one, when the table counts the
  products or services a customer holds (a column whose name says ``product`` or
  ``service``), *multi-product* (two or more) or *single-product*; else tenure alone.

:func:`subscriber_profiles` describes each segment with its size, its value (annual recurring
revenue of its active subscribers), its churn (per period, observed; and the mean out-of-fold
risk of its active subscribers when given) and its CLV (when given), the table the summary's
segment cards read.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cxlib.settings import units
from cxlib.settings.headline import Headline
from cxlib.settings.validation import validate_columns

__all__ = [
    "PRODUCT_NAMES",
    "subscriber_headlines",
    "subscriber_profiles",
    "subscriber_segments",
]

#: Attribute names read as a count of products or services held (case-insensitive).
PRODUCT_NAMES = re.compile(r"product|service", re.I)
_PERIODS = ("D", "W", "M", "Q", "Y")


def _products(contracts: pd.DataFrame) -> str | None:
    for name in contracts.columns:
        if not PRODUCT_NAMES.search(str(name)):
            continue
        numbers = pd.to_numeric(contracts[name], errors="coerce")
        if numbers.notna().mean() >= 0.9 and numbers.dropna().ge(0).all() and numbers.max() > 1:
            return str(name)
    return None


def subscriber_segments(contracts: pd.DataFrame, *, value: pd.Series | None = None) -> pd.Series:
    """Name each subscriber's segment from their tenure and value (or products held).

    Parameters
    ----------
    contracts : DataFrame
        From :func:`cxlib.churn.contractual.contract_table` (``attrs["period"]`` its period).
    value : Series, optional
        Payment per period per customer (indexed like ``contracts``).

    Returns
    -------
    Series
        ``segment`` per customer, e.g. ``"Long-standing, high value"``; ``attrs["basis"]``
        says what the second part is read from.

    Examples
    --------
    >>> contracts = pd.DataFrame({"tenure": [0, 5, 30, 50], "churned": [False] * 4,
    ...                           "n_products": [1, 3, 1, 2]}, index=list("abcd"))
    >>> contracts.attrs["period"] = "M"
    >>> subscriber_segments(contracts).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['New, single-product', 'New, multi-product', 'Established, single-product',
     'Long-standing, multi-product']
    """
    validate_columns(contracts, ["tenure", "churned"], caller="subscriber_segments")
    per_year = units.periods_per_year(contracts.attrs.get("period", "M"), codes=_PERIODS)
    years = contracts["tenure"].astype(float) / per_year
    stay = np.select([years < 1, years < 3], ["New", "Established"], default="Long-standing")
    second, basis = None, "tenure"
    if value is not None and value.notna().any():
        pay = value.reindex(contracts.index).astype(float)
        top = pay.quantile(0.75)
        second = np.where(pay > top, "high value", "standard value")
        basis = "tenure and payment per period (high value: the top quarter)"
    else:
        products = _products(contracts)
        if products is not None:
            held = pd.to_numeric(contracts[products], errors="coerce").fillna(1)
            second = np.where(held >= 2, "multi-product", "single-product")
            basis = f"tenure and products held ({products})"
    names = stay if second is None else np.char.add(np.char.add(stay.astype(str), ", "), second)
    segments = pd.Series(names, index=contracts.index, name="segment", dtype=object)
    segments.attrs["basis"] = basis
    return segments


def subscriber_profiles(
    contracts: pd.DataFrame,
    segments: pd.Series,
    *,
    value: pd.Series | None = None,
    clv: pd.Series | None = None,
    risk: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Describe each subscriber segment: size, value, churn, risk and CLV.

    Parameters
    ----------
    contracts : DataFrame
    segments : Series
        From :func:`subscriber_segments`.
    value : Series, optional
        Payment per period; ``revenue`` is then the annual recurring revenue of the segment's
        active subscribers (payment x periods a year).
    clv : Series, optional
        Each customer's remaining CLV (:func:`cxlib.run.value.contract_clv`).
    risk : DataFrame, optional
        The churn page's list of active subscribers at risk (``customer_id``,
        ``churn_probability``, ``revenue_at_risk``), scored out of fold.

    Returns
    -------
    DataFrame
        Indexed by ``segment``, largest revenue (else most customers) first: ``customers``,
        ``customer_share``, ``active``, ``churned``, ``churn_rate`` (per period: churners /
        periods of exposure), then when given ``revenue``, ``revenue_share``,
        ``mean_churn_probability``, ``revenue_at_risk``, ``clv``, ``clv_per_active``.

    Examples
    --------
    >>> contracts = pd.DataFrame({"tenure": [2, 4, 30, 40], "churned": [True, False, False, True]},
    ...                          index=list("abcd"))
    >>> segments = pd.Series(["New", "New", "Old", "Old"], index=list("abcd"))
    >>> subscriber_profiles(contracts, segments)["churn_rate"].round(3).tolist()
    [0.167, 0.014]
    """
    frame = pd.DataFrame(
        {
            "segment": segments.reindex(contracts.index).to_numpy(),
            "churned": contracts["churned"].astype(bool).to_numpy(),
            "exposure": contracts["tenure"].clip(lower=1).astype(float).to_numpy(),
        },
        index=contracts.index,
    )
    frame["active"] = ~frame["churned"]
    per_year = units.periods_per_year(contracts.attrs.get("period", "M"), codes=_PERIODS)
    if value is not None:
        pay = value.reindex(contracts.index).astype(float)
        frame["revenue"] = np.where(frame["active"], pay * per_year, 0.0)
    if clv is not None:
        frame["clv"] = clv.reindex(contracts.index).astype(float).fillna(0.0).to_numpy()
    if risk is not None:
        scored = risk.set_index(risk["customer_id"].astype(str))
        ids = contracts.index.astype(str)
        frame["churn_probability"] = scored["churn_probability"].reindex(ids).to_numpy()
        if "revenue_at_risk" in scored and scored["revenue_at_risk"].notna().any():
            frame["revenue_at_risk"] = scored["revenue_at_risk"].reindex(ids).fillna(0).to_numpy()
    groups = frame.groupby("segment", sort=False)
    out = pd.DataFrame(
        {
            "customers": groups.size(),
            "active": groups["active"].sum().astype(int),
            "churned": groups["churned"].sum().astype(int),
        }
    )
    out.insert(1, "customer_share", out["customers"] / out["customers"].sum())
    out["churn_rate"] = groups["churned"].sum() / groups["exposure"].sum()
    if "revenue" in frame:
        out["revenue"] = groups["revenue"].sum()
        total = out["revenue"].sum()
        out["revenue_share"] = out["revenue"] / total if total > 0 else np.nan
    if "churn_probability" in frame:
        out["mean_churn_probability"] = groups["churn_probability"].mean()
    if "revenue_at_risk" in frame:
        out["revenue_at_risk"] = groups["revenue_at_risk"].sum()
    if "clv" in frame:
        out["clv"] = groups["clv"].sum()
        out["clv_per_active"] = out["clv"] / out["active"].where(out["active"] > 0)
    key = "revenue" if "revenue" in out else "customers"
    out = out.sort_values([key, "customers"], ascending=False, kind="stable")
    out.index = out.index.astype(str)
    out.index.name = "segment"
    return out


def subscriber_headlines(profiles: pd.DataFrame, *, basis: str = "") -> list[Headline]:
    """Return the segmentation page's numbers for a subscription client.

    ``n_segments``; the segment with most revenue (else most customers) and its share; the
    segment with the highest churn rate per period.

    Examples
    --------
    >>> profiles = pd.DataFrame({"customers": [30, 10], "customer_share": [0.75, 0.25],
    ...                          "churn_rate": [0.01, 0.05]}, index=["Loyal", "New"])
    >>> [(h.key, h.value) for h in subscriber_headlines(profiles)]  # doctest: +NORMALIZE_WHITESPACE
    [('n_segments', 2), ('largest_segment', 'Loyal'), ('largest_segment_share', 0.75),
     ('highest_churn_segment', 'New')]
    """
    if "revenue" in profiles and profiles["revenue"].sum() > 0:
        top = profiles["revenue"].idxmax()
        share, what = float(profiles.loc[top, "revenue_share"]), "annual recurring revenue"
    else:
        top = profiles["customers"].idxmax()
        share, what = float(profiles.loc[top, "customer_share"]), "customers"
    note = f"segments from {basis}" if basis else ""
    return [
        Headline("n_segments", "Subscriber segments", int(len(profiles)), unit="count",
                 note=note),
        Headline("largest_segment", f"Segment with the most {what}", str(top), unit="text"),
        Headline("largest_segment_share", f"Its share of {what}", share, unit="percent"),
        Headline("highest_churn_segment", "Segment with the highest churn per period",
                 str(profiles["churn_rate"].idxmax()), unit="text"),
    ]  # fmt: skip
