"""Revenue at risk by segment and the churn page's headline numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib._validation import validate_columns


def revenue_at_risk_by_segment(
    scores: pd.DataFrame, segments: pd.Series | None = None
) -> pd.DataFrame:
    """Sum the scored list by segment: customers, expected churners, value and revenue at risk.

    Parameters
    ----------
    scores : DataFrame
        ``customer_id``, ``churn_probability``, ``value``, ``revenue_at_risk`` (e.g.
        ``ChurnModelResult.scores``).
    segments : Series, optional
        Segment per ``customer_id``; missing -> ``"unknown"``.

    Returns
    -------
    DataFrame
        Indexed by ``segment``: ``customers``, ``expected_churners``, ``mean_churn_probability``,
        ``value``, ``revenue_at_risk``, ``share_of_risk``; highest revenue at risk first.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "churn_probability": [0.5, 0.1],
    ...                   "value": [100.0, 50.0], "revenue_at_risk": [50.0, 5.0]})
    >>> revenue_at_risk_by_segment(s)["revenue_at_risk"].tolist()
    [55.0]
    """
    validate_columns(
        scores,
        ["customer_id", "churn_probability", "value", "revenue_at_risk"],
        caller="revenue_at_risk_by_segment",
    )
    ids = scores["customer_id"].astype(str)
    if segments is None:
        group = pd.Series("all", index=scores.index)
    else:
        seg = segments.copy()
        seg.index = seg.index.astype(str)
        group = pd.Series(
            seg.reindex(ids).astype(object).fillna("unknown").astype(str).to_numpy(),
            index=scores.index,
        )
    out = (
        scores.assign(segment=group)
        .groupby("segment")
        .agg(
            customers=("customer_id", "size"),
            expected_churners=("churn_probability", "sum"),
            mean_churn_probability=("churn_probability", "mean"),
            value=("value", "sum"),
            revenue_at_risk=("revenue_at_risk", "sum"),
        )
    )
    total = out["revenue_at_risk"].sum()
    out["share_of_risk"] = out["revenue_at_risk"] / total if total > 0 else np.nan
    return out.sort_values("revenue_at_risk", ascending=False)
