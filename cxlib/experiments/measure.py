"""Measure an experiment: groups compared over the window after the start, CUPED, Holm.

Re-exported by :mod:`cxlib.experiments` (its docstring says what the numbers mean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.data._assignments import CONTROL
from cxlib.settings.dates import to_timestamp
from cxlib.settings.i18n import gettext, percent
from cxlib.settings.params import Options, check_param, param_error
from cxlib.settings.validation import (
    DataError,
    check_positive_int,
    check_transactions,
    dated_answers,
    validate_columns,
)

#: Metrics :func:`measure` knows; ``score`` and ``nps`` need surveys.
METRICS = ("revenue", "retention", "score", "nps")
_SURVEY_METRICS = ("score", "nps")
#: Below this p-value the group sizes do not match the planned allocation (a broken split).
SRM_ALPHA = 0.001
#: Below this p-value a pre-period difference between the groups is flagged.
BALANCE_ALPHA = 0.01

RESULT_COLUMNS = [
    "group",
    "control",
    "treatment",
    "effect",
    "relative_effect",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_unadjusted",
    "significant",
    "n_control",
    "n_treatment",
    "adjusted",
    "variance_reduction",
]


def select_experiment(assignments: pd.DataFrame, experiment: str | None = None) -> pd.DataFrame:
    """Rows of one experiment (the only one when ``experiment`` is None).

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": ["a", "b"], "group": ["control", "coupon"],
    ...                       "experiment": ["x", "x"]})
    >>> len(select_experiment(table))
    2
    """
    names = sorted(assignments["experiment"].astype(str).unique()) if len(assignments) else []
    caller = "select_experiment"
    if experiment is None:
        if len(names) != 1:
            must = f"the name of one experiment of {names}"
            raise param_error("experiment", experiment, must, caller=caller)
        experiment = names[0]
    check_param("experiment", experiment, Options(names), caller=caller)
    return assignments[assignments["experiment"].astype(str) == experiment]


def latest_experiment(assignments: pd.DataFrame) -> str:
    """Name of the experiment that started last (the one a report page measures).

    Examples
    --------
    >>> table = pd.DataFrame({"experiment": ["spring", "autumn"],
    ...                       "start": pd.to_datetime(["2025-03-01", "2025-09-01"])})
    >>> latest_experiment(table)
    'autumn'
    """
    if len(assignments) == 0:
        raise DataError("experiments: the table has no rows")
    starts = assignments.groupby(assignments["experiment"].astype(str))["start"].min()
    return str(starts.sort_values(kind="stable").index[-1])


def experiment_window(assignments: pd.DataFrame, *, data_end) -> tuple[pd.Timestamp, int]:
    """Return the start and the horizon (days) to measure an experiment over.

    The start is the earliest ``start``; the horizon runs to the ``end`` column when the table
    has one, else as far as every customer has been observed (up to ``data_end``).

    Examples
    --------
    >>> table = pd.DataFrame({"start": pd.to_datetime(["2025-09-01", "2025-09-03"])})
    >>> experiment_window(table, data_end="2025-12-31")
    (Timestamp('2025-09-01 00:00:00'), 120)
    """
    start = pd.Timestamp(assignments["start"].min())
    latest = pd.Timestamp(assignments["start"].max())
    if "end" in assignments.columns and assignments["end"].notna().any():
        horizon = int((pd.Timestamp(assignments["end"].max()) - latest).days) + 1
    else:
        horizon = int((pd.Timestamp(data_end) - latest).days) + 1
    if horizon < 1:
        raise DataError(
            f"experiments: the latest start {latest:%Y-%m-%d} leaves no day to "
            f"measure before the data end {pd.Timestamp(data_end):%Y-%m-%d}"
        )
    return start, horizon


def active_customers(transactions: pd.DataFrame, *, as_of=None, days: int = 365) -> pd.Index:
    """List customers with a purchase in the ``days`` days before ``as_of`` (a test's target).

    ``as_of`` defaults to the day after the last transaction (the customers a test could
    target today).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, 3.0],
    ...                    "date": pd.to_datetime(["2025-06-01", "2023-01-01"])})
    >>> list(active_customers(tx, as_of="2025-09-01"))
    ['a']
    """
    tx = check_transactions(transactions, caller="active_customers")
    as_of = (
        tx["date"].max().normalize() + pd.Timedelta(days=1)
        if as_of is None
        else to_timestamp(as_of, "as_of", "active_customers")
    )
    recent = tx[(tx["date"] < as_of) & (tx["date"] >= as_of - pd.Timedelta(days=days))]
    daily = recent.groupby(["customer_id", "date"], observed=True)["amount"].sum()
    bought = daily[daily > 0].index.get_level_values("customer_id").unique()
    return pd.Index(sorted(bought), name="customer_id")


# --- per-customer outcomes -------------------------------------------------------------------


def _assigned(assignments: pd.DataFrame, start, caller: str) -> pd.DataFrame:
    required = ["customer_id", "group"] + ([] if start is not None else ["start"])
    validate_columns(assignments, required, caller=caller)
    if len(assignments) == 0:
        raise DataError(f"{caller}: the assignments table is empty")
    table = assignments[["customer_id", "group"]].copy()
    table["customer_id"] = table["customer_id"].astype(str)
    table["group"] = table["group"].astype(str)
    table["start"] = (
        to_timestamp(start, "start", caller)
        if start is not None
        else pd.to_datetime(assignments["start"])
    )
    if table["customer_id"].duplicated().any():
        raise DataError(
            f"{caller}: customers assigned twice; pass one experiment "
            "(cxlib.experiments.select_experiment)"
        )
    groups = set(table["group"])
    if CONTROL not in groups or len(groups) < 2:
        raise DataError(f"{caller}: need a {CONTROL!r} group and a treatment; got {sorted(groups)}")
    return table.reset_index(drop=True)


def _windows(events: pd.DataFrame, table: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Join events to each customer's start; ``offset`` in days, ``window`` 'pre'/'post'/None."""
    joined = events.merge(table[["customer_id", "start"]], on="customer_id", how="inner")
    offset = (joined["date"].dt.normalize() - joined["start"]).dt.days
    joined["offset"] = offset
    joined["window"] = np.select(
        [(offset >= 0) & (offset < horizon_days), (offset < 0) & (offset >= -horizon_days)],
        ["post", "pre"],
        "",
    )
    return joined[joined["window"] != ""]


