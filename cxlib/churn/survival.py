"""Survival since acquisition: the survival table, Kaplan-Meier by segment, log-rank tests.

The drivers of churn (a Cox model on the same table) are in :mod:`cxlib.churn.cox`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import (
    _customer_base,
    _observation_end,
)
from cxlib.churn.registry import ChurnInputs, churn_definition
from cxlib.customers import NET_SPEND_TOLERANCE
from cxlib.settings import units
from cxlib.settings.multiplicity import holm
from cxlib.settings.params import Interval, check_param
from cxlib.settings.validation import check_transactions, validate_columns


def _first_values(transactions: pd.DataFrame, column: str) -> pd.Series:
    """Value of ``column`` on each customer's first purchase (ties: the first row)."""
    purchases = transactions.loc[transactions["amount"] > 0, ["customer_id", "date", column]]
    purchases = purchases.sort_values(["customer_id", "date"], kind="stable")
    return purchases.groupby("customer_id")[column].first()


def survival_table(
    transactions: pd.DataFrame,
    *,
    definition: str = "inactivity",
    customers: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
    observation_end=None,
    threshold_days: int | None = None,
) -> pd.DataFrame:
    """One row per customer: lifetime in days, whether churn was observed, and covariates.

    * ``"inactivity"`` (and ``"p_alive"``, which has no date of death and falls back to it):
      a customer has churned when the last purchase is more than ``threshold_days`` before
      ``observation_end``; the lifetime runs from the first to the last purchase. Others are
      censored at ``observation_end``.
    * ``"contract"``: from ``signup_date`` (or the first purchase) to ``contract_end`` /
      ``cancellation_date`` when that is on or before ``observation_end``, else censored.

    Durations come from :func:`lifelines.utils.datetimes_to_durations`.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``category`` and ``channel`` used when present).
    definition : str, default "inactivity"
        A name of :data:`cxlib.churn.DEFINITIONS`, whose lifetimes the table holds.
    customers : DataFrame, optional
        ``acquisition_cost``, ``acquisition_channel`` and contract columns are used when present.
    feedback : DataFrame, optional
        Complaints: counted per customer up to the end of the lifetime (``n_complaints``).
    segments : Series, optional
        Segment label per ``customer_id`` (``segment`` column; missing -> ``"unknown"``).
    observation_end : date-like, optional
        Defaults to the last transaction date.
    threshold_days : int, optional
        Inactivity threshold; defaults to :func:`inactivity_threshold`.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``start``, ``end``, ``duration_days``, ``event`` (bool),
        ``first_purchase_value`` (net amount of the first purchase day; NaN without one),
        ``acquisition_month`` (the month of ``start``, ``"2025-01"``), then when available
        ``segment``, ``acquisition_channel``, ``first_category``, ``first_channel``,
        ``acquisition_cost``, ``n_complaints``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-03-01"]),
    ...     "amount": [5.0, 5.0, 5.0]})
    >>> survival_table(tx, observation_end="2025-03-31", threshold_days=30)[
    ...     ["duration_days", "event"]].to_numpy().tolist()
    [[10, True], [30, False]]
    """
    caller = "survival_table"
    transactions = check_transactions(transactions, caller=caller)
    rule = churn_definition(definition, caller=caller)
    end = _observation_end(transactions, observation_end)
    tx = transactions.loc[transactions["date"] <= end]
    base = _customer_base(tx, end)  # first and last purchase days, as everywhere
    inputs = ChurnInputs(customers=customers, threshold_days=threshold_days, caller=caller)
    start, stop = rule.lifetimes(base, tx, end, inputs)
    table = _durations(start, stop, end)
    if segments is not None:
        table["segment"] = (
            segments.reindex(table.index).astype(object).fillna("unknown").astype(str)
        )
    _add_covariates(table, tx, customers)
    _add_history_covariates(table, tx)
    if feedback is not None:
        validate_columns(feedback, ["customer_id", "date"], caller=caller)
        table["n_complaints"] = _complaints_in_lifetime(feedback, table["end"])
    return table


