"""One NPS with its interval, the answer categories, and the difference between two NPS."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.settings.params import Interval, Options, check_param, param_error
from cxlib.settings.validation import DataError, check_fraction, format_offenders, validate_columns

__all__ = [
    "CATEGORIES",
    "DEFAULT_DETRACTOR_MAX",
    "DEFAULT_PROMOTER_MIN",
    "MIN_RELIABLE_N",
    "NPSDifference",
    "NPSResult",
    "nps",
    "nps_category",
    "nps_difference",
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

#: A score on the 0-10 scale, as the thresholds are given.
_SCORE = Interval(int, 0, 10, words="an integer in 0..10")


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
        check_param(name, value, _SCORE, caller=caller)
    if detractor_max >= promoter_min:
        must = f"below 'promoter_min' ({promoter_min})"
        raise param_error("detractor_max", detractor_max, must, caller=caller)


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
    check_param("method", method, Options(_METHODS), caller="nps")
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
