"""Net Promoter Score with honest intervals, by group and period, and its link to money.

The NPS is the share of promoters minus the share of detractors, in points (-100..100). Every
estimate here carries an interval, and every comparison a test, so that a report never calls
sampling noise a change.

- :func:`nps` — one score with its interval (trinomial Wald, adjusted Wald, or bootstrap).
- :func:`nps_category` — promoter / passive / detractor for each answer.
- :func:`nps_by` — NPS by group (segment, channel, ...) and/or period, with change tests.
- :func:`nps_difference` — the difference between two groups or periods, its interval and z test.
- :func:`nps_vs_revenue` — does the score track money: past and *subsequent* spend, retention,
  regressions controlling for what the customer already does, segments, quarters, non-response.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxlib._validation import (
    DataError,
    check_fraction,
    check_positive_int,
    coerce_transactions,
    format_offenders,
    validate_columns,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_DETRACTOR_MAX",
    "DEFAULT_FOLLOW_UP_MONTHS",
    "DEFAULT_PRIOR_MONTHS",
    "DEFAULT_PROMOTER_MIN",
    "MIN_RELIABLE_N",
    "MIN_USEFUL_AUC_GAIN",
    "MIN_USEFUL_R2_GAIN",
    "NPSDifference",
    "NPSResult",
    "NPSRevenueResult",
    "nps",
    "nps_by",
    "nps_category",
    "nps_difference",
    "nps_vs_revenue",
]

#: Scores at or above this are promoters (the usual 9-10).
DEFAULT_PROMOTER_MIN = 9
#: Scores at or below this are detractors (the usual 0-6).
DEFAULT_DETRACTOR_MAX = 6
#: Below this many answers an NPS interval is too wide to say much; :func:`nps` warns.
MIN_RELIABLE_N = 30
#: The three answer categories, in display order.
CATEGORIES = ("detractor", "passive", "promoter")

_METHODS = ("trinomial", "adjusted_wald", "bootstrap")


# --------------------------------------------------------------------------------------------
# One score
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NPSResult:
    """An NPS estimate.

    Attributes
    ----------
    score : float
        NPS in points, ``100 * (promoters - detractors)``.
    ci_low, ci_high : float
        Interval in points, clipped to [-100, 100].
    n : int
        Number of answers.
    promoters, passives, detractors : float
        Shares (fractions summing to 1).
    se : float
        Standard error in points used for the interval (and by :func:`nps_difference`).
    method : str
        ``"trinomial"``, ``"adjusted_wald"`` or ``"bootstrap"``.
    confidence : float
        Interval level.
    """

    score: float
    ci_low: float
    ci_high: float
    n: int
    promoters: float
    passives: float
    detractors: float
    se: float
    method: str = "trinomial"
    confidence: float = 0.95

    def to_dict(self) -> dict:
        """Return the estimate as a plain dict (one row of :func:`nps_by`)."""
        return {
            "n": self.n,
            "score": self.score,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "se": self.se,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
        }

    def __str__(self) -> str:
        level = round(100 * self.confidence)
        return (
            f"NPS {self.score:+.1f} ({level}% CI {self.ci_low:+.1f} to {self.ci_high:+.1f}, "
            f"n={self.n:,})"
        )


def _check_thresholds(promoter_min: int, detractor_max: int, caller: str) -> None:
    for name, value in (("promoter_min", promoter_min), ("detractor_max", detractor_max)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 0 <= value <= 10
        ):
            raise ValueError(
                f"The '{name}' parameter of {caller} must be an integer in 0..10. "
                f"Got {value!r} instead."
            )
    if detractor_max >= promoter_min:
        raise ValueError(
            f"The 'detractor_max' parameter of {caller} must be below 'promoter_min' "
            f"({promoter_min}). Got {detractor_max!r} instead."
        )


def _validated_scores(scores, caller: str) -> np.ndarray:
    """Return scores as ints, or raise DataError naming non-integer / out-of-range values."""
    if isinstance(scores, pd.DataFrame):
        if "score" not in scores.columns:
            validate_columns(scores, ["score"], caller=caller)
        scores = scores["score"]
    series = (
        scores if isinstance(scores, pd.Series) else pd.Series(np.asarray(scores, dtype=object))
    )
    if len(series) == 0:
        raise DataError(f"{caller}: no scores given; an NPS needs at least one answer")
    numeric = pd.to_numeric(series, errors="coerce").astype(float)
    ok = numeric.notna() & np.isfinite(numeric) & (numeric == np.round(numeric))
    ok &= numeric.between(0, 10)
    if not ok.all():
        bad = series[~ok.to_numpy()]
        raise DataError(
            f"{caller}: {len(bad)} score(s) are not integers in 0..10: {format_offenders(bad)}"
        )
    return numeric.to_numpy().astype(int)


def nps_category(
    scores,
    *,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
) -> pd.Series:
    """Classify each answer as ``"promoter"``, ``"passive"`` or ``"detractor"``.

    Parameters
    ----------
    scores : array-like or Series of int
        Answers on the 0-10 scale.
    promoter_min, detractor_max : int, keyword-only
        Promoters score at least ``promoter_min``; detractors at most ``detractor_max``.

    Returns
    -------
    Series
        Ordered categorical (detractor < passive < promoter), same index as ``scores``
        when it is a Series.

    Examples
    --------
    >>> nps_category([10, 7, 3]).tolist()
    ['promoter', 'passive', 'detractor']
    """
    _check_thresholds(promoter_min, detractor_max, "nps_category")
    values = _validated_scores(scores, "nps_category")
    labels = np.where(
        values >= promoter_min,
        "promoter",
        np.where(values <= detractor_max, "detractor", "passive"),
    )
    index = scores.index if isinstance(scores, (pd.Series, pd.DataFrame)) else None
    return pd.Series(
        pd.Categorical(labels, categories=list(CATEGORIES), ordered=True),
        index=index,
        name="category",
    )


def _interval(score: float, se: float, z: float) -> tuple[float, float]:
    return max(-100.0, score - z * se), min(100.0, score + z * se)


def nps(
    scores,
    *,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    method: str = "trinomial",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    min_n: int = MIN_RELIABLE_N,
) -> NPSResult:
    """Net Promoter Score with a confidence interval.

    Parameters
    ----------
    scores : array-like, Series, or DataFrame with a ``score`` column
        Answers to "how likely are you to recommend us", integers 0-10.
    promoter_min, detractor_max : int, keyword-only
        Category thresholds (default 9 and 6, the usual definition).
    method : {"trinomial", "adjusted_wald", "bootstrap"}, keyword-only
        How to compute the interval:

        - ``"trinomial"``: Wald interval from the trinomial variance,
          ``SE = 100 * sqrt((P + D - (P - D)**2) / n)`` with P, D the promoter and detractor
          shares; the point estimate is the plain NPS.
        - ``"adjusted_wald"``: Rocks (2016), "Interval Estimation for the 'Net Promoter Score'",
          *The American Statistician* 70(4), 365-372: add 3/4 of an answer to the promoters,
          3/4 to the detractors and 3/2 to the passives (3 in all), then use the trinomial
          Wald interval around the adjusted estimate with ``n + 3``. Rocks found it has the
          best coverage, especially for small n and extreme scores (the plain Wald interval
          has zero width when every answer is a promoter). ``score`` stays the plain NPS.
        - ``"bootstrap"``: percentile bootstrap of the mean of +1/0/-1 codes
          (``n_boot`` resamples, ``seed``); ``se`` is the bootstrap standard deviation.
    confidence : float, keyword-only
        Interval level, default 0.95.
    n_boot, seed : int, keyword-only
        Bootstrap resamples and seed (``method="bootstrap"`` only).
    min_n : int, keyword-only
        Warn when fewer answers than this (default :data:`MIN_RELIABLE_N` = 30: below it the
        95% interval is typically wider than +-30 points).

    Returns
    -------
    NPSResult
        ``score``, ``ci_low``, ``ci_high`` (points, clipped to [-100, 100]), ``n``, the shares
        ``promoters``, ``passives``, ``detractors``, and ``se``.

    Raises
    ------
    DataError
        When there are no scores, or some are not integers in 0..10 (names them).

    Examples
    --------
    >>> result = nps([10, 9, 8, 7, 3] * 10)
    >>> round(result.score, 1), round(result.ci_low, 1), round(result.ci_high, 1)
    (20.0, -0.7, 40.7)
    """
    _check_thresholds(promoter_min, detractor_max, "nps")
    confidence = check_fraction(confidence, "confidence", caller="nps")
    if method not in _METHODS:
        raise ValueError(
            f"The 'method' parameter of nps must be one of {list(_METHODS)}. "
            f"Got {method!r} instead."
        )
    values = _validated_scores(scores, "nps")
    n = len(values)
    n_pro = int((values >= promoter_min).sum())
    n_det = int((values <= detractor_max).sum())
    p, d = n_pro / n, n_det / n
    score = 100 * (p - d)
    z = stats.norm.ppf(0.5 + confidence / 2)
    if method == "trinomial":
        se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
        low, high = _interval(score, se, z)
    elif method == "adjusted_wald":
        n_adj = n + 3
        p_adj, d_adj = (n_pro + 0.75) / n_adj, (n_det + 0.75) / n_adj
        se = 100 * math.sqrt((p_adj + d_adj - (p_adj - d_adj) ** 2) / n_adj)
        low, high = _interval(100 * (p_adj - d_adj), se, z)
    else:
        rng = np.random.default_rng(seed)
        # Resample category counts (multinomial) instead of indices: same distribution, O(n_boot).
        shares = np.array([n_pro, n - n_pro - n_det, n_det], dtype=float) / n
        counts = rng.multinomial(n, shares, size=n_boot)
        boot = 100 * (counts[:, 0] - counts[:, 2]) / n
        se = float(boot.std(ddof=1)) if n_boot > 1 else float("nan")
        alpha = 1 - confidence
        low, high = (float(v) for v in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
        low, high = max(-100.0, low), min(100.0, high)
    if n < min_n:
        warnings.warn(
            f"nps: only {n} answer(s); below {min_n} the interval ({low:+.0f} to {high:+.0f}) "
            "is too wide to say much",
            stacklevel=2,
        )
    return NPSResult(
        score=float(score),
        ci_low=float(low),
        ci_high=float(high),
        n=n,
        promoters=p,
        passives=(n - n_pro - n_det) / n,
        detractors=d,
        se=float(se),
        method=method,
        confidence=confidence,
    )


# --------------------------------------------------------------------------------------------
# Comparisons: groups and periods
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NPSDifference:
    """The difference ``a - b`` between two NPS estimates, in points.

    Attributes
    ----------
    difference, ci_low, ci_high : float
        ``a.score - b.score`` and its interval (not clipped: it lives in -200..200).
    se : float
        ``sqrt(a.se**2 + b.se**2)`` (independent samples: variances add).
    z, p_value : float
        Two-sided z test of "no difference".
    significant : bool
        ``p_value < 1 - confidence``.
    a, b : NPSResult
        The two estimates compared.
    """

    difference: float
    ci_low: float
    ci_high: float
    se: float
    z: float
    p_value: float
    significant: bool
    a: NPSResult
    b: NPSResult
    confidence: float = 0.95

    def __str__(self) -> str:
        verdict = "a real difference" if self.significant else "not distinguishable from noise"
        level = round(100 * self.confidence)
        return (
            f"NPS difference {self.difference:+.1f} points ({level}% CI {self.ci_low:+.1f} to "
            f"{self.ci_high:+.1f}, p={self.p_value:.3f}): {verdict}"
        )


def _difference(a: NPSResult, b: NPSResult, confidence: float) -> NPSDifference:
    diff = a.score - b.score
    se = math.sqrt(a.se**2 + b.se**2)
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    if se > 0:
        z = diff / se
        p_value = float(2 * stats.norm.sf(abs(z)))
    else:  # both samples without variance (e.g. all promoters in both)
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p_value = 1.0 if diff == 0 else 0.0
    return NPSDifference(
        difference=float(diff),
        ci_low=float(diff - z_crit * se),
        ci_high=float(diff + z_crit * se),
        se=float(se),
        z=float(z),
        p_value=p_value,
        significant=bool(p_value < 1 - confidence),
        a=a,
        b=b,
        confidence=confidence,
    )


def nps_difference(
    a,
    b,
    *,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    method: str = "trinomial",
    confidence: float = 0.95,
) -> NPSDifference:
    """Difference between the NPS of two independent groups or periods, with interval and test.

    The variance of a difference of independent estimates is the sum of their variances, so
    ``SE = sqrt(SE_a**2 + SE_b**2)`` and ``z = (NPS_a - NPS_b) / SE`` (Wald z test).

    Parameters
    ----------
    a, b : array-like of int scores, or NPSResult
        The two samples (or estimates already computed with :func:`nps`).
    promoter_min, detractor_max, method : keyword-only
        Passed to :func:`nps` when ``a``/``b`` are scores.
    confidence : float, keyword-only
        Interval level; ``significant`` means ``p_value < 1 - confidence``.

    Returns
    -------
    NPSDifference

    Examples
    --------
    >>> d = nps_difference([10] * 60 + [5] * 40, [10] * 50 + [5] * 50)
    >>> round(d.difference, 1), d.significant
    (20.0, False)
    """
    confidence = check_fraction(confidence, "confidence", caller="nps_difference")
    options = dict(
        promoter_min=promoter_min, detractor_max=detractor_max, method=method, confidence=confidence
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-n warnings: the wide interval says it already
        ra = a if isinstance(a, NPSResult) else nps(a, **options)
        rb = b if isinstance(b, NPSResult) else nps(b, **options)
    return _difference(ra, rb, confidence)


_FREQ_ALIASES = {
    "M": "M",
    "MS": "M",
    "ME": "M",
    "Q": "Q",
    "QS": "Q",
    "QE": "Q",
    "W": "W",
    "Y": "Y",
    "A": "Y",
    "YS": "Y",
    "YE": "Y",
    "D": "D",
}


def _period_start(dates: pd.Series, freq: str, caller: str) -> pd.Series:
    key = _FREQ_ALIASES.get(str(freq).upper())
    if key is None:
        raise ValueError(
            f"The 'freq' parameter of {caller} must be one of 'D', 'W', 'M', 'Q', 'Y'. "
            f"Got {freq!r} instead."
        )
    return pd.to_datetime(dates).dt.to_period(key).dt.start_time


def nps_by(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    method: str = "trinomial",
    confidence: float = 0.95,
    min_n: int = MIN_RELIABLE_N,
) -> pd.DataFrame:
    """NPS by group and/or period, each with its interval; over time, each change is tested.

    Parameters
    ----------
    surveys : DataFrame
        ``score`` plus the ``by`` columns, and ``date`` when ``freq`` is given. Join segment,
        channel or category onto the answers first (e.g. ``surveys.merge(segments, on=...)``).
    by : str or list of str, optional, keyword-only
        Grouping column(s).
    freq : {"D", "W", "M", "Q", "Y"}, optional, keyword-only
        Period length; adds a ``period`` column (period start) after the group columns.
    promoter_min, detractor_max, method, confidence : keyword-only
        As in :func:`nps`.
    min_n : int, keyword-only
        Rows with fewer answers are flagged ``reliable=False`` (no warning per row).

    Returns
    -------
    DataFrame
        One row per group (and period): the ``by`` columns, ``period`` (when ``freq``), then
        ``n``, ``score``, ``ci_low``, ``ci_high``, ``se``, ``promoters``, ``passives``,
        ``detractors``, ``reliable``. With ``freq``, also ``change`` (points versus the
        previous period of the same group), ``change_ci_low``, ``change_ci_high``,
        ``change_p_value`` and ``change_significant`` (NaN / False for each group's first
        period).

    Examples
    --------
    >>> answers = pd.DataFrame({"segment": ["a", "a", "b", "b"], "score": [10, 9, 3, 8]})
    >>> nps_by(answers, by="segment", min_n=1)[["segment", "n", "score"]]
      segment  n  score
    0       a  2  100.0
    1       b  2  -50.0
    """
    group_cols = [by] if isinstance(by, str) else list(by or [])
    required = ["score", *group_cols] + (["date"] if freq is not None else [])
    validate_columns(surveys, required, caller="nps_by")
    _check_thresholds(promoter_min, detractor_max, "nps_by")
    confidence = check_fraction(confidence, "confidence", caller="nps_by")
    frame = surveys[required].copy()
    _validated_scores(frame["score"], "nps_by")
    keys = list(group_cols)
    if freq is not None:
        frame["period"] = _period_start(frame["date"], freq, "nps_by")
        keys.append("period")
    options = dict(
        promoter_min=promoter_min, detractor_max=detractor_max, method=method, confidence=confidence
    )
    rows = []
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # dropna=False: answers without a group get their own row instead of vanishing.
        groups = (
            frame.groupby(keys, observed=True, sort=True, dropna=False) if keys else [((), frame)]
        )
        for key, part in groups:
            key = key if isinstance(key, tuple) else (key,)
            result = nps(part["score"], min_n=0, **options)
            results.append(result)
            rows.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    **result.to_dict(),
                    "reliable": result.n >= min_n,
                }
            )
    columns = [
        *keys,
        "n",
        "score",
        "ci_low",
        "ci_high",
        "se",
        "promoters",
        "passives",
        "detractors",
        "reliable",
    ]
    table = pd.DataFrame(rows, columns=columns)
    if freq is not None:
        change_cols = ["change", "change_ci_low", "change_ci_high", "change_p_value"]
        changes = np.full((len(table), 4), np.nan)
        significant = np.zeros(len(table), dtype=bool)
        previous: dict[tuple, int] = {}
        group_keys = [tuple(table.loc[i, group_cols]) for i in range(len(table))]
        for i, row in enumerate(group_keys):
            if row in previous:
                d = _difference(results[i], results[previous[row]], confidence)
                changes[i] = (d.difference, d.ci_low, d.ci_high, d.p_value)
                significant[i] = d.significant
            previous[row] = i
        table[change_cols] = changes
        table["change_significant"] = significant
    return table


# --------------------------------------------------------------------------------------------
# NPS versus money
# --------------------------------------------------------------------------------------------

#: Months after a survey answer in which subsequent spend and retention are measured.
DEFAULT_FOLLOW_UP_MONTHS = 6
#: Months before a survey answer summarised as the customer's prior behaviour.
DEFAULT_PRIOR_MONTHS = 12
#: A score "adds predictive value" for churn when it raises the cross-validated ROC AUC of a model
#: that already knows prior spend, orders, tenure and segment by at least this much (and the
#: likelihood-ratio test agrees). 0.01 AUC is about the smallest gain that changes a ranked list.
MIN_USEFUL_AUC_GAIN = 0.01
#: ... and for spend when it raises the explained share of variance (R^2) by at least this much.
MIN_USEFUL_R2_GAIN = 0.01


@dataclass
class NPSRevenueResult:
    """What :func:`nps_vs_revenue` found. Every frame is tidy; intervals are at ``confidence``.

    Attributes
    ----------
    overall : NPSResult
        NPS of each respondent's latest answer.
    by_category : DataFrame
        ``metric``, ``category``, ``n``, ``mean``, ``ci_low``, ``ci_high``: each metric's mean
        for detractors, passives and promoters. Metrics: ``revenue``, ``orders``, ``aov``,
        ``tenure_years``, ``clv`` (when given) over the whole history (latest answer per
        customer), and ``prior_spend``, ``subsequent_spend`` (in the follow-up window) and
        ``churned`` (share with no purchase in the last ``follow_up_months`` of the data, i.e.
        lapsed by the end) around each customer's latest answer with enough follow-up.
    effects : DataFrame
        One row per metric: ``promoter_mean``, ``detractor_mean``, ``difference`` (promoters
        minus detractors), ``ci_low``, ``ci_high`` (Welch), ``relative`` (difference over the
        detractor mean), ``p_value``.
    by_score : DataFrame
        ``score``, ``n``, ``subsequent_spend``, ``spend_ci_low``, ``spend_ci_high``,
        ``churned``, ``churned_ci_low``, ``churned_ci_high``.
    regressions : DataFrame
        ``model`` (``"subsequent_spend"`` OLS with HC1 standard errors, ``"churn"`` logistic),
        ``term``, ``coef``, ``se``, ``ci_low``, ``ci_high``, ``p_value``. Controls: log prior
        spend, log prior orders, tenure in years and segment dummies (plus, for churn, the years
        from the answer to the data end). The spend coefficient of ``score`` is currency per
        score point; the churn one is a log-odds per point.
    incremental : DataFrame
        Does the score add anything: ``model``, ``metric`` (``r2`` / ``cv_auc``), ``without_score``,
        ``with_score``, ``gain``, ``p_value`` (robust t test / likelihood-ratio test),
        ``adds_value``.
    segments : DataFrame
        Per segment (when segments are given): ``n_answers``, NPS ``score`` with ``ci_low``,
        ``ci_high``, ``customers``, ``revenue_per_customer``, ``revenue_growth`` (last 12 months
        over the 12 before), ``churn_detractors``, ``churn_promoters``, ``churn_gap``
        (detractors minus promoters), ``spend_gap`` (promoters minus detractors, subsequent),
        ``reliable`` (at least :data:`MIN_RELIABLE_N` answers).
    periods : DataFrame
        Per calendar quarter (``period`` = its start): ``n``, ``score``, ``ci_low``, ``ci_high``,
        ``change``, ``change_p_value`` (versus the previous quarter, see :func:`nps_by`),
        ``revenue`` and ``revenue_growth_next`` (next quarter's revenue over this one's, minus 1;
        complete quarters only).
    respondents : DataFrame
        ``metric`` (``revenue``, ``orders``, ``tenure_years``), ``respondents``,
        ``non_respondents``, ``difference``, ``ci_low``, ``ci_high``, ``p_value``.
    customers : DataFrame
        The forward-looking sample, one row per customer: ``customer_id``, ``survey_date``,
        ``score``, ``category``, ``segment``, ``prior_spend``, ``prior_orders``, ``tenure_years``,
        ``subsequent_spend``, ``churned``, ``years_to_end``.
    summary : dict
        Scalars used by :meth:`conclusion` (sample sizes, correlations, settings).
    """

    overall: NPSResult
    by_category: pd.DataFrame
    effects: pd.DataFrame
    by_score: pd.DataFrame
    regressions: pd.DataFrame
    incremental: pd.DataFrame
    segments: pd.DataFrame
    periods: pd.DataFrame
    respondents: pd.DataFrame
    customers: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def predictive_value(self, model: str = "churn") -> str:
        """Say whether the score adds to past behaviour for ``model`` (churn or spend).

        Returns ``"useful"`` (significant and at least :data:`MIN_USEFUL_AUC_GAIN` /
        :data:`MIN_USEFUL_R2_GAIN` better), ``"real but small"`` (significant only), ``"none"``
        (not significant) or ``"not measured"`` (too few answers with follow-up).
        """
        if model not in ("churn", "subsequent_spend"):
            raise ValueError(
                "The 'model' parameter of predictive_value must be 'churn' or 'subsequent_spend'. "
                f"Got {model!r} instead."
            )
        rows = self.incremental[self.incremental["model"] == model]
        if rows.empty:
            return "not measured"
        row = rows.iloc[0]
        if row["adds_value"]:
            return "useful"
        if row["p_value"] < 1 - self.summary["confidence"]:
            return "real but small"
        return "none"

    def conclusion(self, *, currency: str = "EUR") -> str:
        """State what NPS does and does not tell this client about money, in plain language.

        Every sentence is derived from the estimates in this result (signs, intervals, tests),
        so the text changes with the data.
        """
        return _conclusion(self, currency=currency)


def _mean_ci(values: np.ndarray, z: float) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(values.mean())
    if n < 2:
        return (mean, math.nan, math.nan)
    half = z * float(values.std(ddof=1)) / math.sqrt(n)
    return (mean, mean - half, mean + half)


def _welch(a: np.ndarray, b: np.ndarray, z: float) -> tuple[float, float, float, float]:
    """Difference of means a - b, its interval and Welch p-value."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return (math.nan,) * 4
    diff = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    if se == 0:
        return (diff, diff, diff, 1.0 if diff == 0 else 0.0)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch-Satterthwaite
    p_value = float(2 * stats.t.sf(abs(diff) / se, dof))
    return (diff, diff - z * se, diff + z * se, p_value)