def _durations(start: pd.Series, stop: pd.Series, end: pd.Timestamp) -> pd.DataFrame:
    """Lifetime in days and whether its end was observed (lifelines' datetimes_to_durations)."""
    from lifelines.utils import datetimes_to_durations

    durations, events = datetimes_to_durations(
        start.to_numpy(), stop.to_numpy(), fill_date=end, freq="D"
    )
    return pd.DataFrame(
        {
            "start": start.to_numpy(),
            "end": stop.fillna(end).to_numpy(),
            "duration_days": durations.astype(int),
            "event": events.astype(bool),
        },
        index=pd.Index(start.index, name="customer_id"),
    )


def _add_covariates(table: pd.DataFrame, tx: pd.DataFrame, customers) -> None:
    """Add the attributes fixed at acquisition: channel and cost, first category and channel."""
    if customers is not None:
        cust = customers.set_index("customer_id")
        if "acquisition_channel" in cust.columns:
            table["acquisition_channel"] = (
                cust["acquisition_channel"].reindex(table.index).astype(str)
            )
        if "acquisition_cost" in cust.columns:
            table["acquisition_cost"] = pd.to_numeric(cust["acquisition_cost"]).reindex(table.index)
    if "category" in tx.columns:
        table["first_category"] = _first_values(tx, "category").reindex(table.index).astype(str)
    if "channel" in tx.columns:
        table["first_channel"] = _first_values(tx, "channel").reindex(table.index).astype(str)


def _add_history_covariates(table: pd.DataFrame, tx: pd.DataFrame) -> None:
    """Add what the purchase history itself fixes at acquisition: first value and month."""
    days = tx["date"].dt.normalize()
    net = tx.groupby([tx["customer_id"], days], sort=True)["amount"].sum()
    bought = net[net.to_numpy() > NET_SPEND_TOLERANCE]  # a purchase, as everywhere
    first = bought.groupby(level="customer_id", sort=False).head(1).droplevel("date")
    table["first_purchase_value"] = first.reindex(table.index).astype(float)
    table["acquisition_month"] = pd.to_datetime(table["start"]).dt.strftime("%Y-%m")


def _complaints_in_lifetime(feedback: pd.DataFrame, ends: pd.Series) -> pd.Series:
    """Complaints per customer dated on or before the end of their lifetime."""
    fb = feedback.loc[feedback["customer_id"].isin(ends.index), ["customer_id", "date"]]
    fb = fb.loc[pd.to_datetime(fb["date"]).to_numpy() <= ends.reindex(fb["customer_id"]).to_numpy()]
    return fb.groupby("customer_id").size().reindex(ends.index).fillna(0).astype(int)


@dataclass
class SurvivalResult:
    """Kaplan-Meier curves and tests by segment.

    Attributes
    ----------
    curves : DataFrame
        Tidy: ``segment``, ``days``, ``survival``, ``ci_lower``, ``ci_upper``, ``at_risk``.
    medians : DataFrame
        Per segment: ``customers``, ``churned``, ``median_lifetime_days`` (inf when survival
        never falls to one half), ``median_ci_lower``, ``median_ci_upper``,
        ``survival_1y`` (share still alive a year, 365.25 days, after acquisition: a
        contract history in whole years has its first event then).
    logrank : dict
        Multivariate log-rank test: ``test_statistic``, ``p_value``, ``degrees_of_freedom``.
    pairwise : DataFrame
        Pairwise log-rank tests: ``segment_a``, ``segment_b``, ``test_statistic``, ``p_value``,
        ``p_holm`` (Holm-adjusted over all pairs: read this one), ``significant``
        (``p_holm < alpha`` and both groups of at least ``min_group_size`` customers).
    alpha : float
    method : str
        One sentence on the grouping and the correction, for the page.
    by : str or None
        The column the curves are split by (None: one curve for all customers).
    """

    curves: pd.DataFrame
    medians: pd.DataFrame
    logrank: dict
    pairwise: pd.DataFrame
    alpha: float
    method: str = ""
    by: str | None = None

    @property
    def test_note(self) -> str:
        """One sentence on the log-rank test across groups, or why there is none."""
        from cxlib.settings.formats import p_value_text

        p = self.logrank.get("p_value", float("nan"))
        if self.logrank.get("degrees_of_freedom", 0) < 1 or not np.isfinite(p):
            if self.by is None:
                return (
                    "One curve for all customers: the data hold no attribute fixed at "
                    "acquisition to split it by, so there is no log-rank test."
                )
            return f"One group of {self.by} only: no log-rank test."
        statistic = self.logrank["test_statistic"]
        return f"Log-rank test across groups: statistic {statistic:.1f}, {p_value_text(p)}."


