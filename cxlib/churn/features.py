"""Churn features at a cutoff, from data dated on or before it only, and the labels after it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import (
    DEFAULT_ACTIVE_DAYS,
    DEFAULT_CUSTOMER_CATEGORICALS,
    DEFAULT_CUSTOMER_NUMERICS,
    DEFAULT_FEATURE_LABELS,
    DEFAULT_MAX_LEVELS,
    LeakageError,
    _as_timestamp,
    _customer_base,
    _day,
    _day_numbers,
)
from cxlib.settings.validation import check_transactions, dated_answers, validate_columns


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


class _Bases:
    """The customer bases one call reads, each built once: all history, or a window of days.

    The model and its out-of-time check look at overlapping windows (with a 90-day horizon the
    earlier cutoff's label window is the later cutoff's last 90 days), so they share them.
    """

    def __init__(self, transactions: pd.DataFrame):
        self.transactions = transactions
        self._built: dict = {}
        # the ids are hashed once here, not in every base: the bases see integer codes
        codes, ids = pd.factorize(transactions["customer_id"])
        self._ids = pd.Index(np.asarray(ids).astype(str), name="customer_id")
        self._coded = pd.DataFrame(
            {"customer_id": codes, "date": transactions["date"], "amount": transactions["amount"]}
        )

    def at(self, end: pd.Timestamp, days: int | None = None) -> pd.DataFrame:
        """Give the base at ``end`` of all history (``days=None``) or of the ``days`` before."""
        key = (end, days)
        if key not in self._built:
            tx = self._coded
            keep = tx["date"] <= end
            if days is not None:
                keep &= tx["date"] > end - pd.Timedelta(days=days)
            base = _customer_base(tx.loc[keep], end)
            base.index = self._ids[base.index.to_numpy(dtype=np.int64)]  # text ids, as features
            self._built[key] = base.sort_index()
        return self._built[key]

    def revenue(self, end: pd.Timestamp, days: int) -> pd.Series:
        """Net spend of every customer in the ``days`` up to ``end`` (the base's ``revenue``).

        Read from the transactions rather than a window's base, which leaves out customers
        whose only activity in the window is refunds: their negative revenue counts here.
        """
        tx = self._coded
        window = tx.loc[(tx["date"] <= end) & (tx["date"] > end - pd.Timedelta(days=days))]
        codes = window["customer_id"].to_numpy()
        total = np.bincount(codes, weights=window["amount"].to_numpy(), minlength=len(self._ids))
        seen = np.bincount(codes, minlength=len(self._ids)) > 0
        return pd.Series(total[seen], index=self._ids[seen])


def _purchase_features(bases: _Bases, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Recency, tenure, purchases, revenue and their 90-day trends of every customer.

    Everything comes from the one customer base (:func:`cxlib.customers.customer_base`): at
    the cutoff, and of the windows of the last 90, the prior 90 and the last 365 days, so a
    purchase is a day with positive net spend here as everywhere (the 90-day revenues are the
    net spend in those windows, see :meth:`_Bases.revenue`). Indexed by the customers with a
    purchase up to the cutoff.
    """
    recent_revenue = bases.revenue(cutoff, 90)
    prior_revenue = bases.revenue(cutoff - pd.Timedelta(days=90), 90)
    base = bases.at(cutoff)
    recent = bases.at(cutoff, 90).reindex(base.index)
    prior = bases.at(cutoff - pd.Timedelta(days=90), 90).reindex(base.index)
    year = bases.at(cutoff, 365).reindex(base.index)
    f = pd.DataFrame(
        {
            "recency_days": base["days_since_last"],
            "tenure_days": base["tenure_days"],
            "n_purchases": base["purchases"],
            "n_purchases_90": recent["purchases"].fillna(0.0),
            "n_purchases_prior_90": prior["purchases"].fillna(0.0),
            "n_purchases_365": year["purchases"].fillna(0.0),
            "revenue_total": base["revenue"],
            "revenue_90": recent_revenue.reindex(base.index).fillna(0.0),
            "revenue_prior_90": prior_revenue.reindex(base.index).fillna(0.0),
            "revenue_365": base["revenue_12m"],
            "gross": base["revenue"] + base["refunds"],
            "refunds": base["refunds"],
        },
        index=base.index,
    ).astype(float)
    return _with_ratios(f)


def _with_ratios(f: pd.DataFrame) -> pd.DataFrame:
    """Trends, average purchase, usual gap, overdue ratio and refund share from the counts."""
    n, has_buy = f["n_purchases"], f["n_purchases"] > 0
    f["purchase_trend"] = np.log((f["n_purchases_90"] + 1) / (f["n_purchases_prior_90"] + 1))
    f["revenue_trend"] = np.log1p(f["revenue_90"].clip(lower=0)) - np.log1p(
        f["revenue_prior_90"].clip(lower=0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        f["avg_order_value"] = np.where(has_buy, f["gross"] / np.maximum(n, 1), np.nan)
        active_span = f["tenure_days"] - f["recency_days"]  # first to last purchase
        f["mean_gap_days"] = np.where(n > 1, active_span / np.maximum(n - 1, 1), np.nan)
        f["overdue_ratio"] = f["recency_days"] / f["mean_gap_days"]
        f["refund_share"] = np.where(f["gross"] > 0, f["refunds"] / f["gross"], 0.0)
    return f[list(PURCHASE_FEATURES)]


#: The purchase features, in the order of the feature matrix.
PURCHASE_FEATURES = (
    "recency_days",
    "tenure_days",
    "n_purchases",
    "n_purchases_90",
    "n_purchases_prior_90",
    "n_purchases_365",
    "purchase_trend",
    "revenue_total",
    "revenue_90",
    "revenue_prior_90",
    "revenue_365",
    "revenue_trend",
    "avg_order_value",
    "mean_gap_days",
    "overdue_ratio",
    "refund_share",
)


def _mix_features(history: pd.DataFrame, ids: pd.Index, spec: _FeatureSpec) -> dict:
    """Share of positive spend per kept category and channel, and categories bought."""
    # hash the ids of the rows once; only the distinct ids are turned into text and looked up
    row_codes, distinct = pd.factorize(history["customer_id"])
    position = pd.Index(ids).get_indexer(np.asarray(distinct).astype(str))
    codes = position[row_codes].astype(np.int64)
    scored = codes >= 0  # rows of the customers in ``ids``
    if not scored.all():
        history, codes = history.loc[scored], codes[scored]
    n = len(ids)
    amount = history["amount"].to_numpy(dtype=float)
    positive = np.clip(amount, 0, None)
    f = {}
    if spec.categories:
        k = len(spec.categories)
        level = _level_codes(history["category"], spec.categories)
        shares = _mix_shares(codes, level, k, positive, n)
        for i, name in enumerate(spec.categories):
            f[f"category_share__{_slug(name)}"] = shares[:, i]
        bought = (amount > 0) & (level >= 0)
        seen = np.bincount(codes[bought] * k + level[bought], minlength=n * k).reshape(n, k)
        f["n_categories"] = (seen > 0).sum(axis=1).astype(float)
    if spec.channels:
        level = _level_codes(history["channel"], spec.channels)
        shares = _mix_shares(codes, level, len(spec.channels), positive, n)
        for i, name in enumerate(spec.channels):
            f[f"channel_share__{_slug(name)}"] = shares[:, i]
    return f


def _attribute_features(customers: pd.DataFrame, ids: pd.Index, spec: _FeatureSpec) -> dict:
    """Acquisition attributes from the customers table: numbers as they are, levels as 0/1."""
    unique = customers.drop_duplicates("customer_id")
    cust = unique.set_index(unique["customer_id"].astype(str)).reindex(ids)
    f = {}
    for column in spec.customer_numerics:
        f[column] = pd.to_numeric(cust[column], errors="coerce").to_numpy()
    for column, levels in spec.customer_levels.items():
        values = cust[column].astype(str)
        for level in levels[1:]:  # first (most common) level is the reference
            f[f"{column}__{_slug(level)}"] = (values == level).to_numpy(dtype=float)
    return f


def _complaint_features(feedback: pd.DataFrame | None, ids: pd.Index, cutoff_day: int) -> dict:
    """Complaints per customer: all time, in the last 90 days, and days since the last one."""
    fb = feedback if feedback is not None else pd.DataFrame(columns=["customer_id", "date"])
    fb_id = fb["customer_id"].astype(str)
    fb_age = (
        cutoff_day - _day_numbers(pd.to_datetime(fb["date"]))
        if len(fb)
        else np.array([], dtype=np.int64)
    )
    latest = pd.Series(fb_age, index=fb_id.to_numpy()).groupby(level=0).min()
    return {
        "n_complaints": fb_id.value_counts().reindex(ids).fillna(0).to_numpy(),
        "n_complaints_90": fb_id[fb_age < 90].value_counts().reindex(ids).fillna(0).to_numpy(),
        "days_since_complaint": latest.reindex(ids).to_numpy(dtype=float),
    }


def _survey_features(surveys: pd.DataFrame | None, ids: pd.Index) -> dict:
    """Last and mean survey score and the number of answers per customer."""
    sv = surveys if surveys is not None else pd.DataFrame(columns=["customer_id", "date", "score"])
    sv = sv.assign(customer_id=sv["customer_id"].astype(str)).sort_values(
        ["customer_id", "date"], kind="stable"
    )
    grouped = sv.groupby("customer_id")["score"]
    return {
        "survey_last_score": grouped.last().reindex(ids).to_numpy(dtype=float),
        "survey_mean_score": grouped.mean().reindex(ids).to_numpy(dtype=float),
        "n_surveys": grouped.size().reindex(ids).fillna(0).to_numpy(dtype=float),
    }


def _build_features(
    history: pd.DataFrame,
    cutoff: pd.Timestamp,
    spec: _FeatureSpec,
    *,
    customers=None,
    surveys=None,
    feedback=None,
    active_days: int = DEFAULT_ACTIVE_DAYS,
    bases: _Bases | None = None,
) -> pd.DataFrame:
    """Build the feature matrix of the customers active at the cutoff.

    Refuses any row dated after the cutoff (:class:`LeakageError`). ``bases`` shares the
    customer bases of one call; it only ever gives windows ending on or before the cutoff.
    """
    _guard_no_future(history, cutoff, "transactions")
    _guard_no_future(surveys, cutoff, "surveys")
    _guard_no_future(feedback, cutoff, "feedback")
    features = _purchase_features(_Bases(history) if bases is None else bases, cutoff)
    features = features.loc[features["recency_days"] < active_days]  # active at the cutoff
    ids = features.index
    parts = [_mix_features(history, ids, spec)]
    if customers is not None and (spec.customer_levels or spec.customer_numerics):
        parts.append(_attribute_features(customers, ids, spec))
    if spec.use_feedback:
        parts.append(_complaint_features(feedback, ids, _day(cutoff)))
    if spec.use_surveys:
        parts.append(_survey_features(surveys, ids))
    extra = {name: values for part in parts for name, values in part.items()}
    return pd.concat([features, pd.DataFrame(extra, index=ids)], axis=1)


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


@dataclass
class _Sources:
    """A client's checked tables as the feature builder reads them, cut at a last day.

    Built once per call; :meth:`features` cuts every table at the date it is asked for, so the
    model, its out-of-time check and the scoring read the same rows the same way.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    feedback: pd.DataFrame | None = None
    bases: _Bases | None = None

    def __post_init__(self):
        self.bases = _Bases(self.transactions)

    @classmethod
    def checked(cls, transactions, *, customers=None, surveys=None, feedback=None, caller):
        """Check the tables once (transactions by the one policy, side tables' columns)."""
        last = pd.Timestamp.max
        return cls(
            check_transactions(transactions, caller=caller),
            customers,
            _prepare_side(
                dated_answers(surveys, caller=caller),
                last,
                ["customer_id", "date", "score"],
                caller,
                "surveys",
            ),
            _prepare_side(feedback, last, ["customer_id", "date"], caller, "feedback"),
        )

    def until(self, day: pd.Timestamp) -> tuple:
        """Transactions, surveys and feedback dated on or before ``day``."""

        def cut(frame):
            return None if frame is None else frame.loc[frame["date"] <= day]

        return cut(self.transactions), cut(self.surveys), cut(self.feedback)

    def spec(self, cutoff: pd.Timestamp, max_levels: int = DEFAULT_MAX_LEVELS) -> _FeatureSpec:
        """Learn the levels to encode from the history up to ``cutoff``."""
        history, surveys, feedback = self.until(cutoff)
        return _make_spec(history, self.customers, surveys, feedback, max_levels)

    def features(self, cutoff: pd.Timestamp, spec: _FeatureSpec, active_days: int):
        """Build the feature matrix of the customers active at ``cutoff``."""
        history, surveys, feedback = self.until(cutoff)
        return _build_features(
            history,
            cutoff,
            spec,
            customers=self.customers,
            surveys=surveys,
            feedback=feedback,
            active_days=active_days,
            bases=self.bases,
        )

    def labels(self, ids: pd.Index, cutoff: pd.Timestamp, horizon_days: int) -> pd.Series:
        """Whether each customer made no purchase in the horizon after ``cutoff``."""
        return _labels(self.bases, ids, cutoff, horizon_days)


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
    cutoff = _as_timestamp(cutoff, "cutoff", caller)
    sources = _Sources.checked(
        transactions, customers=customers, surveys=surveys, feedback=feedback, caller=caller
    )
    return sources.features(cutoff, sources.spec(cutoff, max_levels), active_days)


def _labels(bases: _Bases, ids: pd.Index, cutoff: pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 = no purchase in (cutoff, cutoff + horizon] (churned), 0 = bought again.

    A purchase is a day with positive net spend, as in the customer base.
    """
    window_end = cutoff + pd.Timedelta(days=int(horizon_days))
    bought = bases.at(window_end, int(horizon_days)).index
    return pd.Series(~ids.isin(bought), index=ids, name="churned").astype(int)
