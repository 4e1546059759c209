"""RFM segments: recency, frequency and monetary scores 1-5 and the named segment map.

:func:`rfm_segments` scores frequency and monetary value on rank-based quintiles and recency on
the client's purchase cycle (the time since the last purchase against the inactivity threshold,
so a score of 1 means "silent for longer than the client's churn threshold"), and maps the scores
to one of the widely used named RFM segments (:data:`DEFAULT_RFM_SEGMENTS`); :func:`rfm_grid`
counts customers per cell of the map for the figure.

Why not recency quintiles: when most customers of a client have lapsed, the best recency fifth
can still be years old, and quintiles would call customers silent for two years "At Risk" or
"Cannot Lose Them". Anchored to the purchase cycle, the names mean what they say.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.customers import FREQUENCIES
from cxlib.customers.summary import SUMMARY_COLUMNS
from cxlib.settings import units
from cxlib.settings.i18n import N_
from cxlib.settings.params import Interval, Options, check_param, param_error
from cxlib.settings.validation import DataError, format_offenders, validate_columns

__all__ = ["DEFAULT_RFM_SEGMENTS", "RECENCY_BANDS", "SegmentRule", "rfm_grid", "rfm_segments"]

#: Upper edges of recency scores 5, 4, 3 and 2 as fractions of the inactivity threshold: a
#: customer silent for at most a quarter of the threshold scores 5, ..., up to the threshold 2,
#: beyond it 1.
RECENCY_BANDS = (0.25, 0.5, 0.75, 1.0)

#: Quantile of inter-purchase gaps taken as the threshold when none is given (as
#: :func:`cxlib.churn.inactivity_threshold`).
_DEFAULT_GAP_QUANTILE = 0.9


@dataclass(frozen=True)
class SegmentRule:
    """One named RFM segment: a rectangle of recency scores by frequency-monetary scores.

    Parameters
    ----------
    segment : str
        Segment name.
    r : (int, int)
        Inclusive range of ``r_score`` (1 = longest since the last purchase, 5 = most recent).
    fm : (int, int)
        Inclusive range of ``fm_score`` (the rounded mean of ``f_score`` and ``m_score``).
    """

    segment: str
    r: tuple[int, int]
    fm: tuple[int, int]

    def matches(self, r_score: np.ndarray, fm_score: np.ndarray) -> np.ndarray:
        """Boolean mask of the customers this rule covers."""
        return (
            (r_score >= self.r[0])
            & (r_score <= self.r[1])
            & (fm_score >= self.fm[0])
            & (fm_score <= self.fm[1])
        )


#: The widely used 11-segment RFM map on the recency score (rows) and the frequency-monetary
#: score (columns), arranged so that with cycle-anchored recency (score 2 = close to the churn
#: threshold, 1 = beyond it) "At Risk" and "Cannot Lose Them" are still within the threshold
#: and lapsed customers are "Hibernating" (once valuable) or "Lost". The rectangles tile the
#: 5 x 5 grid exactly once::
#:
#:     R \ FM      1               2                 3               4                5
#:       5   New Customers   Potential Loyalist  Loyal           Champions        Champions
#:       4   Promising       Potential Loyalist  Loyal           Champions        Champions
#:       3   About to Sleep  Need Attention      Need Attention  Loyal            Loyal
#:       2   About to Sleep  About to Sleep      At Risk         Cannot Lose Them Cannot Lose Them
#:       1   Lost            Lost                Hibernating     Hibernating      Hibernating
#:
#: Override it by passing ``rules=`` to :func:`rfm_segments` (the first matching rule wins).
DEFAULT_RFM_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule(N_("Champions"), r=(4, 5), fm=(4, 5)),
    SegmentRule(N_("Loyal"), r=(4, 5), fm=(3, 3)),
    SegmentRule(N_("Loyal"), r=(3, 3), fm=(4, 5)),
    SegmentRule(N_("Potential Loyalist"), r=(4, 5), fm=(2, 2)),
    SegmentRule(N_("New Customers"), r=(5, 5), fm=(1, 1)),
    SegmentRule(N_("Promising"), r=(4, 4), fm=(1, 1)),
    SegmentRule(N_("Need Attention"), r=(3, 3), fm=(2, 3)),
    SegmentRule(N_("About to Sleep"), r=(3, 3), fm=(1, 1)),
    SegmentRule(N_("About to Sleep"), r=(2, 2), fm=(1, 2)),
    SegmentRule(N_("At Risk"), r=(2, 2), fm=(3, 3)),
    SegmentRule(N_("Cannot Lose Them"), r=(2, 2), fm=(4, 5)),
    SegmentRule(N_("Hibernating"), r=(1, 1), fm=(3, 5)),
    SegmentRule(N_("Lost"), r=(1, 1), fm=(1, 2)),
)

_RULE_WORDS = "SegmentRule objects, (segment, (r_lo, r_hi), (fm_lo, fm_hi)) tuples or a DataFrame"


def _coerce_rules(rules) -> tuple[SegmentRule, ...]:
    if rules is None:
        return DEFAULT_RFM_SEGMENTS
    if isinstance(rules, pd.DataFrame):
        validate_columns(
            rules, ["segment", "r_min", "r_max", "fm_min", "fm_max"], caller="rfm_segments rules"
        )
        rules = [
            SegmentRule(
                str(row.segment),
                (int(row.r_min), int(row.r_max)),
                (int(row.fm_min), int(row.fm_max)),
            )
            for row in rules.itertuples(index=False)
        ]
    coerced = []
    for rule in rules:
        if isinstance(rule, SegmentRule):
            coerced.append(rule)
        elif isinstance(rule, Sequence) and len(rule) == 3:
            coerced.append(SegmentRule(str(rule[0]), tuple(rule[1]), tuple(rule[2])))
        else:
            raise param_error("rules", rule, _RULE_WORDS, caller="rfm_segments")
    grid_r, grid_fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    covered = np.zeros(grid_r.shape, dtype=bool)
    for rule in coerced:
        covered |= rule.matches(grid_r, grid_fm)
    if not covered.all():
        cells = zip(grid_r[~covered], grid_fm[~covered], strict=True)
        missing = [(int(r), int(f)) for r, f in cells]
        must = "rules that cover every (r_score, fm_score) pair from 1 to 5"
        got = f"rules that leave {missing} uncovered"
        raise param_error("rules", rules, must, caller="rfm_segments", got=got)
    return tuple(coerced)


def _quintile_score(values: pd.Series, *, name: str) -> tuple[pd.Series, str | None]:
    """Rank-based quintile score 1-5: one plus the number of fifths of customers strictly below.

    Tied values always share a score (no arbitrary tie-breaking), so a heavy tie (e.g. most
    customers with frequency 0) collapses the score to fewer levels instead of splitting twins.
    Returns the score and, when it takes fewer than 5 levels, a note for the warning.
    """
    n = len(values)
    below = values.rank(method="min").to_numpy() - 1.0
    score = 1 + np.floor(5.0 * below / max(n, 1)).astype(int)
    score = np.clip(score, 1, 5)
    levels = len(np.unique(score))
    note = None
    if n and levels < 5:
        top_tie = values.value_counts(normalize=True).iloc[0]
        note = f"{name} takes only {levels} of 5 levels (most common value: {top_tie:.0%})"
    return pd.Series(score, index=values.index, name=name), note


def _check_summary(summary: pd.DataFrame, caller: str) -> None:
    validate_columns(summary, SUMMARY_COLUMNS, caller=caller)
    for column in SUMMARY_COLUMNS:
        values = pd.to_numeric(summary[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            raise DataError(
                f"{caller}: column '{column}' must be numeric and non-negative; "
                f"{format_offenders(summary.loc[bad, column])}"
            )
    bad = summary["recency"] > summary["T"] + 1e-9
    if bad.any():
        raise DataError(
            f"{caller}: 'recency' (age at the last purchase) cannot exceed 'T' (age at the end "
            f"of observation); {format_offenders(summary.loc[bad, 'recency'])}"
        )


def _cycle_threshold(summary: pd.DataFrame) -> float:
    """Estimate the 90% quantile of inter-purchase gaps (summary's time unit) from the summary.

    A repeat customer's mean gap is ``recency / frequency``; weighting it by ``frequency`` (the
    number of gaps) approximates the pooled gap distribution that
    :func:`cxlib.churn.inactivity_threshold` reads from the transactions.
    """
    repeat = summary["frequency"].astype(float) > 0
    if not repeat.any():
        return float("nan")
    gaps = (summary.loc[repeat, "recency"] / summary.loc[repeat, "frequency"]).to_numpy(float)
    weights = summary.loc[repeat, "frequency"].to_numpy(float)
    order = np.argsort(gaps)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(gaps[order][np.searchsorted(cumulative, _DEFAULT_GAP_QUANTILE)])


#: What the inactivity threshold and the summary's time unit must be (inf is no threshold).
_POSITIVE_DAYS = Interval(float, 0, np.inf, closed="neither", words="a positive number of days")
_FREQ_WITH_THRESHOLD = Options(
    FREQUENCIES,
    words=f"one of {sorted(FREQUENCIES)} when 'threshold_days' is given and the summary has no "
    "'days_since_last' column",
)
_RECENCY = Options(("cycle", "quintile"), words="'cycle' or 'quintile'")


def _time_since_last(summary, threshold_days, freq, caller) -> tuple[pd.Series, float]:
    """Time since the last purchase and the inactivity threshold, in one unit."""
    if threshold_days is None:
        since = summary["T"].astype(float) - summary["recency"].astype(float)
        return since, _cycle_threshold(summary)
    check_param("threshold_days", threshold_days, _POSITIVE_DAYS, caller=caller)
    if "days_since_last" in summary.columns:
        return summary["days_since_last"].astype(float), float(threshold_days)
    freq = freq or summary.attrs.get("freq")
    check_param("freq", freq, _FREQ_WITH_THRESHOLD, caller=caller)
    since = summary["T"].astype(float) - summary["recency"].astype(float)
    return since * units.days(freq), float(threshold_days)


def _cycle_score(since_last: pd.Series, threshold: float) -> pd.Series:
    """Recency score 5..1 from the time since the last purchase over the threshold."""
    edges = np.asarray(RECENCY_BANDS) * threshold
    score = 5 - np.searchsorted(edges, since_last.to_numpy(float), side="left")
    return pd.Series(score.astype(int), index=since_last.index, name="r_score")


def rfm_segments(
    summary: pd.DataFrame,
    *,
    rules=None,
    recency: str = "cycle",
    threshold_days: float | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """Score recency, frequency and monetary value 1-5 and name each customer's RFM segment.

    Frequency and monetary scores are rank-based quintiles: a customer's score is one plus the
    number of fifths of customers with a strictly worse value, so ties share a score and the
    result does not depend on row order. Recency is the time since the last purchase,
    ``T - recency`` (lifetimes' ``recency`` is the customer's age at the last purchase), or the
    ``days_since_last`` column when there is one. By default (``recency="cycle"``) it is scored
    against the client's purchase cycle: with the inactivity threshold ``t`` (the
    ``threshold_days`` given, e.g. ``client.churn_threshold_days``, or else the 90% quantile of
    the inter-purchase gaps estimated from the summary), a customer silent for at most ``t/4``
    scores 5, ``t/2`` 4, ``3t/4`` 3, ``t`` 2 and longer 1 (:data:`RECENCY_BANDS`), so score 1 means
    "beyond the churn threshold" whatever the share of lapsed customers. ``recency="quintile"``
    scores it on quintiles like F and M. Customers without repeat purchases (frequency 0,
    monetary value 0) score 1 on F and M and still get a segment from their recency.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with ``frequency``, ``recency``, ``T`` and ``monetary_value``, as
        returned by :func:`cxlib.clv.rfm_summary` or :func:`cxlib.customers.customer_base`.
    rules : sequence of SegmentRule, or DataFrame, optional
        Segment map on ``r_score`` x ``fm_score``; the first matching rule wins and the rules must
        cover the whole 5 x 5 grid. A DataFrame needs ``segment``, ``r_min``, ``r_max``,
        ``fm_min``, ``fm_max``. Defaults to :data:`DEFAULT_RFM_SEGMENTS`.
    recency : {"cycle", "quintile"}
        How the recency score is set (see above).
    threshold_days : float, optional
        The client's inactivity threshold in days (``recency="cycle"``).
    freq : {"D", "W", "M"}, optional
        The summary's time unit, needed only with ``threshold_days`` and no
        ``days_since_last`` column (default ``summary.attrs["freq"]``).

    Returns
    -------
    DataFrame
        Indexed like ``summary``, columns ``r_score``, ``f_score``, ``m_score``, ``fm_score``
        (ints 1-5; ``fm_score`` is the mean of F and M rounded half up) and ``segment`` (str).

    Warns
    -----
    UserWarning
        When a quintile score takes fewer than 5 levels (heavy ties or fewer than 5 customers),
        or when no customer bought twice, so the cycle is unknown and recency falls back to
        quintiles.

    Examples
    --------
    >>> summary = pd.DataFrame(
    ...     {"frequency": [0, 1, 2, 4, 8], "recency": [0, 10, 30, 45, 50],
    ...      "T": [50, 50, 50, 50, 50], "monetary_value": [0, 10, 20, 30, 40]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> rfm_segments(summary, threshold_days=40, freq="D")["segment"].tolist()
    ['Lost', 'About to Sleep', 'Loyal', 'Champions', 'Champions']
    """
    caller = "rfm_segments"
    _check_summary(summary, caller)
    check_param("recency", recency, _RECENCY, caller=caller)
    segment_rules = _coerce_rules(rules)
    notes = []
    if recency == "cycle":
        since_last, threshold = _time_since_last(summary, threshold_days, freq, caller)
        if np.isfinite(threshold) and threshold > 0:
            r_score = _cycle_score(since_last, threshold)
        else:
            recency = "quintile"
            notes.append("no customer bought twice, so recency is scored on quintiles")
    if recency == "quintile":
        if "days_since_last" in summary.columns:
            since_last = summary["days_since_last"].astype(float)
        else:
            since_last = summary["T"].astype(float) - summary["recency"].astype(float)
        r_score, r_note = _quintile_score(-since_last, name="r_score")
        notes.append(r_note)
    f_score, f_note = _quintile_score(summary["frequency"].astype(float), name="f_score")
    m_score, m_note = _quintile_score(summary["monetary_value"].astype(float), name="m_score")
    notes = [note for note in (*notes, f_note, m_note) if note]
    if notes:
        warnings.warn(
            f"rfm_segments: {'; '.join(notes)} among {len(summary)} customers, because of tied "
            "values or few customers; segments that rely on these scores are coarser.",
            stacklevel=2,
        )
    fm_score = np.floor((f_score.to_numpy() + m_score.to_numpy() + 1) / 2).astype(int)

    segment = np.full(len(summary), None, dtype=object)
    unassigned = np.ones(len(summary), dtype=bool)
    for rule in segment_rules:
        hit = unassigned & rule.matches(r_score.to_numpy(), fm_score)
        segment[hit] = rule.segment
        unassigned &= ~hit
    return pd.DataFrame(
        {
            "r_score": r_score.to_numpy(),
            "f_score": f_score.to_numpy(),
            "m_score": m_score.to_numpy(),
            "fm_score": fm_score,
            "segment": segment.astype(str),
        },
        index=summary.index,
    )


def rfm_grid(segments: pd.DataFrame, *, rules=None) -> pd.DataFrame:
    """Count customers per cell of the recency x frequency-monetary grid, with its segment.

    Parameters
    ----------
    segments : DataFrame
        :func:`rfm_segments` output (``r_score``, ``fm_score``).
    rules : optional
        The rules used for ``segments`` (default :data:`DEFAULT_RFM_SEGMENTS`), to name empty
        cells too.

    Returns
    -------
    DataFrame
        25 rows: ``r_score``, ``fm_score``, ``segment``, ``customers``, ``share``.

    Examples
    --------
    >>> seg = pd.DataFrame({"r_score": [5, 5, 1], "fm_score": [5, 5, 1]})
    >>> grid = rfm_grid(seg)
    >>> grid.query("customers > 0")[["segment", "customers"]].to_numpy().tolist()
    [['Lost', 1], ['Champions', 2]]
    """
    validate_columns(segments, ["r_score", "fm_score"], caller="rfm_grid")
    segment_rules = _coerce_rules(rules)
    r, fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    r, fm = r.ravel(), fm.ravel()
    names = np.full(r.shape, None, dtype=object)
    for rule in reversed(segment_rules):  # first match wins
        names[rule.matches(r, fm)] = rule.segment
    counts = segments.groupby(["r_score", "fm_score"]).size()
    customers = np.array([counts.get((a, b), 0) for a, b in zip(r, fm, strict=True)], dtype=int)
    total = max(int(customers.sum()), 1)
    return pd.DataFrame(
        {
            "r_score": r,
            "fm_score": fm,
            "segment": names.astype(str),
            "customers": customers,
            "share": customers / total,
        }
    )