#: Columns :func:`survival_split` tries, in order, when the config names none.
SURVIVAL_SPLIT_CANDIDATES = ("acquisition_channel", "first_channel", "first_category")

#: Groups smaller than this are pooled and left out of the log-rank tests.
MIN_GROUP_SIZE = 30


def survival_split(table: pd.DataFrame, requested: str | None = None) -> str | None:
    """Return the column to split survival curves by: ``requested``, else one the client has.

    Without a request, the first of :data:`SURVIVAL_SPLIT_CANDIDATES` in ``table`` with 2 to 12
    distinct values; None means one curve for everyone.

    Examples
    --------
    >>> t = pd.DataFrame({"duration_days": [1, 2], "event": [True, False],
    ...                   "first_channel": ["app", "store"]})
    >>> survival_split(t), survival_split(t.drop(columns="first_channel"))
    ('first_channel', None)
    """
    if requested is not None:
        validate_columns(table, [requested], caller="survival_split (churn_survival_by)")
        return requested
    for column in SURVIVAL_SPLIT_CANDIDATES:
        if column in table.columns and 2 <= table[column].nunique() <= 12:
            return column
    return None


def survival_by_segment(
    table: pd.DataFrame,
    *,
    segment: str | None = "segment",
    alpha: float = 0.05,
    max_points: int = 400,
    min_group_size: int = MIN_GROUP_SIZE,
) -> SurvivalResult:
    """Kaplan-Meier survival by segment, median lifetimes and log-rank tests (lifelines).

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`: ``duration_days``, ``event`` and the ``segment`` column.
    segment : str or None, default "segment"
        Column to split by; None picks one the table has (:func:`survival_split`), else one
        curve for all customers.
    alpha : float, default 0.05
        1 - confidence level of the bands.
    max_points : int, default 400
        Curves are thinned to at most this many time points per segment (for plotting);
        the estimates themselves use every observation.
    min_group_size : int, default MIN_GROUP_SIZE
        Groups with fewer customers are pooled into one "other" group (when some group is
        larger), which is left out of the log-rank tests when it is still smaller; no pair with
        a group below it is called significant. The pairwise tests are Holm-corrected.

    Returns
    -------
    SurvivalResult

    Examples
    --------
    >>> t = pd.DataFrame({"duration_days": [1, 2, 3, 4], "event": [True, True, False, True],
    ...                   "segment": ["x"] * 4})
    >>> survival_by_segment(t).curves["survival"].round(3).tolist()
    [1.0, 0.75, 0.5, 0.5, 0.0]
    """
    caller = "survival_by_segment"
    if segment is None:
        segment = survival_split(table)
    validate_columns(
        table, ["duration_days", "event", *([segment] if segment else [])], caller=caller
    )
    check_param("alpha", alpha, Interval(float, 0, 1, closed="neither"), caller=caller)
    durations = table["duration_days"].to_numpy(dtype=float)
    events = table["event"].to_numpy(dtype=bool)
    if segment is None:
        groups = np.full(len(table), "all customers", dtype=object)
    else:
        groups = table[segment].astype(str).to_numpy()
    groups, pooled = _pool_small_groups(groups, min_group_size)
    curves, medians = [], []
    for name in sorted(pd.unique(groups)):
        mask = groups == name
        curve, median = _kaplan_meier(durations[mask], events[mask], name, alpha, max_points)
        curves.append(curve)
        medians.append(median)
    medians = pd.DataFrame(medians).set_index("segment")
    large = medians.index[medians["customers"] >= min_group_size]
    tested = large if len(large) >= 2 else medians.index  # all small: tested, never significant
    keep = np.isin(groups, tested)
    logrank, pairwise = _logrank_tests(durations[keep], groups[keep], events[keep], len(tested))
    pairwise["p_holm"] = holm(pairwise["p_value"].to_numpy(dtype=float))
    both_large = pairwise["segment_a"].isin(large) & pairwise["segment_b"].isin(large)
    pairwise["significant"] = (pairwise["p_holm"] < alpha) & both_large
    method = (
        "One group: no pairwise tests."
        if pairwise.empty
        else f"Log-rank tests between groups of at least {min_group_size} customers"
        + (f" ({pooled} smaller groups pooled into 'other')" if pooled else "")
        + f"; the {len(pairwise)} pairwise p-values are Holm-corrected (p_holm); a pair with a "
        f"group under {min_group_size} customers is never called significant."
    )
    return SurvivalResult(
        pd.concat(curves, ignore_index=True), medians, logrank, pairwise, alpha, method, segment
    )