def _within_segment_effect(frame: pd.DataFrame, metric: str, z: float) -> tuple:
    """Pool the promoter-minus-detractor difference within segments.

    Cochran-Mantel-Haenszel weights ``n_pro * n_det / (n_pro + n_det)``; the variance is the
    sum of squared weights times the within-segment variances.
    """
    num = den = var = 0.0
    pro_means, det_means, weights = [], [], []
    for _, part in frame.groupby("segment", observed=True):
        pro = part.loc[part["category"] == "promoter", metric].to_numpy(float)
        det = part.loc[part["category"] == "detractor", metric].to_numpy(float)
        if len(pro) < 2 or len(det) < 2:
            continue
        w = len(pro) * len(det) / (len(pro) + len(det))
        num += w * (pro.mean() - det.mean())
        var += w**2 * (pro.var(ddof=1) / len(pro) + det.var(ddof=1) / len(det))
        den += w
        pro_means.append(pro.mean())
        det_means.append(det.mean())
        weights.append(w)
    name = f"{metric}_within_segment"
    if den == 0:
        return (name, *(math.nan,) * 7)
    diff, se = num / den, math.sqrt(var) / den
    pro_mean = float(np.average(pro_means, weights=weights))
    det_mean = float(np.average(det_means, weights=weights))
    p_value = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else math.nan
    relative = diff / det_mean if det_mean else math.nan
    return (name, pro_mean, det_mean, diff, diff - z * se, diff + z * se, relative, p_value)


