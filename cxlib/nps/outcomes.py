"""The tables of :func:`cxlib.nps.nps_vs_revenue`, one helper per table.

Each takes the frames :mod:`cxlib.nps.revenue` builds (respondents' latest answers joined to the
customer table, the forward-looking sample, the transactions) and returns a tidy frame.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.nps._stats import (
    _cv_auc,
    _design,
    _detrended,
    _logit,
    _mean_ci,
    _ols,
    _spearman,
    _welch,
    _within_segment_effect,
)
from cxlib.nps.groups import nps_by, nps_by_segment
from cxlib.nps.score import CATEGORIES, MIN_RELIABLE_N

#: A score "adds predictive value" for churn when it raises the cross-validated ROC AUC of a model
#: that already knows prior spend, orders, tenure and segment by at least this much (and the
#: likelihood-ratio test agrees). 0.01 AUC is about the smallest gain that changes a ranked list.
MIN_USEFUL_AUC_GAIN = 0.01
#: ... and for spend when it raises the explained share of variance (R^2) by at least this much.
MIN_USEFUL_R2_GAIN = 0.01

_EFFECT_COLUMNS = [
    "metric",
    "promoter_mean",
    "detractor_mean",
    "difference",
    "ci_low",
    "ci_high",
    "relative",
    "p_value",
]


def category_effects(samples, *, z: float, within_segment: bool) -> tuple[pd.DataFrame, ...]:
    """Means by answer category and the promoter-minus-detractor effect of each metric.

    ``samples`` is a list of ``(frame, metrics)``; with ``within_segment`` the spend and churn
    effects are also pooled within segments of the last frame (the forward-looking sample).
    """
    rows, effect_rows = [], []
    for frame, metrics in samples:
        for metric in metrics:
            values = {
                c: frame.loc[frame["category"] == c, metric].to_numpy(float) for c in CATEGORIES
            }
            for category in CATEGORIES:
                mean, low, high = _mean_ci(values[category], z)
                n_valid = int((~np.isnan(values[category])).sum())
                rows.append((metric, category, n_valid, mean, low, high))
            diff, low, high, p_value = _welch(values["promoter"], values["detractor"], z)
            det_mean = _mean_ci(values["detractor"], z)[0]
            pro_mean = _mean_ci(values["promoter"], z)[0]
            relative = diff / det_mean if det_mean and not math.isnan(det_mean) else math.nan
            effect_rows.append((metric, pro_mean, det_mean, diff, low, high, relative, p_value))
    if within_segment:
        forward = samples[-1][0]
        for metric in ("subsequent_spend", "churned"):
            effect_rows.append(_within_segment_effect(forward, metric, z))
    by_category = pd.DataFrame(
        rows, columns=["metric", "category", "n", "mean", "ci_low", "ci_high"]
    )
    return by_category, pd.DataFrame(effect_rows, columns=_EFFECT_COLUMNS)


def score_table(forward: pd.DataFrame, z: float) -> pd.DataFrame:
    """Subsequent spend and churn at each score point, with intervals."""
    score_rows = []
    for score, part in forward.groupby("score"):
        spend = _mean_ci(part["subsequent_spend"].to_numpy(float), z)
        kept = _mean_ci(part["churned"].to_numpy(float), z)
        score_rows.append((int(score), len(part), *spend, *kept))
    return pd.DataFrame(
        score_rows,
        columns=[
            "score",
            "n",
            "subsequent_spend",
            "spend_ci_low",
            "spend_ci_high",
            "churned",
            "churned_ci_low",
            "churned_ci_high",
        ],
    )


def _spend_regression(forward, *, control_for_segment, z, confidence):
    """OLS of subsequent spend on the score and past behaviour: coefficient rows, gain row."""
    x_full, names = _design(forward, with_score=True, segment=control_for_segment)
    x_base, _ = _design(forward, with_score=False, segment=control_for_segment)
    spend = forward["subsequent_spend"].to_numpy(float)
    beta, se, r2_full = _ols(spend, x_full)
    _, _, r2_base = _ols(spend, x_base)
    dof = max(len(forward) - x_full.shape[1], 1)
    rows = []
    for name, b, s in zip(names, beta, se, strict=True):
        p_value = float(2 * stats.t.sf(abs(b / s), dof)) if s > 0 else math.nan
        rows.append(("subsequent_spend", name, b, s, b - z * s, b + z * s, p_value))
    p_score = rows[1][-1]
    gain = r2_full - r2_base
    useful = bool(p_score < 1 - confidence and gain >= MIN_USEFUL_R2_GAIN)
    return rows, ("subsequent_spend", "r2", r2_base, r2_full, gain, p_score, useful)


def _churn_regression(forward, *, control_for_segment, z, confidence, seed):
    """Logistic churn model with and without the score: coefficient rows, gain row (or None)."""
    churn = forward["churned"].to_numpy(float)
    if not 0 < churn.sum() < len(forward):
        return [], None
    options = dict(horizon=True, segment=control_for_segment)
    x_full, names = _design(forward, with_score=True, **options)
    x_base, _ = _design(forward, with_score=False, **options)
    beta, se, ll_full = _logit(churn, x_full)
    _, _, ll_base = _logit(churn, x_base)
    rows = []
    for name, b, s in zip(names, beta, se, strict=True):
        p_value = float(2 * stats.norm.sf(abs(b / s))) if s > 0 else math.nan
        rows.append(("churn", name, b, s, b - z * s, b + z * s, p_value))
    p_lr = float(stats.chi2.sf(max(2 * (ll_full - ll_base), 0.0), 1))
    auc_full = _cv_auc(churn, x_full, seed=seed)
    auc_base = _cv_auc(churn, x_base, seed=seed)
    gain = auc_full - auc_base
    useful = bool(p_lr < 1 - confidence and gain >= MIN_USEFUL_AUC_GAIN)
    return rows, ("churn", "cv_auc", auc_base, auc_full, gain, p_lr, useful)


def regressions(
    forward, *, control_for_segment, confidence, seed, caller, follow_up_months
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test whether the score adds anything to past behaviour, for spend and for churn."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    reg_rows, inc_rows = [], []
    if len(forward) >= 30 and forward["score"].nunique() > 1:
        options = dict(control_for_segment=control_for_segment, z=z, confidence=confidence)
        rows, gain = _spend_regression(forward, **options)
        reg_rows += rows
        inc_rows.append(gain)
        rows, gain = _churn_regression(forward, seed=seed, **options)
        reg_rows += rows
        inc_rows += [gain] if gain is not None else []
    else:
        warnings.warn(
            f"{caller}: only {len(forward)} answer(s) with {follow_up_months} months of "
            "follow-up; the regressions are skipped",
            stacklevel=3,
        )
    return (
        pd.DataFrame(
            reg_rows, columns=["model", "term", "coef", "se", "ci_low", "ci_high", "p_value"]
        ),
        pd.DataFrame(
            inc_rows,
            columns=[
                "model",
                "metric",
                "without_score",
                "with_score",
                "gain",
                "p_value",
                "adds_value",
            ],
        ),
    )


def segment_table(latest, table, forward, tx, end, *, thresholds, confidence) -> pd.DataFrame:
    """Per segment: NPS (:func:`nps_by_segment`), value, growth, and the gaps within it."""
    last_year = tx["date"] > end - pd.DateOffset(months=12)
    year_before = (tx["date"] > end - pd.DateOffset(months=24)) & ~last_year
    seg_tx = table["segment"].reindex(tx["customer_id"]).to_numpy()
    revenue_last = tx["amount"].where(last_year, 0.0).groupby(seg_tx).sum()
    revenue_before = tx["amount"].where(year_before, 0.0).groupby(seg_tx).sum()
    scores = nps_by_segment(
        latest.reset_index(),
        table["segment"],
        unassigned="unknown",
        confidence=confidence,
        **thresholds,
    )
    rows = []
    columns = ["segment", "n", "score", "ci_low", "ci_high"]
    for segment, n, score, low, high in scores[columns].itertuples(index=False):
        members = table["segment"] == segment
        fwd = forward[forward["segment"] == segment]
        churn_by = fwd.groupby("category", observed=True)["churned"].mean()
        spend_by = fwd.groupby("category", observed=True)["subsequent_spend"].mean()
        before_rev = float(revenue_before.get(segment, 0.0))
        last_rev = float(revenue_last.get(segment, 0.0))
        growth = last_rev / before_rev - 1 if before_rev > 0 else math.nan
        churn_det = float(churn_by.get("detractor", math.nan))
        churn_pro = float(churn_by.get("promoter", math.nan))
        rows.append(
            (
                segment,
                int(n),
                score,
                low,
                high,
                int(members.sum()),
                float(table.loc[members, "revenue"].mean()),
                growth,
                churn_det,
                churn_pro,
                churn_det - churn_pro,
                float(spend_by.get("promoter", math.nan) - spend_by.get("detractor", math.nan)),
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "segment",
            "n_answers",
            "score",
            "ci_low",
            "ci_high",
            "customers",
            "revenue_per_customer",
            "revenue_growth",
            "churn_detractors",
            "churn_promoters",
            "churn_gap",
            "spend_gap",
        ],
    )
    out["reliable"] = out["n_answers"] >= MIN_RELIABLE_N
    return out


def period_table(sv, tx, end, *, thresholds, confidence) -> pd.DataFrame:
    """Quarterly NPS next to the quarter's revenue and the next quarter's growth.

    Non-overlapping quarters: overlapping windows would make neighbouring points share data and
    overstate the evidence. Only complete quarters get a revenue.
    """
    quarterly = nps_by(sv, freq="Q", confidence=confidence, **thresholds)[
        ["period", "n", "score", "ci_low", "ci_high", "change", "change_p_value"]
    ]
    quarter_start = tx["date"].dt.to_period("Q").dt.start_time
    revenue_q = tx.groupby(quarter_start)["amount"].sum()
    complete = revenue_q.index + pd.DateOffset(months=3) <= end + pd.Timedelta(days=1)
    revenue_q = revenue_q[complete]
    growth = (revenue_q.shift(-1) / revenue_q - 1).rename("revenue_growth_next")
    periods = quarterly.merge(
        revenue_q.rename("revenue"), left_on="period", right_index=True, how="left"
    )
    return periods.merge(growth, left_on="period", right_index=True, how="left")


def respondent_table(table: pd.DataFrame, answered: np.ndarray, z: float) -> pd.DataFrame:
    """Respondents versus non-respondents on revenue, orders and tenure (Welch)."""
    rows = []
    for metric in ("revenue", "orders", "tenure_years"):
        values = table[metric].to_numpy(float)
        diff, low, high, p_value = _welch(values[answered], values[~answered], z)
        rows.append(
            (
                metric,
                float(np.nanmean(values[answered])) if answered.any() else math.nan,
                float(np.nanmean(values[~answered])) if (~answered).any() else math.nan,
                diff,
                low,
                high,
                p_value,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "metric",
            "respondents",
            "non_respondents",
            "difference",
            "ci_low",
            "ci_high",
            "p_value",
        ],
    )


def summary_scalars(segments: pd.DataFrame, periods: pd.DataFrame) -> dict:
    """Return the rank correlations the conclusion quotes.

    Segments' NPS against growth and value, and quarters' NPS against the next quarter's
    growth (raw and with the shared time trend removed).
    """
    none = (math.nan, math.nan, 0)
    reliable = periods["n"] >= MIN_RELIABLE_N
    score, growth = periods.loc[reliable, "score"], periods.loc[reliable, "revenue_growth_next"]
    return {
        "segment_nps_vs_growth": _spearman(segments["score"], segments["revenue_growth"])
        if len(segments)
        else none,
        "segment_nps_vs_value": _spearman(segments["score"], segments["revenue_per_customer"])
        if len(segments)
        else none,
        "period_nps_vs_growth": _spearman(score, growth),
        "period_nps_vs_growth_detrended": _spearman(_detrended(score), _detrended(growth)),
    }
