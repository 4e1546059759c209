"""NPS by group and period (with change tests), and NPS by customer segment."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxlib.nps.score import (
    DEFAULT_DETRACTOR_MAX,
    DEFAULT_PROMOTER_MIN,
    MIN_RELIABLE_N,
    _check_thresholds,
    _difference,
    _validated_scores,
    nps,
)
from cxlib.settings import units
from cxlib.settings.dates import to_timestamp
from cxlib.settings.validation import DataError, check_fraction, segment_series, validate_columns

__all__ = ["NPS_COLUMNS", "latest_answers", "nps_by", "nps_by_segment"]

#: Columns of each row of :func:`nps_by` and :func:`nps_by_segment` after the grouping
#: columns: an :class:`~cxlib.nps.score.NPSResult` (its ``to_dict``) and whether ``n`` reaches
#: ``min_n``.
NPS_COLUMNS = (
    "n",
    "score",
    "ci_low",
    "ci_high",
    "se",
    "promoters",
    "passives",
    "detractors",
    "reliable",
)


def _period_start(dates: pd.Series, freq: str, caller: str) -> pd.Series:
    key = units.code(freq, caller=caller)
    return pd.to_datetime(dates).dt.to_period(key).dt.start_time


def _period_column_start(periods: pd.Series, freq: str, caller: str) -> tuple[pd.Series, str]:
    """Return each survey period's start rolled up to ``freq``, and the frequency used.

    A survey dated by period (``load_surveys``' ``period`` column: months, quarters or years)
    has no finer time: monthly answers roll up to quarters, but quarterly answers are never
    split into months: they stay quarters, with a warning.
    """
    key = units.code(freq, caller=caller)
    if not isinstance(periods.dtype, pd.PeriodDtype):
        raise DataError(
            f"{caller}: the surveys' 'period' column must hold pandas Periods (as "
            f"cxlib.data.load_surveys returns), not {periods.dtype}"
        )
    own = units.code(periods.dtype.freq.freqstr.split("-")[0], caller=caller)
    # units.CODES runs from the shortest period to the longest: a period rolls up to a longer one
    if units.CODES.index(key) < units.CODES.index(own):
        owns, keys = units.period_name(own, 2), units.period_name(key, 2)
        warnings.warn(
            f"{caller}: the surveys are dated by {owns} (a 'period' column, no dates), "
            f"which cannot be split into {keys}: the NPS is by {units.period_name(own)}",
            UserWarning,
            stacklevel=3,
        )
        key = own
    return periods.dt.asfreq(key, how="start").dt.start_time, key


def _time_column(surveys: pd.DataFrame) -> str:
    """Return the surveys' time column: ``date``, else ``period`` (a survey dated by period)."""
    if "date" not in surveys.columns and "period" in surveys.columns:
        return "period"
    return "date"


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
        ``score`` plus the ``by`` columns, and ``date`` when ``freq`` is given (or, for a
        survey dated by period, ``period``: pandas Periods, rolled up to ``freq``). Join
        segment, channel or category onto the answers first (``surveys.merge(...)``).
    by : str or list of str, optional, keyword-only
        Grouping column(s).
    freq : {"D", "W", "M", "Q", "Y"}, optional, keyword-only
        Period length; adds a ``period`` column (period start) after the group columns. A
        survey dated by longer periods than ``freq`` keeps its own (with a warning): the
        length used is ``attrs["freq"]``.
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
        period; False when either period has fewer than ``min_n`` answers).

    Examples
    --------
    >>> answers = pd.DataFrame({"segment": ["a", "a", "b", "b"], "score": [10, 9, 3, 8]})
    >>> nps_by(answers, by="segment", min_n=1)[["segment", "n", "score"]]
      segment  n  score
    0       a  2  100.0
    1       b  2  -50.0
    """
    group_cols = [by] if isinstance(by, str) else list(by or [])
    time = _time_column(surveys)
    required = ["score", *group_cols] + ([time] if freq is not None else [])
    validate_columns(surveys, required, caller="nps_by")
    _check_thresholds(promoter_min, detractor_max, "nps_by")
    confidence = check_fraction(confidence, "confidence", caller="nps_by")
    frame = surveys[required].copy()
    _validated_scores(frame["score"], "nps_by")
    keys = list(group_cols)
    if freq is not None:
        if time == "date":
            frame["period"] = _period_start(frame["date"], freq, "nps_by")
            freq = units.code(freq, caller="nps_by")
        else:
            frame["period"], freq = _period_column_start(frame["period"], freq, "nps_by")
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
    table = pd.DataFrame(rows, columns=[*keys, *NPS_COLUMNS])
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
                # a change from or to a period with fewer than min_n answers is never called
                # significant: the normal approximation behind the p-value fails there
                reliable = min(results[i].n, results[previous[row]].n) >= min_n
                significant[i] = bool(d.significant) and reliable
            previous[row] = i
        table[change_cols] = changes
        table["change_significant"] = significant
        table.attrs["freq"] = freq  # "D", "W", "M", "Q" or "Y": a survey's periods are kept
    return table


def latest_answers(
    surveys, *, observation_end=None, caller: str = "latest_answers"
) -> pd.DataFrame:
    """Return each customer's latest answer: the one respondent rule of every customer-level NPS.

    A customer who answered several times counts once, with the answer they gave last, so a
    frequent respondent does not weigh more than others and every page counts the same people.

    Parameters
    ----------
    surveys : DataFrame or Series
        A frame with ``customer_id``, ``score`` and ``date`` (or ``period``, pandas Periods:
        a survey dated by period); without either, each customer's last row in the given
        order. A Series holds scores indexed by ``customer_id``.
    observation_end : date-like, optional, keyword-only
        Answers dated after this (periods starting after it) are left out; default: every
        answer. (Answers without a ``date`` or ``period`` column are all kept.)
    caller : str, keyword-only
        Function name used in error messages.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (str, sorted): ``score`` (int) and ``date`` or ``period``
        when given.

    Raises
    ------
    DataError
        When columns are missing, scores are not integers 0..10, or no answer is left.

    Examples
    --------
    >>> answers = pd.DataFrame({"customer_id": ["a", "a", "b"], "score": [3, 10, 7],
    ...                         "date": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-02-01"])})
    >>> latest_answers(answers)["score"].to_dict()
    {'a': 10, 'b': 7}
    >>> latest_answers(answers, observation_end="2024-03-01")["score"].to_dict()
    {'a': 3, 'b': 7}
    """
    if isinstance(surveys, pd.Series):
        surveys = pd.DataFrame({"customer_id": surveys.index, "score": surveys.to_numpy()})
    validate_columns(surveys, ["customer_id", "score"], caller=caller)
    frame = pd.DataFrame(
        {
            "customer_id": surveys["customer_id"].astype(str).to_numpy(),
            "score": _validated_scores(surveys["score"], caller),
        }
    )
    time = _time_column(surveys)
    if time in surveys.columns:
        if time == "date":
            frame["date"] = pd.to_datetime(surveys["date"]).to_numpy()
            start = frame["date"]
        else:
            frame["period"] = surveys["period"].array
            start = frame["period"].dt.start_time
        if observation_end is not None:
            end = to_timestamp(observation_end, "observation_end", "latest_answers")
            frame = frame[(start <= end).to_numpy()]
        # A stable sort keeps the given order among answers of the same day (or period).
        frame = frame.sort_values(time, kind="stable")
    if len(frame) == 0:
        when = f" on or before {observation_end}" if observation_end is not None else ""
        raise DataError(f"{caller}: no survey answers{when}")
    latest = frame.groupby("customer_id", sort=True).tail(1).set_index("customer_id")
    return latest.sort_index()


def nps_by_segment(
    surveys,
    segments,
    *,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    observation_end=None,
    unassigned: str | None = None,
    method: str = "trinomial",
    confidence: float = 0.95,
    min_n: int = MIN_RELIABLE_N,
) -> pd.DataFrame:
    """NPS per customer segment over each customer's latest answer, with intervals.

    The one NPS-by-segment computation: the segment profiles (page 01) and
    :func:`nps_vs_revenue` (page 03) both call it, so a segment's NPS and its number of
    answers are the same wherever they appear.

    Parameters
    ----------
    surveys : DataFrame or Series
        Answers, as in :func:`latest_answers` (``customer_id``, ``score``, ``date``).
    segments : Series or DataFrame
        Segment per customer, indexed by ``customer_id`` (a Series, or a frame with a
        ``segment`` column such as ``rfm_segments(...)`` or ``client.base``).
    promoter_min, detractor_max, method, confidence : keyword-only
        As in :func:`nps`.
    observation_end : date-like, optional, keyword-only
        Answers after this date are left out.
    unassigned : str, optional, keyword-only
        Label for respondents without a segment; by default they are left out (and counted in
        ``attrs["respondents_without_segment"]``).
    min_n : int, keyword-only
        Segments with fewer answers are flagged ``reliable=False``.

    Returns
    -------
    DataFrame
        One row per segment with answers, sorted by segment: ``segment``, ``n`` (customers
        answering), ``score``, ``ci_low``, ``ci_high``, ``se``, ``promoters``, ``passives``,
        ``detractors``, ``reliable``. ``attrs``: ``respondents`` and
        ``respondents_without_segment``.

    Examples
    --------
    >>> answers = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "score": [2, 10, 9, 3],
    ...                         "date": pd.to_datetime(["2024-01-01", "2024-05-01",
    ...                                                 "2024-02-01", "2024-03-01"])})
    >>> segments = pd.Series(["loyal", "loyal", "new"], index=["a", "b", "c"])
    >>> nps_by_segment(answers, segments, min_n=1)[["segment", "n", "score"]]
      segment  n  score
    0   loyal  2  100.0
    1     new  1 -100.0
    """
    caller = "nps_by_segment"
    _check_thresholds(promoter_min, detractor_max, caller)
    latest = latest_answers(surveys, observation_end=observation_end, caller=caller)
    labels = segment_series(segments, caller=caller).reindex(latest.index)
    missing = labels.isna()
    if unassigned is not None:
        labels = labels.fillna(unassigned)
    answers = pd.DataFrame({"segment": labels, "score": latest["score"]})[labels.notna()]
    columns = ["segment", *NPS_COLUMNS]
    table = (
        nps_by(
            answers,
            by="segment",
            promoter_min=promoter_min,
            detractor_max=detractor_max,
            method=method,
            confidence=confidence,
            min_n=min_n,
        )[columns]
        if len(answers)
        else pd.DataFrame(columns=columns)
    )
    table.attrs["respondents"] = len(latest)
    table.attrs["respondents_without_segment"] = int(missing.sum())
    return table
