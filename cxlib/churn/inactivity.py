"""The inactivity rule: the days without a purchase after which a customer counts as churned.

:func:`inactivity_threshold` reads it from the gaps between each customer's consecutive purchase
days (or takes the client's own number); :func:`repeat_purchases` says whether there are gaps to
read at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import DEFAULT_INACTIVITY_QUANTILE, _day_numbers, _purchase_days
from cxlib.settings.params import Interval, check_param
from cxlib.settings.validation import DataError, check_transactions


@dataclass
class InactivityThreshold:
    """The inactivity rule chosen from the inter-purchase times.

    Attributes
    ----------
    days : int
        Threshold: no purchase for more than ``days`` days means churned.
    quantile : float
        Quantile of the gaps the threshold was taken at.
    n_gaps, n_customers : int
        Gaps observed, and repeat customers they come from.
    median_gap : float
        Median gap in days.
    gap_quantiles : DataFrame
        ``quantile``, ``days``: a few quantiles of the gap distribution, for the report.
    explanation : str
        One paragraph for the report.
    """

    days: int
    quantile: float
    n_gaps: int
    n_customers: int
    median_gap: float
    gap_quantiles: pd.DataFrame
    explanation: str


def _purchase_gaps(transactions: pd.DataFrame) -> pd.DataFrame:
    """Gaps in days between consecutive purchase days of each customer."""
    days = _purchase_days(transactions)
    same = days["customer_id"].to_numpy()[1:] == days["customer_id"].to_numpy()[:-1]
    gaps = np.diff(_day_numbers(days["date"]))[same]
    owners = days["customer_id"].to_numpy()[1:][same]
    return pd.DataFrame({"customer_id": owners, "gap_days": gaps})


def repeat_purchases(transactions: pd.DataFrame) -> bool:
    """Say whether some customer bought on two different days (a purchase: positive net spend).

    Without one there is no gap between purchases: no inactivity threshold to read from the
    data, no purchase model to fit, and no churn a model could learn to tell apart.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02"]),
    ...     "amount": [5.0, 5.0, 5.0]})
    >>> repeat_purchases(tx), repeat_purchases(tx.assign(customer_id="a"))
    (False, True)
    """
    transactions = check_transactions(transactions, caller="repeat_purchases")
    return not _purchase_gaps(transactions).empty


def inactivity_threshold(
    transactions: pd.DataFrame,
    *,
    quantile: float = DEFAULT_INACTIVITY_QUANTILE,
    days: int | None = None,
) -> InactivityThreshold:
    """Choose the non-contractual churn threshold from the inter-purchase time distribution.

    The threshold is the ``quantile`` of all gaps between consecutive purchase days of repeat
    customers, rounded up to whole days: with ``quantile=0.9``, 90% of returning customers
    come back within the threshold, so a longer silence is unusual enough to call churn.
    Gaps still open at the end of the data are not observed, so the quantile is a slight
    underestimate for slow buyers.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    quantile : float, default 0.9
        Between 0.5 and 1 (exclusive).
    days : int, optional
        The threshold the client's config sets (``churn_inactivity_days``): used as it is, the
        gaps described beside it when there are any.

    Returns
    -------
    InactivityThreshold

    Raises
    ------
    DataError
        When ``days`` is not given and no customer bought on two different days; the message
        names the YAML key that sets the threshold.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": list("aaab"),
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-01-31", "2025-01-05"]),
    ...     "amount": [5.0, 5.0, 5.0, 5.0]})
    >>> inactivity_threshold(tx, quantile=0.5).days
    15
    """
    transactions = check_transactions(transactions, caller="inactivity_threshold")
    caller = "inactivity_threshold"
    share = Interval(float, 0.5, 1, closed="left", words="a float in [0.5, 1)")
    check_param("quantile", quantile, share, caller=caller)
    whole_days = Interval(int, 1, None, words="a positive whole number of days")
    check_param("days", days, [whole_days, None], caller=caller)
    gaps = _purchase_gaps(transactions)
    if gaps.empty and days is None:
        raise DataError(
            "inactivity_threshold: no customer bought on two different days, so there is no "
            "inter-purchase time to choose a churn threshold from; set one with "
            "`churn_inactivity_days: <days>` under `analysis:` in the client's YAML (the days "
            "without a purchase after which a customer counts as churned)."
        )
    values = gaps["gap_days"].to_numpy(dtype=float)
    qs = [0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    n_customers = int(gaps["customer_id"].nunique())
    if gaps.empty:
        table = pd.DataFrame({"quantile": qs, "days": np.nan})
        text = (
            f"The client's config sets the churn threshold (churn_inactivity_days: {days}): a "
            f"customer with no purchase for more than {days} days is counted as churned. No "
            "customer bought on two different days, so the data cannot check it."
        )
        return InactivityThreshold(days, float(quantile), 0, 0, float("nan"), table, text)
    table = pd.DataFrame({"quantile": qs, "days": np.quantile(values, qs)})
    median = float(np.median(values))
    observed = int(math.ceil(np.quantile(values, quantile)))
    gaps_text = (
        f"{quantile:.0%} of repeat purchases come within {observed} days of the previous one "
        f"(median gap {median:.0f} days; {len(values):,} gaps from {n_customers:,} repeat "
        "customers)."
    )
    if days is None:
        days = observed
        text = (
            f"{gaps_text} A customer with no purchase for more than {days} days is counted as "
            "churned."
        )
    else:
        text = (
            f"The client's config sets the churn threshold (churn_inactivity_days: {days}): a "
            f"customer with no purchase for more than {days} days is counted as churned. For "
            f"comparison, {gaps_text}"
        )
    return InactivityThreshold(days, float(quantile), len(values), n_customers, median, table, text)