def _pool_small_groups(groups: np.ndarray, min_size: int) -> tuple[np.ndarray, int]:
    """Pool groups below ``min_size`` into "other"; return the groups and how many were pooled."""
    names, counts = np.unique(groups, return_counts=True)
    small = names[counts < min_size]
    if len(small) < 2 or len(small) == len(names):  # nothing to gain: renaming or all small
        return groups, 0
    return np.where(np.isin(groups, small), "other", groups).astype(object), len(small)


def _kaplan_meier(durations, events, name, alpha, max_points) -> tuple[pd.DataFrame, dict]:
    """One segment's curve (thinned to ``max_points``) and its median lifetime row."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=alpha).fit(durations, events, label=name)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    curve = pd.DataFrame(
        {
            "segment": name,
            "days": sf.index.to_numpy(),
            "survival": sf.to_numpy(),
            "ci_lower": ci.iloc[:, 0].to_numpy(),
            "ci_upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy(),
        }
    )
    if len(curve) > max_points:
        keep = np.unique(np.linspace(0, len(curve) - 1, max_points).round().astype(int))
        curve = curve.iloc[keep]
    med_ci = median_survival_times(kmf.confidence_interval_)
    median = {
        "segment": name,
        "customers": len(durations),
        "churned": int(events.sum()),
        "median_lifetime_days": float(kmf.median_survival_time_),
        "median_ci_lower": float(med_ci.iloc[0, 0]),
        "median_ci_upper": float(med_ci.iloc[0, 1]),
        "survival_1y": float(kmf.predict(units.DAYS_PER_YEAR)),
    }
    return curve, median


def _logrank_tests(durations, groups, events, n_groups) -> tuple[dict, pd.DataFrame]:
    """Run the multivariate log-rank test across groups and the pairwise tests (lifelines)."""
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    columns = ["segment_a", "segment_b", "test_statistic", "p_value"]
    if n_groups < 2:
        nan = float("nan")
        return {"test_statistic": nan, "p_value": nan, "degrees_of_freedom": 0}, pd.DataFrame(
            columns=columns
        )
    test = multivariate_logrank_test(durations, groups, events)
    logrank = {
        "test_statistic": float(test.test_statistic),
        "p_value": float(test.p_value),
        "degrees_of_freedom": int(test.degrees_of_freedom),
    }
    pair = pairwise_logrank_test(durations, groups, events).summary.reset_index()
    pairwise = pd.DataFrame(
        {
            "segment_a": pair.iloc[:, 0].astype(str),
            "segment_b": pair.iloc[:, 1].astype(str),
            "test_statistic": pair["test_statistic"].to_numpy(),
            "p_value": pair["p"].to_numpy(),
        }
    )
    return logrank, pairwise
