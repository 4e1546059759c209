"""Survival since acquisition: the survival table, Kaplan-Meier by segment, log-rank, Cox."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib.churn._common import (
    DEFAULT_FEATURE_LABELS,
    DEFAULT_MAX_LEVELS,
    _customer_base,
    _observation_end,
)
from cxlib.churn.definitions import _check_definition, _contract_end_column, inactivity_threshold
from cxlib.customers import NET_SPEND_TOLERANCE
from cxlib.settings.multiplicity import holm
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
    definition : {"inactivity", "contract", "p_alive"}
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
    _check_definition(definition, caller)
    end = _observation_end(transactions, observation_end)
    tx = transactions.loc[transactions["date"] <= end]
    base = _customer_base(tx, end)  # first and last purchase days, as everywhere
    if definition == "contract":
        start, stop = _contract_lifetimes(base["first_purchase"], customers, end, caller)
    else:
        if threshold_days is None:
            threshold_days = inactivity_threshold(tx).days
        churned = base["days_since_last"] > int(threshold_days)
        start, stop = base["first_purchase"], base["last_purchase"].where(churned)
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


def _contract_lifetimes(first_purchase, customers, end, caller):
    """Start (sign-up, else first purchase) and end (contract end when observed) per customer."""
    column = _contract_end_column(customers, caller)
    cust = customers.set_index("customer_id")
    start = first_purchase.reindex(cust.index)
    if "signup_date" in cust.columns:
        start = pd.to_datetime(cust["signup_date"]).fillna(start)
    start = start.dropna()
    stop = pd.to_datetime(cust[column]).reindex(start.index)
    return start, stop.where(stop <= end)


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
        ``survival_1y`` (share still alive 365 days after acquisition).
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
    if not 0 < alpha < 1:
        raise ValueError(
            f"The 'alpha' parameter of {caller} must be in (0, 1). Got {alpha!r} instead."
        )
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
        "survival_1y": float(kmf.predict(365)),
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


@dataclass
class CoxResult:
    """A Cox proportional-hazards model of churn drivers.

    Attributes
    ----------
    hazard_ratios : DataFrame
        One row per covariate: ``covariate`` (column name), ``name`` (plain language),
        ``hazard_ratio``, ``ci_lower``, ``ci_upper``, ``p_value``, ``ph_p_value`` (test of
        proportional hazards for that covariate; small = the effect changes over time).
        Sorted by hazard ratio, highest first. Empty when no driver could be estimated.
    reference_levels : dict
        For each categorical driver, the level the others are compared with.
    concordance : float
        Harrell's C of the fitted model (NaN without a model).
    ph_violations : list of str
        Covariates whose proportional-hazards test has p < 0.01.
    model : lifelines.CoxPHFitter or None
    method : str
        One sentence on the fit (penalised or not), for the page; without a model, why not.
    note : str
        For the page: the drivers the model uses and where they come from (the client's
        attributes, or the first purchase when it has none), those left out for having one
        value, or why there is no model at all.
    """

    hazard_ratios: pd.DataFrame
    reference_levels: dict
    concordance: float
    ph_violations: list
    model: Any = field(repr=False)
    method: str = ""
    note: str = ""

    @property
    def fit_note(self) -> str:
        """The concordance and the effects that change with tenure; empty without a model."""
        if self.model is None:
            return ""
        names = self.hazard_ratios.set_index("covariate")["name"]
        changing = ", ".join(str(names.get(c, c)) for c in self.ph_violations) or "none"
        return f"Concordance {self.concordance:.3f}; effects that change with tenure: {changing}."

    @classmethod
    def empty(cls, note: str) -> CoxResult:
        """Return a result without a model, carrying the sentence that says why."""
        columns = ["covariate", "name", "hazard_ratio", "ci_lower", "ci_upper", "p_value",
                   "ph_p_value"]  # fmt: skip
        return cls(pd.DataFrame(columns=columns), {}, float("nan"), [], None, note, note)


#: Columns :func:`cox_drivers` uses by default: the attributes the client's data carry.
COX_ATTRIBUTES = (
    "segment",
    "acquisition_channel",
    "first_category",
    "first_channel",
    "acquisition_cost",
    "n_complaints",
)
#: What the purchase history itself fixes at acquisition (:func:`survival_table`): the drivers
#: :func:`cox_drivers` falls back on when the table has none of :data:`COX_ATTRIBUTES`.
COX_HISTORY = ("first_purchase_value", "acquisition_month")

_ATTRIBUTE_WORDS = {"n_complaints": "complaints during the lifetime"}
_HISTORY_WORDS = {
    "first_purchase_value": "the value of the first purchase (the ratio is per doubling)",
    "acquisition_month": "when the customer was acquired",
}


def cox_drivers(
    table: pd.DataFrame,
    *,
    covariates: list[str] | None = None,
    penalizer: float = 0.01,
    max_levels: int = DEFAULT_MAX_LEVELS,
    ph_sample: int = 5000,
    seed: int = 0,
) -> CoxResult:
    """Fit a Cox model of the drivers of churn and check proportional hazards (lifelines).

    Categorical covariates are one-hot encoded against their most common level (levels
    beyond ``max_levels`` pooled as ``"other"``); numeric ones are used as they are (missing
    values -> median), except ``first_purchase_value``, used on a log2 scale (its ratio is per
    doubling). Covariates with one value for every customer are left out. Hazard ratios above
    1 mean faster churn.

    A client whose data carry none of :data:`COX_ATTRIBUTES` (a transactions table with
    customer, date and amount only) gets the drivers its purchase history fixes at
    acquisition, :data:`COX_HISTORY`: the first purchase's value and the acquisition month
    (coarsened to quarters or years when there are more than ``max_levels`` months). When
    nothing varies, or no customer's churn was observed, the result has no model and its
    ``note`` says why.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    covariates : list of str, optional
        Defaults to those of :data:`COX_ATTRIBUTES` present, else those of
        :data:`COX_HISTORY`.
    penalizer : float, default 0.01
        L2 penalty of :class:`lifelines.CoxPHFitter` (keeps separated levels finite).
    max_levels : int
    ph_sample : int, default 5000
        The proportional-hazards test runs on at most this many rows (seeded sample).
    seed : int

    Returns
    -------
    CoxResult

    Examples
    --------
    >>> t = pd.DataFrame({"duration_days": [10, 20, 30], "event": [False, False, False],
    ...                   "acquisition_channel": ["web", "store", "web"]})
    >>> cox_drivers(t).note
    'No driver of churn can be estimated: no customer in the data has churned yet.'
    """
    caller = "cox_drivers"
    if covariates is not None and not covariates:
        raise ValueError(
            f"The 'covariates' parameter of {caller} must name at least one column. Got [] instead."
        )
    history = False
    if covariates is None:
        covariates = [c for c in COX_ATTRIBUTES if c in table.columns]
        if not covariates:
            covariates, history = [c for c in COX_HISTORY if c in table.columns], True
    validate_columns(table, ["duration_days", "event", *covariates], caller=caller)
    if not table["event"].astype(bool).any():
        return CoxResult.empty(
            "No driver of churn can be estimated: no customer in the data has churned yet."
        )
    table = _history_covariates(table, covariates, max_levels)
    design, names, references = _cox_design(table, covariates, max_levels)
    design = design.loc[:, design.std() > 0]
    used = [c for c in covariates if any(k == c or k.startswith(f"{c}=") for k in design.columns)]
    constant = [c for c in covariates if c not in used]
    note = _cox_note(used, constant, history, references, table.attrs.get("acquisition_pooled"))
    if not used:
        return CoxResult.empty(note)
    return _fit_cox(table, design, names, references, penalizer, ph_sample, seed, note)


def _fit_cox(table, design, names, references, penalizer, ph_sample, seed, note) -> CoxResult:
    """Fit the Cox model on ``design``, test proportional hazards, and tabulate the ratios."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    design["duration_days"] = table["duration_days"].astype(float) + 0.5  # strictly positive
    design["event"] = table["event"].astype(bool)
    cph = CoxPHFitter(penalizer=penalizer).fit(design, "duration_days", "event")
    summary = cph.summary
    ph_model, sample = cph, design
    if len(design) > ph_sample:  # the Schoenfeld-residual test needs the model's own rows
        sample = design.sample(ph_sample, random_state=seed)
        sample = sample.loc[:, sample.std() > 0]  # a rare level may be absent from the sample
        if "event" not in sample.columns:  # every sampled customer churned (or none did)
            sample["event"] = design["event"].loc[sample.index]
        ph_model = CoxPHFitter(penalizer=penalizer).fit(sample, "duration_days", "event")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(ph_model, sample, time_transform="rank").summary["p"]
    out = pd.DataFrame(
        {
            "covariate": summary.index.astype(str),
            "name": [names.get(c, c) for c in summary.index],
            "hazard_ratio": summary["exp(coef)"].to_numpy(),
            "ci_lower": summary["exp(coef) lower 95%"].to_numpy(),
            "ci_upper": summary["exp(coef) upper 95%"].to_numpy(),
            "p_value": summary["p"].to_numpy(),
            "ph_p_value": ph.reindex(summary.index).to_numpy(),
        }
    ).sort_values("hazard_ratio", ascending=False, ignore_index=True)
    violations = out.loc[out["ph_p_value"] < 0.01, "covariate"].tolist()
    method = (
        f"Cox model with a ridge penalty (penalizer={penalizer:g}): hazard ratios are shrunk "
        "slightly toward 1 (pass penalizer=0 for unshrunk estimates)."
        if penalizer > 0
        else "Unpenalised Cox proportional-hazards model."
    )
    references = {
        k: v for k, v in references.items() if any(c.startswith(f"{k}=") for c in out["covariate"])
    }
    return CoxResult(out, references, float(cph.concordance_index_), violations, cph, method, note)


