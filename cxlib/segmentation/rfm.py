"""RFM segments: recency, frequency and monetary scores 1-5 and the named segment map.

:func:`rfm_segments` scores each customer on rank-based quintiles and maps them to one of the
widely used named RFM segments (:data:`DEFAULT_RFM_SEGMENTS`); :func:`rfm_grid` counts
customers per cell of the map for the figure.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib._validation import DataError, format_offenders, validate_columns

__all__ = ["DEFAULT_RFM_SEGMENTS", "SegmentRule", "rfm_grid", "rfm_segments"]


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
#: score (columns). The rectangles tile the 5 x 5 grid exactly once::
#:
#:     R \ FM      1               2                 3               4                5
#:       5   New Customers   Potential Loyalist  Loyal           Champions        Champions
#:       4   Promising       Potential Loyalist  Loyal           Champions        Champions
#:       3   About to Sleep  Need Attention      Need Attention  Loyal            Loyal
#:       2   Hibernating     Hibernating         At Risk         At Risk          At Risk
#:       1   Lost            Lost                At Risk         Cannot Lose Them Cannot Lose Them
#:
#: Override it by passing ``rules=`` to :func:`rfm_segments` (the first matching rule wins).
DEFAULT_RFM_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", r=(4, 5), fm=(4, 5)),
    SegmentRule("Loyal", r=(4, 5), fm=(3, 3)),
    SegmentRule("Loyal", r=(3, 3), fm=(4, 5)),
    SegmentRule("Potential Loyalist", r=(4, 5), fm=(2, 2)),
    SegmentRule("New Customers", r=(5, 5), fm=(1, 1)),
    SegmentRule("Promising", r=(4, 4), fm=(1, 1)),
    SegmentRule("Need Attention", r=(3, 3), fm=(2, 3)),
    SegmentRule("About to Sleep", r=(3, 3), fm=(1, 1)),
    SegmentRule("At Risk", r=(2, 2), fm=(3, 5)),
    SegmentRule("At Risk", r=(1, 1), fm=(3, 3)),
    SegmentRule("Cannot Lose Them", r=(1, 1), fm=(4, 5)),
    SegmentRule("Hibernating", r=(2, 2), fm=(1, 2)),
    SegmentRule("Lost", r=(1, 1), fm=(1, 2)),
)

_SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]


def _coerce_rules(rules) -> tuple[SegmentRule, ...]:
    if rules is None:
        return DEFAULT_RFM_SEGMENTS
    if isinstance(rules, pd.DataFrame):
        validate_columns(rules, ["segment", "r_min", "r_max", "fm_min", "fm_max"],
                         caller="rfm_segments rules")
        rules = [
            SegmentRule(str(row.segment), (int(row.r_min), int(row.r_max)),
                        (int(row.fm_min), int(row.fm_max)))
            for row in rules.itertuples(index=False)
        ]
    coerced = []
    for rule in rules:
        if isinstance(rule, SegmentRule):
            coerced.append(rule)
        elif isinstance(rule, Sequence) and len(rule) == 3:
            coerced.append(SegmentRule(str(rule[0]), tuple(rule[1]), tuple(rule[2])))
        else:
            raise ValueError(
                "The 'rules' parameter of rfm_segments must be SegmentRule objects, "
                f"(segment, (r_lo, r_hi), (fm_lo, fm_hi)) tuples or a DataFrame. Got {rule!r} "
                "instead."
            )
    grid_r, grid_fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    covered = np.zeros(grid_r.shape, dtype=bool)
    for rule in coerced:
        covered |= rule.matches(grid_r, grid_fm)
    if not covered.all():
        cells = zip(grid_r[~covered], grid_fm[~covered], strict=True)
        missing = [(int(r), int(f)) for r, f in cells]
        raise ValueError(
            "The 'rules' parameter of rfm_segments must cover every (r_score, fm_score) pair "
            f"from 1 to 5. Got rules that leave {missing} uncovered instead."
        )
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
    validate_columns(summary, _SUMMARY_COLUMNS, caller=caller)
    for column in _SUMMARY_COLUMNS:
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


def rfm_segments(summary: pd.DataFrame, *, rules=None) -> pd.DataFrame:
    """Score recency, frequency and monetary value 1-5 and name each customer's RFM segment.

    Scores are rank-based quintiles: a customer's score is one plus the number of fifths of
    customers with a strictly worse value, so ties share a score and the result does not depend
    on row order. Recency is scored on the time since the last purchase, ``T - recency``
    (lifetimes' ``recency`` is the customer's age at the last purchase): the most recent buyers
    score 5. Customers without repeat purchases (frequency 0, monetary value 0) score 1 on F and
    M and still get a segment from their recency.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with ``frequency``, ``recency``, ``T`` and ``monetary_value``, as
        returned by :func:`cxlib.clv.rfm_summary`.
    rules : sequence of SegmentRule, or DataFrame, optional
        Segment map on ``r_score`` x ``fm_score``; the first matching rule wins and the rules must
        cover the whole 5 x 5 grid. A DataFrame needs ``segment``, ``r_min``, ``r_max``,
        ``fm_min``, ``fm_max``. Defaults to :data:`DEFAULT_RFM_SEGMENTS`.

    Returns
    -------
    DataFrame
        Indexed like ``summary``, columns ``r_score``, ``f_score``, ``m_score``, ``fm_score``
        (ints 1-5; ``fm_score`` is the mean of F and M rounded half up) and ``segment`` (str).

    Warns
    -----
    UserWarning
        When a score takes fewer than 5 levels (heavy ties or fewer than 5 customers).

    Examples
    --------
    >>> summary = pd.DataFrame(
    ...     {"frequency": [0, 1, 2, 4, 8], "recency": [0, 10, 30, 45, 50],
    ...      "T": [50, 50, 50, 50, 50], "monetary_value": [0, 10, 20, 30, 40]},
    ...     index=pd.Index(list("abcde"), name="customer_id"))
    >>> rfm_segments(summary)["segment"].tolist()
    ['Lost', 'Hibernating', 'Need Attention', 'Champions', 'Champions']
    """
    _check_summary(summary, "rfm_segments")
    segment_rules = _coerce_rules(rules)
    since_last = summary["T"].astype(float) - summary["recency"].astype(float)
    r_score, r_note = _quintile_score(-since_last, name="r_score")
    f_score, f_note = _quintile_score(summary["frequency"].astype(float), name="f_score")
    m_score, m_note = _quintile_score(summary["monetary_value"].astype(float), name="m_score")
    notes = [note for note in (r_note, f_note, m_note) if note]
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
    return pd.DataFrame({"r_score": r, "fm_score": fm, "segment": names.astype(str),
                         "customers": customers, "share": customers / total})
