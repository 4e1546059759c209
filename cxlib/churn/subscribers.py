"""Churn of subscribers: the rate against plan, who separates survival most, and the drivers.

A subscription client's churn page stands on its contract history
(:func:`cxlib.churn.contractual.contract_table`: tenure in whole periods, a churned flag and
attributes), with the attributes every model may use chosen once
(:func:`cxlib.churn.leakage.model_attributes`: no function of tenure, no date, no identifier).

* :func:`subscriber_churn_rate` -- churners per period of exposure, against the plan
  (``target_churn_rate``, read per contract period: a telecom's monthly churn, a bank's
  annual attrition), and the groups that make the gap.
* :func:`survival_splits` -- a log-rank test of survival across the groups of every attribute
  (numbers in quantile groups, small groups pooled), Holm-corrected over the attributes; the
  attribute that separates survival most, its Kaplan-Meier curves and a short table of
  survival at a few tenures.
* :func:`subscriber_drivers` -- hazard ratios from a Cox model on the attributes
  (:func:`cxlib.churn.cox_drivers`), numbers per a round step so a ratio reads per 10 years
  of age rather than per year.

The ranked list of subscribers at risk is :func:`cxlib.churn.subscriber_risk.at_risk_subscribers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn.contractual import CONTRACT_PERIODS, contract_survival
from cxlib.churn.cox import CoxResult, cox_drivers
from cxlib.churn.survival import MIN_GROUP_SIZE, SurvivalResult
from cxlib.settings import units
from cxlib.settings.multiplicity import holm
from cxlib.settings.validation import validate_columns

__all__ = [
    "SurvivalSplits",
    "attribute_groups",
    "round_step",
    "subscriber_churn_rate",
    "subscriber_drivers",
    "survival_splits",
    "tenure_points",
    "window_churn_rate",
]


def attribute_groups(
    values: pd.Series, *, n_bins: int = 4, min_group_size: int = MIN_GROUP_SIZE
) -> pd.Series:
    """Group customers by an attribute: numbers in quantile groups, text by level.

    A number with more than ``n_bins`` distinct values is cut at its quantiles into at most
    ``n_bins`` groups labelled by their range (``"32 to 40"``); fewer values are groups as
    they are. Missing values form the group ``"missing"``. Text levels with fewer than
    ``min_group_size`` customers are pooled as ``"other"``.

    Examples
    --------
    >>> attribute_groups(pd.Series([18, 25, 33, 41, 52, 64, 70, 80]), n_bins=2).tolist()
    ['18 to 41', '18 to 41', '18 to 41', '18 to 41', '52 to 80', '52 to 80', '52 to 80', '52 to 80']
    """
    numbers = pd.to_numeric(values, errors="coerce")
    numeric = not pd.api.types.is_bool_dtype(values) and numbers.notna().sum() >= max(
        1, 0.9 * values.notna().sum()
    )
    if numeric and numbers.nunique() > n_bins:
        bins = pd.qcut(numbers, n_bins, duplicates="drop")
        labels = pd.Series("missing", index=values.index, dtype=object)
        for interval in bins.cat.categories:
            inside = bins == interval
            low, high = numbers[inside].min(), numbers[inside].max()
            labels[inside] = f"{_number(low)} to {_number(high)}"
        return labels
    if numeric:
        text = numbers.map(_number, na_action="ignore")
    else:
        text = values.astype("string").str.strip()
    text = text.fillna("missing").astype(object)
    counts = text.value_counts()
    small = counts.index[counts < min_group_size]
    if 0 < len(small) < len(counts) - 1 or (len(small) == 1 and len(counts) > 2):
        text = text.where(~text.isin(small), "other")
    return text


def _number(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.2f}"


def tenure_points(period: str, max_tenure: int) -> list[int]:
    """Return a few tenures (periods) to read survival at: 3 and 6 months, 1, 2, 3, 5 years.

    Examples
    --------
    >>> tenure_points("M", 72), tenure_points("Y", 10)
    ([3, 6, 12, 24, 36, 60], [1, 2, 3, 5])
    """
    per_year = units.periods_per_year(period, codes=CONTRACT_PERIODS)
    points = sorted({max(1, round(years * per_year)) for years in (0.25, 0.5, 1, 2, 3, 5)})
    return [p for p in points if p <= max_tenure] or [max(1, int(max_tenure))]


def subscriber_churn_rate(
    contracts: pd.DataFrame,
    *,
    target_rate: float | None = None,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """Churn per period of exposure, with a 95% interval, against the plan, per group.

    A subscriber is exposed for every period they held a contract (a churner's tenure counts
    the period they left in); the rate per period is churners / periods of exposure (the
    maximum-likelihood rate of a constant hazard), with an exact Poisson interval on the
    churners. Against a plan (``target_rate``, per period), ``excess_churners`` is churners
    minus the plan's rate times the exposure, and ``share_of_gap`` each group's share of the
    total excess (NaN when churn is at or below plan).

    Returns
    -------
    DataFrame
        One row per group (largest excess first) and ``"total"`` last: ``customers``,
        ``churned``, ``exposure_periods``, ``churn_rate`` (per period), ``churn_rate_low``,
        ``churn_rate_high`` (its 95% interval), ``annual_churn_rate`` (1 - (1 - rate) **
        periods a year), ``target_rate``, ``excess_churners``, ``share_of_gap``.
        ``attrs["period"]`` names the period.

    Examples
    --------
    >>> contracts = pd.DataFrame({"tenure": [1, 4, 5, 10], "churned": [True, True, False, False]})
    >>> contracts.attrs["period"] = "M"
    >>> row = subscriber_churn_rate(contracts, target_rate=0.05).loc["total"]
    >>> float(row["churn_rate"]), float(row["excess_churners"])
    (0.1, 1.0)
    """
    from scipy.stats import chi2

    validate_columns(contracts, ["tenure", "churned"], caller="subscriber_churn_rate")
    period = contracts.attrs.get("period", "M")
    exposure = contracts["tenure"].clip(lower=1).astype(float)
    frame = pd.DataFrame(
        {"exposure": exposure, "churned": contracts["churned"].astype(bool)},
        index=contracts.index,
    )
    frame["group"] = "total" if groups is None else groups.reindex(contracts.index).to_numpy()
    rows = frame.groupby("group", sort=False).agg(
        customers=("churned", "size"),
        churned=("churned", "sum"),
        exposure_periods=("exposure", "sum"),
    )
    if groups is not None:
        total = pd.DataFrame(
            {"customers": [len(frame)], "churned": [int(frame["churned"].sum())],
             "exposure_periods": [float(exposure.sum())]},
            index=["total"],
        )  # fmt: skip
        rows = pd.concat([rows, total])
    k, t = rows["churned"].astype(float), rows["exposure_periods"]
    rows["churn_rate"] = k / t
    rows["churn_rate_low"] = np.where(k > 0, chi2.ppf(0.025, 2 * k) / 2, 0.0) / t
    rows["churn_rate_high"] = chi2.ppf(0.975, 2 * (k + 1)) / 2 / t
    per_year = units.periods_per_year(period, codes=CONTRACT_PERIODS)
    rows["annual_churn_rate"] = 1 - (1 - rows["churn_rate"].clip(upper=1)) ** per_year
    rows["target_rate"] = np.nan if target_rate is None else float(target_rate)
    rows["excess_churners"] = k - rows["target_rate"] * t
    gap = rows.loc["total", "excess_churners"]
    rows["share_of_gap"] = rows["excess_churners"] / gap if gap > 0 else np.nan
    body = rows.drop(index="total").sort_values("excess_churners", ascending=False)
    if target_rate is None:
        body = rows.drop(index="total").sort_values("churned", ascending=False)
    out = pd.concat([body, rows.loc[["total"]]])
    out.index.name = "group"
    out.attrs["period"] = period
    return out


def window_churn_rate(contracts: pd.DataFrame, *, days: int = 365) -> dict | None:
    """Churn over the export's last ``days``, when the contracts carry start and end dates.

    Of the subscribers holding a contract on the window's first day (signed up by then, not
    ended before), the share whose contract ended by the export date, with a Wilson 95%
    interval. None for a history given as tenure only (no calendar).

    Examples
    --------
    >>> contracts = pd.DataFrame({
    ...     "tenure": [1, 1, 1, 1], "churned": [True, False, False, True],
    ...     "signup_date": pd.to_datetime(["2023-01-01", "2023-02-01", "2024-06-01", "2023-03-01"]),
    ...     "contract_end": pd.to_datetime(["2024-03-01", None, None, "2023-05-01"])})
    >>> contracts.attrs.update(contract_shape="dates", as_of="2024-12-31")
    >>> window = window_churn_rate(contracts)
    >>> window["customers"], window["churned"], window["rate"]
    (2, 1, 0.5)
    """
    from scipy.stats import norm

    if contracts.attrs.get("contract_shape") != "dates" or "as_of" not in contracts.attrs:
        return None
    end_day = pd.Timestamp(contracts.attrs["as_of"])
    start = end_day - pd.Timedelta(days=days)
    signup, end = contracts["signup_date"], contracts["contract_end"]
    held = (signup <= start) & (end.isna() | (end > start))
    left = held & end.notna() & (end <= end_day)
    n, k = int(held.sum()), int(left.sum())
    if n == 0:
        return None
    rate, z = k / n, norm.ppf(0.975)
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return {
        "customers": n, "churned": k, "rate": rate, "ci_low": max(0.0, centre - half),
        "ci_high": min(1.0, centre + half), "start": start, "end": end_day, "days": days,
    }  # fmt: skip


@dataclass
class SurvivalSplits:
    """Which attribute separates subscribers' survival most (:func:`survival_splits`).

    Attributes
    ----------
    tests : DataFrame
        One row per attribute tried, most separating first: ``groups``, ``statistic``,
        ``degrees_of_freedom``, ``p_value``, ``p_holm`` (Holm over the attributes),
        ``significant``.
    best : str or None
        The attribute with the strongest Holm-significant separation (None: none is).
    survival : SurvivalResult
        Kaplan-Meier curves of :func:`cxlib.churn.contractual.contract_survival` by the groups
        of ``best`` (one curve without it).
    table : DataFrame
        The short table: per group, customers, churned and the survival after a few tenures
        (:func:`tenure_points`), columns named ``"survival after N <periods>"``.
    groups : Series
        Each customer's group of ``best`` (None without one).
    note : str
        One sentence for the page.
    """

    tests: pd.DataFrame
    best: str | None
    survival: SurvivalResult
    table: pd.DataFrame
    groups: pd.Series | None
    note: str


def survival_splits(
    contracts: pd.DataFrame,
    attributes: list[str],
    *,
    alpha: float = 0.05,
    n_bins: int = 4,
    min_group_size: int = MIN_GROUP_SIZE,
) -> SurvivalSplits:
    """Find the attribute whose groups differ most in survival (log-rank, Holm-corrected).

    Every attribute is cut into groups (:func:`attribute_groups`); a multivariate log-rank
    test (lifelines) compares the survival of its groups of at least ``min_group_size``
    customers. Holm's correction over the attributes tried keeps the chance of calling any
    attribute separating by luck under ``alpha``. Attributes are ranked by the test's
    evidence (its chi-square tail on a log scale, so p-values below machine precision still
    order), and the first Holm-significant one is drawn.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> plan = rng.choice(["monthly", "yearly"], 600)
    >>> colour = rng.choice(["red", "blue"], 600)
    >>> tenure = np.where(plan == "monthly", rng.geometric(0.3, 600), rng.geometric(0.05, 600))
    >>> contracts = pd.DataFrame({"tenure": tenure, "churned": rng.random(600) < 0.8,
    ...                           "plan": plan, "colour": colour})
    >>> splits = survival_splits(contracts, ["colour", "plan"])
    >>> splits.best, splits.tests.index.tolist()
    ('plan', ['plan', 'colour'])
    """
    from lifelines.statistics import multivariate_logrank_test
    from scipy.stats import chi2

    validate_columns(contracts, ["tenure", "churned", *attributes], caller="survival_splits")
    durations = contracts["tenure"].to_numpy(dtype=float)
    events = contracts["churned"].to_numpy(dtype=bool)
    rows, grouped = [], {}
    for name in attributes:
        groups = attribute_groups(contracts[name], n_bins=n_bins, min_group_size=min_group_size)
        counts = groups.value_counts()
        tested = counts.index[counts >= min_group_size]
        keep = groups.isin(tested).to_numpy()
        if len(tested) < 2:
            rows.append((name, len(counts), np.nan, 0, np.nan, np.nan))
            continue
        test = multivariate_logrank_test(durations[keep], groups.to_numpy()[keep], events[keep])
        df = int(test.degrees_of_freedom)
        statistic = float(test.test_statistic)
        rows.append((name, len(counts), statistic, df, float(test.p_value),
                     float(chi2.logsf(statistic, df))))  # fmt: skip
        grouped[name] = groups
    tests = pd.DataFrame(
        rows,
        columns=["attribute", "groups", "statistic", "degrees_of_freedom", "p_value", "log_p"],
    ).set_index("attribute")
    tests["p_holm"] = holm(tests["p_value"].to_numpy(dtype=float))
    tests["significant"] = tests["p_holm"] < alpha
    tests = tests.sort_values(["log_p", "statistic"], ascending=[True, False], na_position="last")
    significant = tests.index[tests["significant"]]
    best = str(significant[0]) if len(significant) else None
    frame = contracts[["tenure", "churned"]].copy()
    frame.attrs = dict(contracts.attrs)
    groups = None
    if best is not None:
        groups = grouped[best].rename(best)
        frame[best] = groups.to_numpy()
    survival = contract_survival(frame, by=best, min_group_size=min_group_size)
    table = _short_table(frame, best)
    note = _splits_note(tests, best, alpha)
    return SurvivalSplits(tests.drop(columns="log_p"), best, survival, table, groups, note)


def _short_table(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Per group: customers, churned, Kaplan-Meier survival after a few tenures."""
    from lifelines import KaplanMeierFitter

    period = frame.attrs.get("period", "M")
    points = tenure_points(period, int(frame["tenure"].max()))
    labels = [
        f"survival after {p} {units.period_name(period, p, codes=CONTRACT_PERIODS)}" for p in points
    ]
    groups = frame[by] if by is not None else pd.Series("all customers", index=frame.index)
    rows = {}
    for name in sorted(groups.unique(), key=str):
        mask = (groups == name).to_numpy()
        kmf = KaplanMeierFitter().fit(frame["tenure"][mask], frame["churned"][mask])
        survival = kmf.predict(points)
        row = {"customers": int(mask.sum()), "churned": int(frame["churned"][mask].sum())}
        row.update(dict(zip(labels, np.asarray(survival, dtype=float), strict=True)))
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = by or "group"
    return table