def _outcomes(tx, table, horizon_days, surveys, promoter_min, detractor_max) -> pd.DataFrame:
    """Per assigned customer: revenue and retention after and before the start (+ surveys)."""
    ids = table["customer_id"]
    tx = tx[tx["customer_id"].astype(str).isin(set(ids))]
    tx = tx.assign(customer_id=tx["customer_id"].astype(str))
    daily = tx.groupby(["customer_id", tx["date"].dt.normalize()], observed=True)["amount"].sum()
    daily = _windows(daily.rename("amount").reset_index(), table, horizon_days)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    for window, prefix in (("post", ""), ("pre", "pre_")):
        part = daily[daily["window"] == window].groupby("customer_id")["amount"]
        out[f"{prefix}revenue"] = part.sum().reindex(out.index, fill_value=0.0)
        bought = daily[(daily["window"] == window) & (daily["amount"] > 0)]["customer_id"]
        out[f"{prefix}retention"] = out.index.isin(set(bought)).astype(float)
    if surveys is not None:
        answers = surveys[["customer_id", "date", "score"]].assign(
            customer_id=surveys["customer_id"].astype(str)
        )
        answers = _windows(answers, table, horizon_days).sort_values(["customer_id", "date"])
        for window, prefix in (("post", ""), ("pre", "pre_")):
            part = answers[answers["window"] == window].groupby("customer_id")["score"]
            out[f"{prefix}score"] = part.mean().reindex(out.index)
            last = part.last().reindex(out.index)
            out[f"{prefix}nps"] = np.select(
                [last >= promoter_min, last <= detractor_max], [100.0, -100.0], 0.0
            )
            out.loc[last.isna(), f"{prefix}nps"] = np.nan
    return out


# --- statistics ------------------------------------------------------------------------------