def _history_covariates(table: pd.DataFrame, covariates: list, max_levels: int) -> pd.DataFrame:
    """``table`` with the first purchase value on a log2 scale and acquisition periods.

    Months, else quarters, else years: the finest with at most ``max_levels`` periods of
    :data:`MIN_GROUP_SIZE` customers or more; smaller periods (a customer whose first purchase
    came late, after a zero-amount line) are pooled as ``"other"``.
    """
    table = table.copy()
    if "first_purchase_value" in covariates:
        value = table["first_purchase_value"].astype(float)
        table["first_purchase_value"] = np.log2(value.where(value > 0))
    if "acquisition_month" in covariates:
        months = pd.PeriodIndex(table["acquisition_month"].astype(str), freq="M")
        for periods, form in (
            (months, "%Y-%m"),
            (months.asfreq("Q"), "%YQ%q"),
            (months.asfreq("Y"), "%Y"),
        ):
            labels = pd.Series(periods.strftime(form), index=table.index)
            counts = labels.value_counts()
            if (counts >= MIN_GROUP_SIZE).sum() <= max_levels:
                break
        small = counts.index[counts < MIN_GROUP_SIZE]
        if 0 < len(small) < len(counts):
            n_small = int(counts[small].sum())
            # too few even together for a ratio of their own: counted with the largest period
            into = "other" if n_small >= MIN_GROUP_SIZE else str(counts.index[0])
            labels = labels.where(~labels.isin(small), into)
            table.attrs["acquisition_pooled"] = (n_small, into)
        table["acquisition_month"] = labels
    return table