def _splits_note(tests: pd.DataFrame, best: str | None, alpha: float) -> str:
    tried = len(tests)
    n_sig = int(tests["significant"].sum())
    if best is None:
        return (
            f"None of the {tried} attributes tried separates survival after Holm's correction "
            f"(at {alpha:.0%}): one curve for all subscribers."
        )
    row = tests.loc[best]
    return (
        f"{n_sig} of the {tried} attributes tried separate survival after Holm's correction; "
        f"{best} separates it most (log-rank statistic {row['statistic']:,.1f} on "
        f"{int(row['degrees_of_freedom'])} degree(s) of freedom)."
    )


def _is_number(values: pd.Series, numbers: pd.Series) -> bool:
    """Say whether a column enters a model as a number: a flag, or more than five values.

    A count with three to five values (products held: 1 to 4) is a category: its effect
    need not be a straight line (two products may keep customers best).
    """
    if pd.api.types.is_bool_dtype(values):
        return False
    if numbers.notna().sum() < max(1, 0.9 * values.notna().sum()):
        return False
    return not 3 <= numbers.nunique() <= 5


def round_step(values: pd.Series) -> float:
    """Return a round step near a number's spread (its standard deviation): 1, 2 or 5 x 10^k.

    Examples
    --------
    >>> round_step(pd.Series([18, 30, 45, 62, 80])), round_step(pd.Series([0, 1, 0, 1]))
    (20.0, 1.0)
    """
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.nunique() <= 2:
        return 1.0
    spread = float(numbers.std())
    if not spread > 0:
        return 1.0
    power = 10 ** np.floor(np.log10(spread))
    step = float(min((1, 2, 5, 10), key=lambda m: abs(np.log(m * power / spread))) * power)
    whole = bool((numbers % 1 == 0).all())
    return max(step, 1.0) if whole else step  # a count moves by whole units