def _cuped(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """CUPED: ``y - theta (x - mean x)`` with ``theta = cov(x, y) / var(x)``."""
    variance = np.var(x, ddof=1) if len(x) > 1 else 0.0
    if not variance > 0:
        return y, 0.0
    theta = float(np.cov(x, y, ddof=1)[0, 1] / variance)
    return y - theta * (x - x.mean()), theta


def _welch(treated: np.ndarray, control: np.ndarray, level: float) -> dict[str, float]:
    """Welch's difference in means: effect, interval at ``level``, two-sided p-value."""
    n_t, n_c = len(treated), len(control)
    if n_t < 2 or n_c < 2:
        return dict(effect=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan)
    v_t, v_c = np.var(treated, ddof=1) / n_t, np.var(control, ddof=1) / n_c
    effect = float(np.mean(treated) - np.mean(control))
    se = np.sqrt(v_t + v_c)
    if se == 0:
        p_value = 1.0 if effect == 0 else 0.0
        return dict(effect=effect, ci_low=effect, ci_high=effect, p_value=p_value)
    df = (v_t + v_c) ** 2 / (v_t**2 / (n_t - 1) + v_c**2 / (n_c - 1))
    half = stats.t.ppf(0.5 + level / 2, df) * se
    p_value = 2 * stats.t.sf(abs(effect) / se, df)
    return dict(effect=effect, ci_low=effect - half, ci_high=effect + half, p_value=float(p_value))


def _holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def measure(
    transactions: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    start=None,
    horizon_days: int,
    metrics: Sequence[str] = ("revenue", "retention"),
    adjust: bool = True,
    surveys: pd.DataFrame | None = None,
    experiment: str | None = None,
    allocation: Mapping[str, float] | None = None,
    promoter_min: int = 9,
    detractor_max: int = 6,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Measure an experiment: each treatment against the control, per metric, with intervals.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    assignments : DataFrame
        ``customer_id``, ``group`` (``"control"`` or a treatment name), and ``start`` unless
        ``start`` is given; with an ``experiment`` column, ``experiment`` picks one.
    start : date-like, optional
        The day the action started, for everyone; default: each customer's ``start``.
    horizon_days : int
        Days measured from each customer's start (the pre-period has the same length).
    metrics : sequence of str, default ("revenue", "retention")
        Any of :data:`METRICS`; when ``surveys`` is given, ``score`` and ``nps`` are added.
    adjust : bool, default True
        CUPED-adjust revenue and retention on the same metric in the pre-period; False gives
        the plain difference in means. Survey metrics are never adjusted (few customers
        answer in both periods).
    surveys : DataFrame, optional
        Canonical surveys (``customer_id``, ``date``, ``score``): answers given in the window.
    experiment : str, optional
        Which experiment of ``assignments`` (needed when it holds several).
    allocation : mapping, optional
        Planned share of each group, for the sample-ratio check; default equal shares.
    promoter_min, detractor_max : int
        NPS thresholds.
    alpha : float, default 0.05
        Family-wise error rate per metric (Holm); intervals are at ``1 - alpha`` per
        comparison.

    Returns
    -------
    DataFrame
        Indexed by metric (one row per metric and treatment group), columns
        :data:`RESULT_COLUMNS`: ``control``/``treatment`` (plain means per customer; NPS in
        points), ``effect`` (treatment minus control, per customer; CUPED-adjusted when
        ``adjusted``), ``relative_effect`` (effect / control mean), ``ci_low``/``ci_high``,
        ``p_value`` (Holm-adjusted across treatments), ``p_value_unadjusted``,
        ``significant``, ``n_control``/``n_treatment`` (customers; for survey metrics, those
        who answered), ``variance_reduction`` (share of the variance CUPED removed).
        ``attrs`` (plain values): ``method`` (one sentence), ``start``, ``horizon_days``,
        ``pre_period``, ``checks`` (see :func:`experiment_checks`), ``groups`` (customers per
        group).

    Raises
    ------
    DataError
        When the horizon of some customer runs past the last transaction date, when the
        control or treatment group is missing, or when a customer is assigned twice.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"c{i}" for i in range(400)]
    >>> groups = np.where(np.arange(400) % 2 == 0, "control", "coupon")
    >>> tx = pd.DataFrame({"customer_id": ids * 2, "amount": rng.gamma(2, 20, 800)
    ...                    + np.tile(np.where(groups == "coupon", 10.0, 0.0), 2),
    ...                    "date": pd.to_datetime(["2025-01-25"] * 400 + ["2025-02-10"] * 400)})
    >>> table = pd.DataFrame({"customer_id": ids, "group": groups})
    >>> result = measure(tx, table, start="2025-02-01", horizon_days=10)
    >>> bool(result.loc["revenue", "ci_low"] > 0), result.attrs["checks"][0]["ok"]
    (True, True)
    """
    caller = "measure"
    tx = check_transactions(transactions, caller=caller)
    surveys = dated_answers(surveys, caller=caller)  # a survey dated by period: last days
    check_positive_int(horizon_days, "horizon_days", caller=caller)
    if "experiment" in assignments.columns:
        assignments = select_experiment(assignments, experiment)
    metrics = list(metrics) + [
        m for m in _SURVEY_METRICS if surveys is not None and m not in metrics
    ]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or (surveys is None and set(metrics) & set(_SURVEY_METRICS)):
        must = f"metrics of {list(METRICS[:2])} (and {list(_SURVEY_METRICS)} with surveys)"
        raise param_error("metrics", metrics, must, caller=caller)
    table = _assigned(assignments, start, caller)
    data_end = tx["date"].max().normalize()
    last_day = table["start"] + pd.Timedelta(days=horizon_days - 1)
    late = last_day > data_end
    if late.any():
        raise DataError(
            f"{caller}: the {horizon_days}-day horizon of {int(late.sum())} customer(s) runs past "
            f"the data end {data_end:%Y-%m-%d} (e.g. "
            f"{', '.join(table.loc[late, 'customer_id'][:5])}, latest start "
            f"{table['start'].max():%Y-%m-%d}); pass a shorter horizon_days"
        )
    values = _outcomes(tx, table, horizon_days, surveys, promoter_min, detractor_max)
    group = table.set_index("customer_id")["group"].reindex(values.index)
    treatments = sorted(set(group) - {CONTROL})
    level = 1 - alpha
    rows = []
    for metric in metrics:
        adjusted = adjust and metric not in _SURVEY_METRICS
        block = []
        for name in treatments:
            pair = values[group.isin([CONTROL, name])]
            is_t = (group[pair.index] == name).to_numpy()
            y, x = pair[metric].to_numpy(float), pair[f"pre_{metric}"].to_numpy(float)
            keep = ~np.isnan(y)
            y, x, is_t = y[keep], x[keep], is_t[keep]
            y_used, reduction = y, 0.0
            if adjusted:
                y_used, _ = _cuped(y, x)
                reduction = float(1 - np.var(y_used) / np.var(y)) if np.var(y) > 0 else 0.0
            test = _welch(y_used[is_t], y_used[~is_t], level)
            control_mean = float(np.mean(y[~is_t])) if (~is_t).any() else np.nan
            block.append(
                dict(
                    metric=metric,
                    group=name,
                    control=control_mean,
                    treatment=float(np.mean(y[is_t])) if is_t.any() else np.nan,
                    effect=test["effect"],
                    relative_effect=(
                        test["effect"] / control_mean
                        if control_mean and metric != "nps"
                        else np.nan
                    ),
                    ci_low=test["ci_low"],
                    ci_high=test["ci_high"],
                    p_value_unadjusted=test["p_value"],
                    n_control=int((~is_t).sum()),
                    n_treatment=int(is_t.sum()),
                    adjusted=adjusted,
                    variance_reduction=reduction,
                )
            )
        for row, p in zip(block, _holm([r["p_value_unadjusted"] for r in block]), strict=True):
            row.update(p_value=float(p), significant=bool(p < alpha))
        rows += block
    result = pd.DataFrame(rows).set_index("metric")[RESULT_COLUMNS]
    counts = group.value_counts().to_dict()
    result.attrs = {
        "method": _method(adjust, horizon_days, len(treatments), alpha),
        "start": str(table["start"].min().date()),
        "horizon_days": int(horizon_days),
        "pre_period": f"the {horizon_days} days before each customer's start",
        "groups": {str(k): int(v) for k, v in sorted(counts.items())},
        "checks": _checks(values, group, counts, allocation, metrics),
    }
    return result


def _method(adjust: bool, horizon_days: int, n_treatments: int, alpha: float) -> str:
    days = {"days": horizon_days}
    text = (
        gettext(
            "Difference in means per customer over the %(days)s days from the start, Welch t-test; "
        )
        % days
    )
    text += (
        gettext(
            "revenue and retention CUPED-adjusted on the same metric in the %(days)s days before "
            "the start; "
        )
        % days
        if adjust
        else gettext("no covariate adjustment; ")
    )
    if n_treatments > 1:
        text += gettext(
            "%(n)s treatments against one control: p-values Holm-adjusted (family-wise "
            "%(alpha)s per metric), %(level)s intervals per comparison."
        ) % {"n": n_treatments, "alpha": percent(alpha, 0), "level": percent(1 - alpha, 0)}
    else:
        text += gettext("%(level)s intervals.") % {"level": percent(1 - alpha, 0)}
    return text


def _checks(values, group, counts, allocation, metrics) -> list[dict]:
    """Sample-ratio mismatch (chi-square) and pre-period balance (Welch) as plain records."""
    names = sorted(counts)
    shares = {g: 1.0 / len(names) for g in names} if allocation is None else dict(allocation)
    missing = set(names) - set(shares)
    if missing:
        must = f"a share for every group {names}"
        raise param_error("allocation", shares, must, caller="measure", got=repr(sorted(shares)))
    total_share = sum(shares[g] for g in names)
    observed = np.array([counts[g] for g in names], dtype=float)
    expected = observed.sum() * np.array([shares[g] / total_share for g in names])
    p_srm = float(stats.chisquare(observed, expected).pvalue)
    split = (
        ", ".join(f"{g} {counts[g]:,}" for g in names)
        + "; planned "
        + "/".join(f"{shares[g] / total_share:.0%}" for g in names)
    )
    records = [
        dict(
            check="sample ratio",
            metric="",
            group="",
            statistic=np.nan,
            p_value=p_srm,
            ok=p_srm >= SRM_ALPHA,
            detail=split,
        )
    ]
    for metric in metrics:
        column = f"pre_{metric}"
        for name in names:
            if name == CONTROL:
                continue
            t = values.loc[group == name, column].dropna().to_numpy(float)
            c = values.loc[group == CONTROL, column].dropna().to_numpy(float)
            test = _welch(t, c, 0.95)
            pooled = (
                np.sqrt((np.var(t, ddof=1) + np.var(c, ddof=1)) / 2)
                if min(len(t), len(c)) > 1
                else np.nan
            )
            smd = test["effect"] / pooled if pooled and pooled > 0 else 0.0
            p = test["p_value"]
            records.append(
                dict(
                    check="pre-period balance",
                    metric=metric,
                    group=name,
                    statistic=float(smd),
                    p_value=p,
                    ok=bool(np.isnan(p) or p >= BALANCE_ALPHA),
                    detail=f"n={len(t):,} vs {len(c):,} (with a pre-period value)",
                )
            )
    return records


def experiment_checks(result: pd.DataFrame) -> pd.DataFrame:
    """Tabulate the sample-ratio and pre-period balance checks of a :func:`measure` result.

    Examples
    --------
    >>> result = pd.DataFrame(); result.attrs["checks"] = [dict(check="sample ratio", metric="",
    ...     group="", statistic=float("nan"), p_value=0.4, ok=True, detail="control 10, a 11")]
    >>> experiment_checks(result)["ok"].tolist()
    [True]
    """
    return pd.DataFrame(
        result.attrs["checks"],
        columns=["check", "metric", "group", "statistic", "p_value", "ok", "detail"],
    )


def cumulative_revenue(
    transactions: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    start=None,
    horizon_days: int,
    experiment: str | None = None,
) -> pd.DataFrame:
    """Cumulative revenue per customer by group, day by day, from the pre-period to the end.

    Returns
    -------
    DataFrame
        One row per day offset (``-horizon_days`` .. ``horizon_days - 1``, 0 = the start) and
        one column per group: revenue per assigned customer accumulated from the start of the
        pre-period. Lines that run together before day 0 and part after it show the effect.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "amount": [5.0, 8.0],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-03"])})
    >>> table = pd.DataFrame({"customer_id": ["a", "b"], "group": ["control", "coupon"]})
    >>> cumulative_revenue(tx, table, start="2025-01-02", horizon_days=2).loc[1].tolist()
    [5.0, 8.0]
    """
    tx = check_transactions(transactions, caller="cumulative_revenue")
    if "experiment" in assignments.columns:
        assignments = select_experiment(assignments, experiment)
    table = _assigned(assignments, start, "cumulative_revenue")
    events = tx[["customer_id", "date", "amount"]].assign(customer_id=tx["customer_id"].astype(str))
    joined = _windows(events, table, horizon_days).merge(
        table[["customer_id", "group"]], on="customer_id"
    )
    days = pd.RangeIndex(-horizon_days, horizon_days, name="day")
    daily = joined.pivot_table(index="offset", columns="group", values="amount", aggfunc="sum")
    groups = sorted(table["group"].unique(), key=lambda g: (g != CONTROL, g))
    daily = daily.reindex(index=days, columns=groups, fill_value=0.0).fillna(0.0)
    per_customer = daily / table["group"].value_counts().reindex(groups).to_numpy()
    per_customer.columns.name = "group"
    return per_customer.cumsum()
