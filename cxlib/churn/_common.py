"""Shared settings and small helpers of the churn subpackage (dates, checks, threads)."""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cxlib.customers import NET_SPEND_TOLERANCE, customer_base
from cxlib.settings.dates import to_timestamp

# --- business rules (module-level, overridable per call) --------------------------------------
#: Quantile of the inter-purchase gaps used as the inactivity threshold.
DEFAULT_INACTIVITY_QUANTILE = 0.90
#: A customer is "active at the cutoff" when they bought at least once in the last N days.
DEFAULT_ACTIVE_DAYS = 365
#: Days of history needed before an earlier cutoff for an out-of-time evaluation.
DEFAULT_MIN_HISTORY_DAYS = 180
#: Category / channel levels kept as mix features (the rest are pooled as "other").
DEFAULT_MAX_LEVELS = 8
#: Customer-table columns used as features when present (never dates such as contract_end).
DEFAULT_CUSTOMER_CATEGORICALS = ("acquisition_channel", "channel", "region")
DEFAULT_CUSTOMER_NUMERICS = ("acquisition_cost",)
#: Gradient-boosting settings (sklearn HistGradientBoostingClassifier keywords).
#: Small, slow, regularised trees: churn signal is mostly smooth in recency and frequency, and
#: on the demo these beat the logistic baseline on every one of five splits where 15-leaf
#: trees at rate 0.05 tied it on two (held-out ROC AUC +0.004 on average).
DEFAULT_GBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.03,
    "max_iter": 400,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 100,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.15,
    "n_iter_no_change": 20,
}

#: Plain-language names of the model's features (mix features are named on the fly).
DEFAULT_FEATURE_LABELS: dict[str, str] = {
    "recency_days": "Days since last purchase",
    "tenure_days": "Days since first purchase",
    "n_purchases": "Number of purchases (all time)",
    "n_purchases_90": "Purchases in the last 90 days",
    "n_purchases_prior_90": "Purchases 91-180 days ago",
    "n_purchases_365": "Purchases in the last 12 months",
    "purchase_trend": "Purchase trend (last 90 days vs the 90 before)",
    "revenue_total": "Revenue (all time)",
    "revenue_90": "Revenue in the last 90 days",
    "revenue_prior_90": "Revenue 91-180 days ago",
    "revenue_365": "Revenue in the last 12 months",
    "revenue_trend": "Revenue trend (last 90 days vs the 90 before)",
    "avg_order_value": "Average purchase value",
    "mean_gap_days": "Usual days between purchases",
    "overdue_ratio": "Days since last purchase / usual gap",
    "refund_share": "Share of spend refunded",
    "n_categories": "Number of categories bought",
    "n_complaints": "Complaints (all time)",
    "n_complaints_90": "Complaints in the last 90 days",
    "days_since_complaint": "Days since last complaint",
    "survey_last_score": "Last NPS survey score",
    "survey_mean_score": "Average NPS survey score",
    "n_surveys": "Number of NPS surveys answered",
    "acquisition_cost": "Acquisition cost",
}


class LeakageError(RuntimeError):
    """Raised when data dated after the cutoff reaches the feature builder."""


#: Below this many transaction rows the models run single-threaded: OpenMP threads cost more
#: than they save on small data, and collapse when the machine is busy (e.g. parallel tests).
DEFAULT_PARALLEL_MIN_ROWS = 1_000_000


def _thread_limited(function):
    """Run ``function`` with one OpenMP thread when its transactions are small."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import sklearn.ensemble  # noqa: F401 (load the OpenMP runtime so the limit applies)
        from threadpoolctl import threadpool_limits

        frame = next((a for a in args if isinstance(a, pd.DataFrame)), None)
        frame = kwargs.get("transactions", frame)
        if frame is not None and len(frame) < DEFAULT_PARALLEL_MIN_ROWS:
            with threadpool_limits(limits=1, user_api="openmp"):
                return function(*args, **kwargs)
        return function(*args, **kwargs)

    return wrapper


def _as_timestamp(value, name: str, caller: str) -> pd.Timestamp:
    """Return the day ``value`` names, through the one date coercer (:func:`to_timestamp`)."""
    return to_timestamp(value, name, caller, normalize=True)


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _day(stamp: pd.Timestamp) -> int:
    return int(np.datetime64(stamp, "D").astype(np.int64))


def _observation_end(transactions: pd.DataFrame, observation_end) -> pd.Timestamp:
    if observation_end is None:
        return pd.Timestamp(transactions["date"].max()).normalize()
    return pd.Timestamp(observation_end).normalize()


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``k / n``."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _customer_base(transactions: pd.DataFrame, end: pd.Timestamp, freq: str = "D") -> pd.DataFrame:
    """Build the one customer base (:func:`cxlib.customers.customer_base`) at ``end``.

    Customers without a purchase (refunds only) are left out and counted in the base's attrs;
    its warning about them is not repeated for every date and window churn looks at. An empty
    table gives an empty base.
    """
    if transactions.empty:
        columns = ["first_purchase", "last_purchase", "purchases", "revenue", "revenue_12m"]
        more = ["refunds", "days_since_last", "tenure_days", "frequency", "recency", "T"]
        empty = pd.DataFrame(columns=[*columns, *more], dtype=float)
        return empty.rename_axis("customer_id")
    columns = ["customer_id", "date", "amount"]  # churn uses no order counts: skip them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return customer_base(transactions[columns], observation_end=end, freq=freq)


def _purchase_days(transactions: pd.DataFrame) -> pd.DataFrame:
    """Each customer's purchase days: ``customer_id``, ``date`` (the day), sorted.

    A purchase is a day with positive net spend (refunds netted within the day), the customer
    base's definition; churn needs the days themselves for gaps and cohorts.
    """
    days = transactions["date"].dt.normalize()
    net = transactions.groupby([transactions["customer_id"], days], sort=True)["amount"].sum()
    bought = net.index[net.to_numpy() > NET_SPEND_TOLERANCE]
    return bought.to_frame(index=False, name=["customer_id", "date"])