def subscriber_drivers(
    contracts: pd.DataFrame, attributes: list[str], *, seed: int = 0, penalizer: float = 0.01
) -> CoxResult:
    """Hazard ratios of the attributes from a Cox model of subscribers' tenure (lifelines).

    Tenure (periods, in days) is the duration and the churned flag the event, as in
    :func:`cxlib.churn.contractual.contract_survival`; the attributes are those every model
    may use. A number enters per a round step (:func:`round_step`; the covariate is named
    ``"Age (per 10)"``), a missing number as the median; text attributes against their most
    common level (missing as ``"missing"``, levels beyond 8 pooled), through
    :func:`cxlib.churn.cox_drivers`.
    """
    validate_columns(contracts, ["tenure", "churned", *attributes], caller="subscriber_drivers")
    days = units.days(contracts.attrs.get("period", "M"), codes=CONTRACT_PERIODS)
    table = pd.DataFrame(
        {
            "duration_days": contracts["tenure"].to_numpy(dtype=float) * days,
            "event": contracts["churned"].to_numpy(dtype=bool),
        },
        index=contracts.index,
    )
    covariates = []
    for name in attributes:
        values = contracts[name]
        numbers = pd.to_numeric(values, errors="coerce")
        if _is_number(values, numbers):
            step = round_step(numbers)
            column = f"{name} (per {_number(step)})" if step != 1 else name
            table[column] = numbers / step
        else:
            column = name
            text = values.astype("string").fillna("missing").astype(object)
            if pd.api.types.is_numeric_dtype(values):  # a count with few values: its levels
                text = numbers.map(_number, na_action="ignore").fillna("missing").astype(object)
            counts = text.value_counts()  # too small for a ratio of its own: with the mode
            table[column] = text.where(~text.isin(counts.index[counts < MIN_GROUP_SIZE]),
                                       counts.index[0])  # fmt: skip
        covariates.append(column)
    if not covariates:
        return CoxResult.empty("No driver of churn can be estimated: no attribute to use.")
    result = cox_drivers(table, covariates=covariates, penalizer=penalizer, seed=seed)
    ratios = result.hazard_ratios
    numeric = ratios["covariate"].isin(covariates)  # numbers keep the client's own name
    ratios.loc[numeric, "name"] = ratios.loc[numeric, "covariate"]
    return result