def _cox_note(
    used: list, constant: list, history: bool, references: dict, pooled: tuple | None = None
) -> str:
    """Say which drivers the model uses, where they come from, and which were left out."""

    def words(column: str) -> str:
        if column == "acquisition_month" and column in used:
            text = (
                f"{_HISTORY_WORDS[column]} (each period against {references[column]}, the "
                "one most customers were acquired in"
            )
            if pooled:
                n, into = pooled
                text += (
                    f"; the {n:,} customers of periods with fewer than {MIN_GROUP_SIZE} are "
                    + ("pooled as 'other'" if into == "other" else f"counted with {into}")
                )
            return text + ")"
        return _HISTORY_WORDS.get(column, column.replace("_", " "))

    if not used:
        what = " and ".join(words(c) for c in constant)
        if history:
            return (
                "No driver of churn can be estimated: the data hold no customer attribute "
                f"the model can use, and {what} is the same for every customer."
            )
        return f"No driver of churn can be estimated: {what} has one value for every customer."
    if history:
        text = (
            "The data hold no customer attribute the model can use (an acquisition channel or "
            "cost in a customers table, a category or channel on the transactions), so the "
            "drivers are what the purchase history fixes when a customer is acquired: "
            + " and ".join(words(c) for c in used)
            + "."
        )
    else:
        names = [_ATTRIBUTE_WORDS.get(c, c.replace("_", " ")) for c in used]
        text = "Drivers in the model: " + ", ".join(names) + "."
    if constant:
        text += (
            " Left out, the same for every customer: "
            + ", ".join(_HISTORY_WORDS.get(c, c.replace("_", " ")).split(" (")[0] for c in constant)
            + "."
        )
    return text


def _cox_design(table: pd.DataFrame, covariates: list, max_levels: int):
    """Design matrix, plain names and reference levels of the Cox covariates.

    Numbers as they are (missing -> median); categories one-hot against their most common
    level, levels beyond ``max_levels`` pooled as ``"other"``.
    """
    design = pd.DataFrame(index=table.index)
    names, references = {}, {}
    for column in covariates:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            design[column] = values.fillna(values.median()).astype(float)
            names[column] = DEFAULT_FEATURE_LABELS.get(
                column, column.replace("_", " ").capitalize()
            )
            if column == "n_complaints":
                names[column] = "Complaints (each)"
            if column == "first_purchase_value":
                names[column] = "First purchase value (per doubling)"
            continue
        values = values.astype(str)
        counts = values.value_counts()
        kept = list(counts.index[:max_levels])
        values = values.where(values.isin(kept), "other")
        reference = counts.index[0]
        references[column] = reference
        for level in sorted(values.unique()):
            if level == reference:
                continue
            key = f"{column}={level}"
            design[key] = (values == level).astype(float)
            names[key] = f"{column.replace('_', ' ')}: {level} (vs {reference})"
    return design, names, references
