"""Churn features at a cutoff, from data dated on or before it only, and the labels after it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib._validation import check_transactions, validate_columns
from cxlib.churn._common import (
    DEFAULT_ACTIVE_DAYS,
    DEFAULT_CUSTOMER_CATEGORICALS,
    DEFAULT_CUSTOMER_NUMERICS,
    DEFAULT_FEATURE_LABELS,
    DEFAULT_MAX_LEVELS,
    LeakageError,
    _as_timestamp,
    _day,
    _day_numbers,
)


@dataclass
class _FeatureSpec:
    """What the feature builder learned at training time (levels), reused when scoring."""

    categories: list
    channels: list
    customer_levels: dict
    customer_numerics: list
    use_surveys: bool
    use_feedback: bool


def _guard_no_future(frame: pd.DataFrame | None, cutoff: pd.Timestamp, name: str) -> None:
    """Raise LeakageError when ``frame`` holds rows dated after ``cutoff``."""
    if frame is None or frame.empty:
        return
    latest = pd.to_datetime(frame["date"]).max()
    if latest > cutoff:
        raise LeakageError(
            f"{name} dated up to {latest.date()} reached the feature builder for cutoff "
            f"{cutoff.date()}: features must only use data on or before the cutoff"
        )


def _top_levels(values: pd.Series, weights: pd.Series, k: int) -> list:
    totals = weights.groupby(values.astype(str)).sum().sort_values(ascending=False)
    return list(totals.index[:k])


def _make_spec(history, customers, surveys, feedback, max_levels) -> _FeatureSpec:
    positive = history["amount"].clip(lower=0)
    categories = (
        _top_levels(history["category"], positive, max_levels) if "category" in history else []
    )
    channels = _top_levels(history["channel"], positive, max_levels) if "channel" in history else []
    levels, numerics = {}, []
    if customers is not None:
        for column in DEFAULT_CUSTOMER_CATEGORICALS:
            if column in customers.columns:
                counts = customers[column].astype(str).value_counts()
                levels[column] = list(counts.index[:max_levels])
        numerics = [c for c in DEFAULT_CUSTOMER_NUMERICS if c in customers.columns]
    return _FeatureSpec(
        categories, channels, levels, numerics, surveys is not None, feedback is not None
    )


def _level_codes(values: pd.Series, levels: list) -> np.ndarray:
    """Position of each value in ``levels`` (-1 for any other value), by hashing."""
    return pd.Categorical(values.astype(str), categories=levels).codes.astype(np.int64)


def _mix_shares(codes, level_codes, k, amounts, n):
    """Share of positive spend per level: an (n, k) array."""
    known = level_codes >= 0
    flat = codes[known] * k + level_codes[known]
    sums = np.bincount(flat, weights=amounts[known], minlength=n * k).reshape(n, k)
    total = np.bincount(codes, weights=amounts, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total[:, None] > 0, sums / total[:, None], 0.0)


def _slug(value) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(value).lower()).strip("_")


def _build_features(
    history: pd.DataFrame,
    cutoff: pd.Timestamp,
    spec: _FeatureSpec,
    *,
    customers=None,
    surveys=None,
    feedback=None,
    active_days: int = DEFAULT_ACTIVE_DAYS,
) -> pd.DataFrame:
    """Vectorised feature build; refuses any row dated after the cutoff (LeakageError)."""
    _guard_no_future(history, cutoff, "transactions")
    _guard_no_future(surveys, cutoff, "surveys")
    _guard_no_future(feedback, cutoff, "feedback")
    c = _day(cutoff)
    codes, ids = pd.factorize(history["customer_id"], sort=True)  # hashing, not sorting rows
    codes = codes.astype(np.int64)
    ids = np.asarray(ids).astype(str)
    n = len(ids)
    day = _day_numbers(history["date"])
    amount = history["amount"].to_numpy(dtype=float)
    buy = amount > 0
    # distinct purchase days: first row of every (customer, day) pair among purchases;
    # one sort of a combined integer key (customer code, day offset)
    offset = day - (day.min() if len(day) else 0)
    order = np.argsort((codes << 32) | offset, kind="stable")
    s_codes, s_day, s_buy = codes[order], day[order], buy[order]
    b_codes, b_day = s_codes[s_buy], s_day[s_buy]
    new_day = np.ones(len(b_codes), dtype=bool)
    new_day[1:] = (b_codes[1:] != b_codes[:-1]) | (b_day[1:] != b_day[:-1])
    u_codes, u_day = b_codes[new_day], b_day[new_day]
    n_purchases = np.bincount(u_codes, minlength=n).astype(float)
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    if len(u_codes):  # rows are sorted by (customer, day): first and last row of each run
        starts = np.flatnonzero(np.r_[True, u_codes[1:] != u_codes[:-1]])
        ends = np.r_[starts[1:], len(u_codes)] - 1
        first[u_codes[starts]] = u_day[starts]
        last[u_codes[ends]] = u_day[ends]
    has_buy = n_purchases > 0
    age = c - u_day  # days before cutoff (0 = the cutoff day)

    def count(lo, hi):  # purchases dated in (cutoff - hi, cutoff - lo]
        mask = (age >= lo) & (age < hi)
        return np.bincount(u_codes[mask], minlength=n).astype(float)

    tx_age = c - day

    def revenue(lo, hi):
        mask = (tx_age >= lo) & (tx_age < hi)
        return np.bincount(codes[mask], weights=amount[mask], minlength=n)

    f = {}
    recency = np.where(has_buy, c - last, np.nan).astype(float)
    tenure = np.where(has_buy, c - first, np.nan).astype(float)
    f["recency_days"] = recency
    f["tenure_days"] = tenure
    f["n_purchases"] = n_purchases
    f["n_purchases_90"] = count(0, 90)
    f["n_purchases_prior_90"] = count(90, 180)
    f["n_purchases_365"] = count(0, 365)
    f["purchase_trend"] = np.log((f["n_purchases_90"] + 1) / (f["n_purchases_prior_90"] + 1))
    f["revenue_total"] = np.bincount(codes, weights=amount, minlength=n)
    f["revenue_90"] = revenue(0, 90)
    f["revenue_prior_90"] = revenue(90, 180)
    f["revenue_365"] = revenue(0, 365)
    f["revenue_trend"] = np.log1p(np.clip(f["revenue_90"], 0, None)) - np.log1p(
        np.clip(f["revenue_prior_90"], 0, None)
    )
    gross = np.bincount(codes, weights=np.clip(amount, 0, None), minlength=n)
    refunds = np.bincount(codes, weights=np.clip(-amount, 0, None), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["avg_order_value"] = np.where(has_buy, gross / np.maximum(n_purchases, 1), np.nan)
        gap = np.where(n_purchases > 1, (last - first) / np.maximum(n_purchases - 1, 1), np.nan)
        f["mean_gap_days"] = gap
        f["overdue_ratio"] = recency / gap
        f["refund_share"] = np.where(gross > 0, refunds / gross, 0.0)
    positive = np.clip(amount, 0, None)
    if spec.categories:
        k = len(spec.categories)
        level = _level_codes(history["category"], spec.categories)
        shares = _mix_shares(codes, level, k, positive, n)
        for i, name in enumerate(spec.categories):
            f[f"category_share__{_slug(name)}"] = shares[:, i]
        bought = buy & (level >= 0)
        seen = np.bincount(codes[bought] * k + level[bought], minlength=n * k).reshape(n, k)
        f["n_categories"] = (seen > 0).sum(axis=1).astype(float)
    if spec.channels:
        level = _level_codes(history["channel"], spec.channels)
        shares = _mix_shares(codes, level, len(spec.channels), positive, n)
        for i, name in enumerate(spec.channels):
            f[f"channel_share__{_slug(name)}"] = shares[:, i]
    features = pd.DataFrame(f, index=pd.Index(ids, name="customer_id"))

    if customers is not None and (spec.customer_levels or spec.customer_numerics):
        cust = customers.drop_duplicates("customer_id").set_index(
            customers.drop_duplicates("customer_id")["customer_id"].astype(str)
        )
        cust = cust.reindex(features.index)
        for column in spec.customer_numerics:
            features[column] = pd.to_numeric(cust[column], errors="coerce").to_numpy()
        for column, levels in spec.customer_levels.items():
            values = cust[column].astype(str)
            for level in levels[1:]:  # first (most common) level is the reference
                features[f"{column}__{_slug(level)}"] = (values == level).to_numpy(dtype=float)
    if spec.use_feedback:
        fb = feedback if feedback is not None else pd.DataFrame(columns=["customer_id", "date"])
        fb_id = fb["customer_id"].astype(str)
        fb_age = (
            c - _day_numbers(pd.to_datetime(fb["date"]))
            if len(fb)
            else np.array([], dtype=np.int64)
        )
        fb_counts = fb_id.value_counts()
        features["n_complaints"] = fb_counts.reindex(features.index).fillna(0).to_numpy()
        recent = fb_id[fb_age < 90].value_counts()
        features["n_complaints_90"] = recent.reindex(features.index).fillna(0).to_numpy()
        latest = pd.Series(fb_age, index=fb_id.to_numpy()).groupby(level=0).min()
        features["days_since_complaint"] = latest.reindex(features.index).to_numpy(dtype=float)
    if spec.use_surveys:
        sv = (
            surveys
            if surveys is not None
            else pd.DataFrame(columns=["customer_id", "date", "score"])
        )
        sv = sv.assign(customer_id=sv["customer_id"].astype(str)).sort_values(
            ["customer_id", "date"], kind="stable"
        )
        grouped = sv.groupby("customer_id")["score"]
        features["survey_last_score"] = grouped.last().reindex(features.index).to_numpy(dtype=float)
        features["survey_mean_score"] = grouped.mean().reindex(features.index).to_numpy(dtype=float)
        features["n_surveys"] = (
            grouped.size().reindex(features.index).fillna(0).to_numpy(dtype=float)
        )
    active = has_buy & (recency < active_days)
    return features.loc[active]


def _feature_label(column: str) -> str:
    if column in DEFAULT_FEATURE_LABELS:
        return DEFAULT_FEATURE_LABELS[column]
    if column.startswith("category_share__"):
        return f"Share of spend in {column.split('__', 1)[1].replace('_', ' ')}"
    if column.startswith("channel_share__"):
        return f"Share of spend via {column.split('__', 1)[1].replace('_', ' ')}"
    if "__" in column:
        name, level = column.split("__", 1)
        return f"{name.replace('_', ' ').capitalize()} is {level.replace('_', ' ')}"
    return column.replace("_", " ").capitalize()


def _prepare_side(frame, cutoff, required, caller, name):
    if frame is None:
        return None
    validate_columns(frame, required, caller=caller, source=name)
    frame = frame.assign(date=pd.to_datetime(frame["date"]))
    return frame.loc[frame["date"] <= cutoff]


def churn_features(
    transactions: pd.DataFrame,
    *,
    cutoff,
    customers: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    active_days: int = DEFAULT_ACTIVE_DAYS,
    max_levels: int = DEFAULT_MAX_LEVELS,
) -> pd.DataFrame:
    """Features of every customer active at ``cutoff``, from data dated on or before it only.

    A customer is *active at the cutoff* when they made a purchase in the ``active_days``
    days up to and including the cutoff (``recency_days < active_days``).

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions; ``category`` and ``channel`` add spend-mix features.
    cutoff : date-like
        Last day of history.
    customers, surveys, feedback : DataFrame, optional
        Add acquisition features, survey answers and complaint counts (rows after the
        cutoff are ignored).
    active_days : int, default 365
    max_levels : int, default 8
        Category / channel / attribute levels kept.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``; columns documented in ``DEFAULT_FEATURE_LABELS`` plus
        ``category_share__*``, ``channel_share__*`` and ``<attribute>__<level>`` indicators.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-06-01"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> churn_features(tx, cutoff="2025-03-31")[["recency_days", "n_purchases"]].to_dict("index")
    {'a': {'recency_days': 30.0, 'n_purchases': 2.0}}
    """
    caller = "churn_features"
    transactions = check_transactions(transactions, caller=caller)
    cutoff = _as_timestamp(cutoff, "cutoff", caller)
    history = transactions.loc[transactions["date"] <= cutoff]
    surveys = _prepare_side(surveys, cutoff, ["customer_id", "date", "score"], caller, "surveys")
    feedback = _prepare_side(feedback, cutoff, ["customer_id", "date"], caller, "feedback")
    spec = _make_spec(history, customers, surveys, feedback, max_levels)
    return _build_features(
        history,
        cutoff,
        spec,
        customers=customers,
        surveys=surveys,
        feedback=feedback,
        active_days=active_days,
    )


def _labels(transactions: pd.DataFrame, ids: pd.Index, cutoff: pd.Timestamp, horizon_days: int):
    """1 = no purchase in (cutoff, cutoff + horizon] (churned), 0 = bought again."""
    window_end = cutoff + pd.Timedelta(days=int(horizon_days))
    window = transactions.loc[
        (transactions["date"] > cutoff)
        & (transactions["date"] <= window_end)
        & (transactions["amount"] > 0),
        "customer_id",
    ].astype(str)
    return pd.Series(~ids.isin(window.unique()), index=ids, name="churned").astype(int)