def _detrended(values: pd.Series) -> pd.Series:
    """Residuals of a straight-line fit on position: removes a shared time trend."""
    ok = values.notna().to_numpy()
    out = pd.Series(np.nan, index=values.index)
    if ok.sum() >= 3:
        t = np.arange(len(values), dtype=float)[ok]
        y = values.to_numpy(float)[ok]
        slope, intercept = np.polyfit(t, y, 1)
        out[ok] = y - (intercept + slope * t)
    return out


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS coefficients, HC1 (heteroskedasticity-robust) standard errors and R^2."""
    n, k = x.shape
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    meat = (x * resid[:, None] ** 2).T @ x
    cov = xtx_inv @ meat @ xtx_inv * n / max(n - k, 1)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (resid**2).sum() / total if total > 0 else math.nan
    return beta, np.sqrt(np.clip(np.diag(cov), 0, None)), float(r2)


def _logit(
    y: np.ndarray, x: np.ndarray, *, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray, float]:
    """Unpenalised logistic regression by Newton-Raphson: coefficients, SEs, log-likelihood."""
    beta = np.zeros(x.shape[1])
    ridge = 1e-8 * np.eye(x.shape[1])  # keeps the Hessian invertible under (quasi-)separation
    for _ in range(max_iter):
        eta = np.clip(x @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        hessian = (x * w[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, x.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    eta = np.clip(x @ beta, -30, 30)
    p = 1 / (1 + np.exp(-eta))
    hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
    se = np.sqrt(np.clip(np.diag(np.linalg.inv(hessian)), 0, None))
    loglik = float(
        np.sum(y * np.log(np.clip(p, 1e-12, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-12, 1)))
    )
    return beta, se, loglik


def _cv_auc(y: np.ndarray, x: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of the logistic model (out-of-fold predictions)."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2 or len(y) < 2 * folds:
        return math.nan
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    pred = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        beta, _, _ = _logit(y[~test], x[~test])
        pred[test] = x[test] @ beta
    return float(roc_auc_score(y, pred))


def _design(
    frame: pd.DataFrame, *, with_score: bool, horizon: bool = False, segment: bool = True
) -> tuple[np.ndarray, list[str]]:
    columns = {"intercept": np.ones(len(frame))}
    if with_score:
        columns["score"] = frame["score"].to_numpy(float)
    columns["log_prior_spend"] = np.log1p(frame["prior_spend"].clip(lower=0).to_numpy(float))
    columns["log_prior_orders"] = np.log1p(frame["prior_orders"].to_numpy(float))
    columns["tenure_years"] = frame["tenure_years"].to_numpy(float)
    if horizon:
        columns["years_to_end"] = frame["years_to_end"].to_numpy(float)
    if segment and frame["segment"].nunique() > 1:
        dummies = pd.get_dummies(frame["segment"].astype(str), prefix="segment", drop_first=True)
        for name in dummies.columns:
            columns[name] = dummies[name].to_numpy(float)
    names = list(columns)
    return np.column_stack([columns[c] for c in names]), names


def _as_customer_series(values, name: str, caller: str) -> pd.Series | None:
    """Accept a Series indexed by customer_id, or a frame with customer_id and ``name``."""
    if values is None:
        return None
    if isinstance(values, pd.DataFrame):
        if "customer_id" in values.columns:
            validate_columns(values, ["customer_id", name], caller=caller)
            values = values.set_index("customer_id")[name]
        else:
            validate_columns(values, [name], caller=caller)
            values = values[name]
    if not isinstance(values, pd.Series):
        raise ValueError(
            f"The '{name}' parameter of {caller} must be a Series indexed by customer_id or a "
            f"frame with a '{name}' column. Got {type(values).__name__} instead."
        )
    values = values.copy()
    values.index = values.index.astype(str)
    return values[~values.index.duplicated(keep="last")]


def nps_vs_revenue(
    surveys: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    segments: pd.Series | pd.DataFrame | None = None,
    clv: pd.Series | pd.DataFrame | None = None,
    control_for_segment: bool = True,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    follow_up_months: int = DEFAULT_FOLLOW_UP_MONTHS,
    prior_months: int = DEFAULT_PRIOR_MONTHS,
    observation_end=None,
    confidence: float = 0.95,
    seed: int = 0,
) -> NPSRevenueResult:
    """Join survey answers to what customers spend, before and after they answered.

    Parameters
    ----------
    surveys : DataFrame
        ``customer_id``, ``date``, ``score`` (0-10). Customers may answer several times; the
        customer-level views use each customer's latest answer (latest with enough follow-up
        for the forward-looking ones), so no customer counts twice.
    transactions : DataFrame
        ``customer_id``, ``date``, ``amount`` (refunds negative), optional ``order_id``. An
        order is a distinct ``order_id`` (else a distinct purchase day) with a positive amount.
    customers : DataFrame, optional, keyword-only
        With ``customer_id``; its customers count as non-respondents even without purchases,
        and ``signup_date`` (when present) starts tenure instead of the first purchase.
    segments : Series or DataFrame, optional, keyword-only
        Segment per customer (Series indexed by ``customer_id``, or a frame with a ``segment``
        column, e.g. :func:`cxlib.segmentation.rfm_segments`). Used as a control and for the
        segment-level view.
    clv : Series or DataFrame, optional, keyword-only
        CLV per customer (Series, or a frame with a ``clv`` column); adds a ``clv`` metric.
    control_for_segment : bool, keyword-only
        Use the segments as a control in the regressions and for the within-segment effects
        (default True). Set it to False when the segments are measured *after* the answers
        from the same behaviour as the outcome — e.g. RFM segments at the data end, where
        "Lost" or "At Risk" already encode churn — so the segments only describe.
    promoter_min, detractor_max : int, keyword-only
        Category thresholds.
    follow_up_months : int, keyword-only
        Window after the answer for subsequent spend and retention (default 6). Only answers
        given at least this long before ``observation_end`` enter the forward-looking views.
    prior_months : int, keyword-only
        Window before the answer for prior spend and orders (default 12).
    observation_end : date-like, optional, keyword-only
        End of the data; default the last transaction date.
    confidence : float, keyword-only
        Interval level for every interval (default 0.95).
    seed : int, keyword-only
        Seed for the cross-validation folds.

    Returns
    -------
    NPSRevenueResult
        Tidy frames (see the class) and :meth:`NPSRevenueResult.conclusion`.

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = nps_vs_revenue(demo.surveys, demo.transactions)
    >>> print(result.conclusion().splitlines()[0])
    NPS is -1 (95% CI -8 to +6) over 497 customers' latest answers.
    """
    caller = "nps_vs_revenue"
    validate_columns(surveys, ["customer_id", "date", "score"], caller=caller)
    validate_columns(transactions, ["customer_id", "date", "amount"], caller=caller)
    _check_thresholds(promoter_min, detractor_max, caller)
    confidence = check_fraction(confidence, "confidence", caller=caller)
    check_positive_int(follow_up_months, "follow_up_months", caller=caller)
    check_positive_int(prior_months, "prior_months", caller=caller)
    z = float(stats.norm.ppf(0.5 + confidence / 2))

    tx = coerce_transactions(transactions, caller=caller)
    # An order is a distinct order_id when the data has one, else a distinct purchase day.
    if "order_id" in transactions.columns and transactions["order_id"].notna().any():
        present = transactions["order_id"].notna().to_numpy()
        keys = transactions["order_id"].astype(str).to_numpy(dtype=object)
        if not present.all():  # rows without an id: one order per purchase day
            days = tx["date"].dt.strftime("day:%Y-%m-%d").to_numpy(dtype=object)
            keys = np.where(present, keys, days)
        tx["order_key"] = pd.factorize(keys)[0]
    else:
        tx["order_key"] = tx["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    if tx["amount"].isna().any():
        bad = transactions["amount"][tx["amount"].isna().to_numpy()]
        raise DataError(f"{caller}: non-numeric amount(s): {format_offenders(bad)}")
    if len(tx) == 0:
        raise DataError(f"{caller}: no transactions given")
    end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
    tx = tx[tx["date"] <= end]

    sv = pd.DataFrame(
        {
            "customer_id": surveys["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(surveys["date"]).to_numpy(),
            "score": _validated_scores(surveys["score"], caller),
        }
    )
    sv = sv[sv["date"] <= end]
    if len(sv) == 0:
        raise DataError(f"{caller}: no survey answers on or before {end.date()}")
    sv["category"] = nps_category(
        sv["score"], promoter_min=promoter_min, detractor_max=detractor_max
    ).to_numpy()

    segment_of = _as_customer_series(segments, "segment", caller)
    clv_of = _as_customer_series(clv, "clv", caller)

    # --- one row per customer over the whole history ------------------------------------------
    positive = tx[tx["amount"] > 0]
    per_customer = pd.DataFrame(
        {
            "revenue": tx.groupby("customer_id")["amount"].sum(),
            "orders": positive.groupby("customer_id")["order_key"].nunique(),
            "first_purchase": tx.groupby("customer_id")["date"].min(),
        }
    )
    # Respondents without purchases count, with zero revenue (not as missing values).
    ids = per_customer.index.union(pd.Index(sv["customer_id"].unique()))
    if customers is not None:
        validate_columns(customers, ["customer_id"], caller=caller)
        ids = ids.union(pd.Index(customers["customer_id"].astype(str).unique()))
    per_customer = per_customer.reindex(ids)
    per_customer[["revenue", "orders"]] = per_customer[["revenue", "orders"]].fillna(0.0)
    start = per_customer["first_purchase"]
    if customers is not None and "signup_date" in customers.columns:
        signup = pd.Series(
            pd.to_datetime(customers["signup_date"]).to_numpy(),
            index=customers["customer_id"].astype(str),
        )
        signup = signup[~signup.index.duplicated(keep="last")].reindex(ids)
        start = signup.fillna(start)
    per_customer["start"] = start
    per_customer["tenure_years"] = (end - start).dt.days / 365.25
    per_customer["aov"] = per_customer["revenue"] / per_customer["orders"].where(
        per_customer["orders"] > 0
    )
    if clv_of is not None:
        per_customer["clv"] = clv_of.reindex(ids).astype(float)
    per_customer["segment"] = (
        segment_of.reindex(ids).astype(object).fillna("unknown")
        if segment_of is not None
        else "all"
    )

    latest = sv.sort_values(["customer_id", "date"]).groupby("customer_id").tail(1)
    latest = latest.set_index("customer_id")
    overall = nps(
        latest["score"],
        promoter_min=promoter_min,
        detractor_max=detractor_max,
        confidence=confidence,
    )
    history = latest.join(per_customer, how="left")
    history_metrics = ["revenue", "orders", "aov", "tenure_years"] + (
        ["clv"] if clv_of is not None else []
    )

    # --- forward-looking sample: latest answer with enough follow-up ---------------------------
    offset = pd.DateOffset(months=follow_up_months)
    eligible = sv[sv["date"] + offset <= end]
    forward = eligible.sort_values(["customer_id", "date"]).groupby("customer_id").tail(1)
    forward = forward.rename(columns={"date": "survey_date"}).reset_index(drop=True)
    joined = forward[["customer_id", "survey_date"]].merge(tx, on="customer_id", how="inner")
    delta = joined["date"] - joined["survey_date"]
    after = (delta > pd.Timedelta(0)) & (joined["date"] <= joined["survey_date"] + offset)
    before = (delta <= pd.Timedelta(0)) & (
        joined["date"] > joined["survey_date"] - pd.DateOffset(months=prior_months)
    )
    is_order = joined["amount"] > 0
    sums = (
        pd.DataFrame(
            {
                "prior_spend": joined["amount"].where(before, 0.0),
                "subsequent_spend": joined["amount"].where(after, 0.0),
                "customer_id": joined["customer_id"],
            }
        )
        .groupby("customer_id")
        .sum()
    )
    for name, window in (("prior_orders", before), ("subsequent_orders", after)):
        in_window = joined[window & is_order]
        sums[name] = in_window.groupby("customer_id")["order_key"].nunique().astype(float)
    forward = forward.set_index("customer_id").join(sums, how="left")
    forward[sums.columns] = forward[sums.columns].fillna(0.0)
    start_of = per_customer["start"].reindex(forward.index)
    forward["tenure_years"] = ((forward["survey_date"] - start_of).dt.days / 365.25).clip(lower=0)
    forward["tenure_years"] = forward["tenure_years"].fillna(0.0)
    last_order = positive.groupby("customer_id")["date"].max().reindex(forward.index)
    forward["churned"] = ~(last_order > end - offset).to_numpy()
    forward["churned"] = forward["churned"].astype(float)
    forward["years_to_end"] = (end - forward["survey_date"]).dt.days / 365.25
    forward["segment"] = per_customer["segment"].reindex(forward.index).fillna("unknown")
    forward_metrics = ["prior_spend", "subsequent_spend", "churned"]

    # --- means by category and promoter-detractor effects -------------------------------------
    rows, effect_rows = [], []
    for frame, metrics in ((history, history_metrics), (forward, forward_metrics)):
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
    if control_for_segment and forward["segment"].nunique() > 1:
        for metric in ("subsequent_spend", "churned"):
            effect_rows.append(_within_segment_effect(forward, metric, z))
    by_category = pd.DataFrame(
        rows, columns=["metric", "category", "n", "mean", "ci_low", "ci_high"]
    )
    effects = pd.DataFrame(
        effect_rows,
        columns=[
            "metric",
            "promoter_mean",
            "detractor_mean",
            "difference",
            "ci_low",
            "ci_high",
            "relative",
            "p_value",
        ],
    )

    # --- by score point ----------------------------------------------------------------------
    score_rows = []
    for score, part in forward.groupby("score"):
        spend = _mean_ci(part["subsequent_spend"].to_numpy(float), z)
        kept = _mean_ci(part["churned"].to_numpy(float), z)
        score_rows.append((int(score), len(part), *spend, *kept))
    by_score = pd.DataFrame(
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

    # --- regressions: does the score add anything? --------------------------------------------
    reg_rows, inc_rows = [], []
    n_forward = len(forward)
    if n_forward >= 30 and forward["score"].nunique() > 1:
        x_full, names = _design(forward, with_score=True, segment=control_for_segment)
        x_base, _ = _design(forward, with_score=False, segment=control_for_segment)
        spend = forward["subsequent_spend"].to_numpy(float)
        beta, se, r2_full = _ols(spend, x_full)
        _, _, r2_base = _ols(spend, x_base)
        dof = max(n_forward - x_full.shape[1], 1)
        for name, b, s in zip(names, beta, se, strict=True):
            p_value = float(2 * stats.t.sf(abs(b / s), dof)) if s > 0 else math.nan
            reg_rows.append(("subsequent_spend", name, b, s, b - z * s, b + z * s, p_value))
        p_score = reg_rows[1][-1]
        inc_rows.append(
            (
                "subsequent_spend",
                "r2",
                r2_base,
                r2_full,
                r2_full - r2_base,
                p_score,
                bool(p_score < 1 - confidence and r2_full - r2_base >= MIN_USEFUL_R2_GAIN),
            )
        )
        churn = forward["churned"].to_numpy(float)
        x_full, names = _design(forward, with_score=True, horizon=True, segment=control_for_segment)
        x_base, _ = _design(forward, with_score=False, horizon=True, segment=control_for_segment)
        if 0 < churn.sum() < n_forward:
            beta, se, ll_full = _logit(churn, x_full)
            _, _, ll_base = _logit(churn, x_base)
            for name, b, s in zip(names, beta, se, strict=True):
                p_value = float(2 * stats.norm.sf(abs(b / s))) if s > 0 else math.nan
                reg_rows.append(("churn", name, b, s, b - z * s, b + z * s, p_value))
            p_lr = float(stats.chi2.sf(max(2 * (ll_full - ll_base), 0.0), 1))
            auc_full = _cv_auc(churn, x_full, seed=seed)
            auc_base = _cv_auc(churn, x_base, seed=seed)
            inc_rows.append(
                (
                    "churn",
                    "cv_auc",
                    auc_base,
                    auc_full,
                    auc_full - auc_base,
                    p_lr,
                    bool(p_lr < 1 - confidence and auc_full - auc_base >= MIN_USEFUL_AUC_GAIN),
                )
            )
    else:
        warnings.warn(
            f"{caller}: only {n_forward} answer(s) with {follow_up_months} months of follow-up; "
            "the regressions are skipped",
            stacklevel=2,
        )
    regressions = pd.DataFrame(
        reg_rows, columns=["model", "term", "coef", "se", "ci_low", "ci_high", "p_value"]
    )
    incremental = pd.DataFrame(
        inc_rows,
        columns=["model", "metric", "without_score", "with_score", "gain", "p_value", "adds_value"],
    )

    # --- segments: NPS, value, growth, and the promoter-detractor gaps within each -------------
    last_year = tx["date"] > end - pd.DateOffset(months=12)
    year_before = (tx["date"] > end - pd.DateOffset(months=24)) & ~last_year
    seg_tx = per_customer["segment"].reindex(tx["customer_id"]).to_numpy()
    revenue_last = tx["amount"].where(last_year, 0.0).groupby(seg_tx).sum()
    revenue_before = tx["amount"].where(year_before, 0.0).groupby(seg_tx).sum()
    seg_rows = []
    latest_seg = history["segment"]
    for segment in sorted(latest_seg.dropna().unique(), key=str):
        answers = history.loc[latest_seg == segment, "score"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seg_nps = nps(
                answers,
                promoter_min=promoter_min,
                detractor_max=detractor_max,
                confidence=confidence,
            )
        members = per_customer["segment"] == segment
        fwd = forward[forward["segment"] == segment]
        churn_by = fwd.groupby("category", observed=True)["churned"].mean()
        spend_by = fwd.groupby("category", observed=True)["subsequent_spend"].mean()
        before_rev = float(revenue_before.get(segment, 0.0))
        seg_rows.append(
            (
                segment,
                seg_nps.n,
                seg_nps.score,
                seg_nps.ci_low,
                seg_nps.ci_high,
                int(members.sum()),
                float(per_customer.loc[members, "revenue"].mean()),
                float(revenue_last.get(segment, 0.0)) / before_rev - 1
                if before_rev > 0
                else math.nan,
                float(churn_by.get("detractor", math.nan)),
                float(churn_by.get("promoter", math.nan)),
                float(churn_by.get("detractor", math.nan) - churn_by.get("promoter", math.nan)),
                float(spend_by.get("promoter", math.nan) - spend_by.get("detractor", math.nan)),
            )
        )
    segments_table = pd.DataFrame(
        seg_rows,
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
    segments_table["reliable"] = segments_table["n_answers"] >= MIN_RELIABLE_N

    # --- periods: does NPS lead revenue growth? -----------------------------------------------
    # Non-overlapping quarters: overlapping windows would make neighbouring points share data
    # and overstate the evidence.
    quarterly = nps_by(
        sv, freq="Q", promoter_min=promoter_min, detractor_max=detractor_max, confidence=confidence
    )[["period", "n", "score", "ci_low", "ci_high", "change", "change_p_value"]]
    quarter_start = tx["date"].dt.to_period("Q").dt.start_time
    revenue_q = tx.groupby(quarter_start)["amount"].sum()
    complete = revenue_q.index + pd.DateOffset(months=3) <= end + pd.Timedelta(days=1)
    revenue_q = revenue_q[complete]
    growth = (revenue_q.shift(-1) / revenue_q - 1).rename("revenue_growth_next")
    periods = quarterly.merge(
        revenue_q.rename("revenue"), left_on="period", right_index=True, how="left"
    )
    periods = periods.merge(growth, left_on="period", right_index=True, how="left")

    # --- who answers: respondents versus non-respondents ---------------------------------------
    answered = per_customer.index.isin(sv["customer_id"].unique())
    resp_rows = []
    for metric in ("revenue", "orders", "tenure_years"):
        values = per_customer[metric].to_numpy(float)
        diff, low, high, p_value = _welch(values[answered], values[~answered], z)
        resp_rows.append(
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
    respondents = pd.DataFrame(
        resp_rows,
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

    def _spearman(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
        ok = a.notna() & b.notna()
        if ok.sum() < 3:
            return (math.nan, math.nan, int(ok.sum()))
        rho, p_value = stats.spearmanr(a[ok], b[ok])
        return (float(rho), float(p_value), int(ok.sum()))

    reliable_periods = periods["n"] >= MIN_RELIABLE_N
    summary = {
        "observation_end": end,
        "follow_up_months": follow_up_months,
        "prior_months": prior_months,
        "confidence": confidence,
        "n_answers": len(sv),
        "n_respondents": len(latest),
        "n_forward": n_forward,
        "response_rate": float(answered.mean()),
        "segment_nps_vs_growth": _spearman(
            segments_table["score"], segments_table["revenue_growth"]
        )
        if len(segments_table)
        else (math.nan, math.nan, 0),
        "segment_nps_vs_value": _spearman(
            segments_table["score"], segments_table["revenue_per_customer"]
        )
        if len(segments_table)
        else (math.nan, math.nan, 0),
        "period_nps_vs_growth": _spearman(
            periods.loc[reliable_periods, "score"],
            periods.loc[reliable_periods, "revenue_growth_next"],
        ),
        "period_nps_vs_growth_detrended": _spearman(
            _detrended(periods.loc[reliable_periods, "score"]),
            _detrended(periods.loc[reliable_periods, "revenue_growth_next"]),
        ),
        "has_segments": segment_of is not None,
        "segment_controlled": segment_of is not None and control_for_segment,
        "has_clv": clv_of is not None,
    }
    customers_out = forward.reset_index()[
        [
            "customer_id",
            "survey_date",
            "score",
            "category",
            "segment",
            "prior_spend",
            "prior_orders",
            "tenure_years",
            "subsequent_spend",
            "churned",
            "years_to_end",
        ]
    ]
    return NPSRevenueResult(
        overall=overall,
        by_category=by_category,
        effects=effects,
        by_score=by_score,
        regressions=regressions,
        incremental=incremental,
        segments=segments_table,
        periods=periods,
        respondents=respondents,
        customers=customers_out,
        summary=summary,
    )


def _money(value: float, currency: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency} {abs(value):,.0f}"


def _incremental_verdict(row, alpha: float, what: str, does: list, does_not: list) -> None:
    """Sort 'does the score add to past behaviour' into what NPS does / does not tell."""
    if row["adds_value"]:
        does.append(f"{what} beyond what past behaviour already predicts")
    elif row["p_value"] < alpha:
        does_not.append(
            f"much about {what} beyond past behaviour (the extra signal is real but too small "
            "to change who you would target)"
        )
    else:
        does_not.append(f"{what} beyond what past behaviour already predicts")


def _conclusion(result: NPSRevenueResult, *, currency: str) -> str:
    s = result.summary
    alpha = 1 - s["confidence"]
    level = round(100 * s["confidence"])
    months = s["follow_up_months"]
    o = result.overall
    does, does_not, lines = [], [], []
    lines.append(
        f"NPS is {o.score:+.0f} ({level}% CI {o.ci_low:+.0f} to {o.ci_high:+.0f}) over "
        f"{o.n:,} customers' latest answers."
    )
    effects = result.effects.set_index("metric")

    def money(v):
        return _money(v, currency)

    def pct(v):
        return f"{100 * v:.0f}%"

    def pts(v):
        return f"{100 * v:+.0f} pts"

    if "subsequent_spend" in effects.index and not math.isnan(
        effects.loc["subsequent_spend", "difference"]
    ):
        e = effects.loc["subsequent_spend"]
        real = e["p_value"] < alpha
        lines.append(
            f"In the {months} months after answering, promoters spent {money(e['promoter_mean'])} "
            f"on average and detractors {money(e['detractor_mean'])}: a gap of "
            f"{money(e['difference'])} ({level}% CI {money(e['ci_low'])} to {money(e['ci_high'])})"
            + (", a real difference." if real else ", not distinguishable from zero.")
        )
        if real and e["difference"] > 0:
            does.append("promoters go on to spend more than detractors")
        elif real:
            does.append("promoters go on to spend less than detractors")
        else:
            does_not.append("whether a customer will spend more in the coming months")
    if "churned" in effects.index and not math.isnan(effects.loc["churned", "difference"]):
        e = effects.loc["churned"]
        real = e["p_value"] < alpha
        lines.append(
            f"By the end of the data, {pct(e['detractor_mean'])} of detractors had stopped buying "
            f"(no purchase in the last {months} months) versus {pct(e['promoter_mean'])} of "
            f"promoters (gap {pts(-e['difference'])}, {level}% CI {pts(-e['ci_high'])} to "
            f"{pts(-e['ci_low'])})"
            + (", a real difference." if real else ", not distinguishable from zero.")
        )
        if real and e["difference"] < 0:
            does.append("detractors are more likely to stop buying")
        elif real:
            does.append("promoters are more likely to stop buying than detractors")
        else:
            does_not.append("who is about to stop buying")
    if "churned_within_segment" in effects.index and not math.isnan(
        effects.loc["churned_within_segment", "difference"]
    ):
        e = effects.loc["churned_within_segment"]
        real = e["p_value"] < alpha
        lines.append(
            f"Comparing promoters and detractors within the same segment, detractors' churn is "
            f"higher by {pts(-e['difference'])} ({level}% CI {pts(-e['ci_high'])} to "
            f"{pts(-e['ci_low'])})"
            + (", a real difference." if real else ", not distinguishable from zero.")
        )
        if real and e["difference"] < 0 and "detractors are more likely to stop buying" not in does:
            does.append("within a segment, detractors are more likely to stop buying")
            if "who is about to stop buying" in does_not:
                does_not.remove("who is about to stop buying")
    if "prior_spend" in effects.index and not math.isnan(effects.loc["prior_spend", "difference"]):
        e = effects.loc["prior_spend"]
        if e["p_value"] < alpha:
            lines.append(
                f"Part of that gap was there before the answer: in the {s['prior_months']} months "
                f"before it, promoters had already spent {money(e['promoter_mean'])} and "
                f"detractors "
                f"{money(e['detractor_mean'])}."
            )
    inc = result.incremental.set_index("model") if len(result.incremental) else None
    reg = result.regressions
    controls = (
        "prior spend, prior orders, tenure and segment"
        if s["segment_controlled"]
        else "prior spend, prior orders and tenure"
    )
    if inc is not None and "subsequent_spend" in inc.index:
        row = reg[(reg["model"] == "subsequent_spend") & (reg["term"] == "score")].iloc[0]
        i = inc.loc["subsequent_spend"]
        lines.append(
            f"Holding {controls} fixed, each extra point on the 0-10 scale goes with "
            f"{money(row['coef'])} of spend in the next {months} months ({level}% CI "
            f"{money(row['ci_low'])} to {money(row['ci_high'])}, p={row['p_value']:.3g}); the "
            f"share of spend explained moves from {i['without_score']:.3f} to "
            f"{i['with_score']:.3f}."
        )
        _incremental_verdict(i, alpha, "future spend", does, does_not)
    if inc is not None and "churn" in inc.index:
        row = reg[(reg["model"] == "churn") & (reg["term"] == "score")].iloc[0]
        i = inc.loc["churn"]
        lines.append(
            f"For churn, each extra point multiplies the odds of having stopped buying by "
            f"{math.exp(row['coef']):.2f} ({level}% CI {math.exp(row['ci_low']):.2f} to "
            f"{math.exp(row['ci_high']):.2f}); adding the score to a model of past behaviour "
            f"moves its "
            f"cross-validated ROC AUC from {i['without_score']:.3f} to {i['with_score']:.3f} "
            f"(likelihood-ratio p={i['p_value']:.3g})."
        )
        _incremental_verdict(i, alpha, "churn risk", does, does_not)
    seg = result.segments
    if s["has_segments"] and len(seg) >= 2:
        top = seg.sort_values("revenue_per_customer", ascending=False).iloc[0]
        rank = int((seg["score"] > top["score"]).sum()) + 1
        lines.append(
            f"The most valuable segment, {top['segment']} "
            f"({money(top['revenue_per_customer'])} per "
            f"customer), has NPS {top['score']:+.0f} ({level}% CI {top['ci_low']:+.0f} to "
            f"{top['ci_high']:+.0f}), rank {rank} of {len(seg)} segments by NPS."
        )
        if rank > 1:
            does_not.append(
                "which segments bring the money (the highest-NPS segment is not the most valuable)"
            )
        rho, p_value, k = s["segment_nps_vs_growth"]
        if not math.isnan(rho):
            lines.append(
                f"Across {k} segments, NPS and revenue growth have a rank correlation of "
                f"{rho:+.2f} "
                f"(p={p_value:.2f}); with so few segments this is a hint, not evidence"
                + (
                    "."
                    if s["segment_controlled"]
                    else " (and these segments were measured at the end of the data, so their "
                    "growth partly reflects how they are defined)."
                )
            )
    rho_raw, _, _ = s["period_nps_vs_growth"]
    rho, p_value, k = s["period_nps_vs_growth_detrended"]
    if not math.isnan(rho):
        real = p_value < alpha
        if real and rho > 0:
            verdict = "quarters with higher NPS were followed by faster growth"
        elif real:
            verdict = (
                "quarters with higher NPS were followed by slower growth, more likely a drift both "
                "share (such as a maturing customer base) than NPS hurting revenue; either way NPS "
                "is no leading indicator of growth here"
            )
        else:
            verdict = "no reliable sign that NPS moves ahead of revenue"
        lines.append(
            f"Across {k} quarters with at least {MIN_RELIABLE_N} answers, once the shared time "
            f"trend is removed, a quarter's NPS and the next quarter's revenue growth have a rank "
            f"correlation "
            f"of {rho:+.2f} (p={p_value:.2f}; {rho_raw:+.2f} before removing the trend): {verdict}."
        )
        if not (real and rho > 0):
            does_not.append("next quarter's revenue growth")
    resp = result.respondents.set_index("metric")
    if "revenue" in resp.index and not math.isnan(resp.loc["revenue", "difference"]):
        r = resp.loc["revenue"]
        real = r["p_value"] < alpha
        if real:
            direction = "more" if r["difference"] > 0 else "less"
            bias = (
                f"respondents spent {direction} than non-respondents, so NPS speaks for the "
                "customers who answer, not for the whole base"
            )
        else:
            bias = "respondents and non-respondents spent about the same"
        lines.append(
            f"{pct(s['response_rate'])} of customers answered a survey; {money(r['respondents'])} "
            f"versus {money(r['non_respondents'])} revenue per customer ({level}% CI of the gap "
            f"{money(r['ci_low'])} to {money(r['ci_high'])}): {bias}."
        )
    summary = "In short: for this client, NPS "
    summary += ("tells you that " + "; ".join(does)) if does else "tells little about money"
    summary += (". It does not tell you " + "; nor ".join(does_not) + ".") if does_not else "."
    lines.append(summary)
    return "\n".join(lines)
