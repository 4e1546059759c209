"""The RFM summary (``lifetimes``' view of the base) and the calibration/holdout split.

API: :func:`rfm_summary`; :func:`default_calibration_end` and :func:`derived_holdout_weeks`
(the holdout cxlib leaves when a config sets none); :func:`resolve_ends` (observation and
calibration ends checked against the data, for every engine's path).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.customers.purchases import check_freq, check_resolution, clean_transactions
from cxlib.customers.totals import duckdb_totals, summary_in_units
from cxlib.settings.dates import to_timestamp
from cxlib.settings.validation import DataError, check_positive_int

__all__ = [
    "DEFAULT_HOLDOUT_WEEKS",
    "HOLDOUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "default_calibration_end",
    "derived_holdout_weeks",
    "resolve_ends",
    "rfm_summary",
]

#: Length of the holdout window :func:`default_calibration_end` leaves for validation.
DEFAULT_HOLDOUT_WEEKS = 26

#: The columns of :func:`rfm_summary`, and those ``calibration_end`` adds.
SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


def default_calibration_end(
    transactions: pd.DataFrame,
    *,
    observation_end=None,
    holdout_weeks: int | None = DEFAULT_HOLDOUT_WEEKS,
) -> pd.Timestamp:
    """Return the calibration end that leaves the last ``holdout_weeks`` weeks for validation.

    The rule cxlib uses when a client's config does not set ``calibration_end``: the holdout is
    the ``holdout_weeks`` weeks (26 by default, about six months) before ``observation_end``
    (the last transaction date when not given); the calibration period is everything before.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    observation_end : date-like, optional
        End of the observed data; defaults to the last transaction date.
    holdout_weeks : int or None, default DEFAULT_HOLDOUT_WEEKS
        Length of the holdout window in weeks. ``None`` derives it from the history:
        :data:`DEFAULT_HOLDOUT_WEEKS`, or a third of the history when that is shorter (a
        20-week client gets a 6-week holdout), see :func:`derived_holdout_weeks`.

    Returns
    -------
    Timestamp
        ``observation_end - holdout_weeks`` weeks.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "amount": [5.0, 7.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-12-31"])})
    >>> default_calibration_end(tx)
    Timestamp('2024-07-02 00:00:00')
    """
    caller = "default_calibration_end"
    _, dates, _ = clean_transactions(transactions, caller)
    end = (
        pd.Timestamp(dates.max())
        if observation_end is None
        else to_timestamp(observation_end, "observation_end", caller)
    )
    if holdout_weeks is None:
        holdout_weeks = derived_holdout_weeks(pd.Timestamp(dates.min()), end)
    check_positive_int(holdout_weeks, "holdout_weeks", caller=caller)
    cut = end - pd.Timedelta(weeks=int(holdout_weeks))
    if cut < pd.Timestamp(dates.min()):
        raise DataError(
            f"{caller}: the data cover {pd.Timestamp(dates.min()).date()} to {end.date()}, "
            f"less than the {holdout_weeks}-week holdout; set a shorter holdout (`holdout_weeks: "
            f"{derived_holdout_weeks(pd.Timestamp(dates.min()), end)}` under `analysis:` in the "
            "client's YAML) or leave holdout_weeks out to derive it from the history"
        )
    return cut


def derived_holdout_weeks(first_date, observation_end) -> int:
    """Holdout length for a history: :data:`DEFAULT_HOLDOUT_WEEKS`, at most a third of it.

    A model needs most of a short history to calibrate on, so the holdout shrinks with it
    (never below one week).

    Examples
    --------
    >>> derived_holdout_weeks(pd.Timestamp("2025-08-14"), pd.Timestamp("2025-12-31"))
    6
    >>> derived_holdout_weeks(pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31"))
    26
    """
    history_weeks = (pd.Timestamp(observation_end) - pd.Timestamp(first_date)).days / 7
    return int(max(1, min(DEFAULT_HOLDOUT_WEEKS, history_weeks // 3)))


def resolve_ends(dates: np.ndarray, observation_end, calibration_end, caller: str):
    """Observation and calibration ends as Timestamps, checked against the data's dates."""
    first_date, last_date = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    if observation_end is None:
        obs_end = last_date
    else:
        obs_end = to_timestamp(observation_end, "observation_end", caller)
        if obs_end < first_date:
            raise DataError(
                f"{caller}: observation_end {obs_end.date()} is before the first transaction "
                f"({first_date.date()}); nothing is observed"
            )
    cal_end = None
    if calibration_end is not None:
        cal_end = to_timestamp(calibration_end, "calibration_end", caller)
        if cal_end >= obs_end:
            raise DataError(
                f"{caller}: calibration_end {cal_end.date()} must be before observation_end "
                f"{obs_end.date()} so that a holdout period remains"
            )
        if cal_end < first_date:
            raise DataError(
                f"{caller}: calibration_end {cal_end.date()} is before the first transaction "
                f"({first_date.date()}); the calibration period would be empty"
            )
    return obs_end, cal_end


def _day_summary(transactions, *, freq, resolution, observation_end, calibration_end, caller):
    """Check, summarise, and express time in units of ``freq`` (see :func:`rfm_summary`)."""
    check_freq(freq, caller)
    check_resolution(resolution, caller)
    ids, dates, amounts = clean_transactions(transactions, caller)
    obs_end, cal_end = resolve_ends(dates, observation_end, calibration_end, caller)
    orders = transactions["order_id"].to_numpy() if "order_id" in transactions.columns else None
    totals_of = duckdb_totals(ids, dates, amounts, orders, caller)
    result = summary_in_units(
        totals_of, freq=freq, resolution=resolution, obs_end=obs_end, cal_end=cal_end,
        caller=caller, with_orders=orders is not None,
    )  # fmt: skip
    return result, totals_of, obs_end


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    observation_end=None,
    calibration_end=None,
    resolution: str = "D",
) -> pd.DataFrame:
    """One row per customer: repeat purchases, recency, age and average repeat spend.

    The view of :func:`customer_base` that the purchase and spend models take, in ``lifetimes``'
    meaning (``summary_data_from_transaction_data``):

    * **a purchase is a day with positive net spend**: all of a customer's transactions on one
      day are one purchase, and refunds (negative amounts) are netted against the purchases of
      the same day; a day whose net spend is not positive (only refunds, or refunds at least as
      large as the purchases) is not a purchase and counts neither in ``frequency`` nor in
      ``recency`` (lifetimes counts it, with a negative or zero value);
    * time is measured in the unit ``freq`` names, as a fractional number: ``"W"`` = 7 days,
      ``"M"`` = 365.25 / 12 days, ``"D"`` = 1 day (Fader & Hardie's CDNOW convention: purchases
      per day, time in weeks; lifetimes' ``freq="D", freq_multiplier=7``);
    * ``frequency`` is the number of purchases after the first one (repeat purchases);
    * ``recency`` is the time between the first and the last purchase;
    * ``T`` is the time between the first purchase and ``observation_end`` (``calibration_end``
      when given);
    * ``monetary_value`` is the mean net spend of the repeat purchases (0 when there are none).

    With ``resolution="period"`` a whole period of ``freq`` is one purchase and time is counted
    in whole periods (Monday-to-Sunday weeks, calendar months): lifetimes' plain ``freq``
    meaning. Counting per period merges a heavy buyer's purchases and biases the models, so the
    per-day default is preferred.

    Customers without any purchase (e.g. only refunds) have no first purchase, so they cannot be
    summarised: they are left out, **counted** in ``summary.attrs["customers_without_purchase"]``
    and reported in a warning.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions: ``customer_id``, ``date`` (datetime64), ``amount`` (float,
        negative for refunds). Not modified.
    freq : {"W", "D", "M"}, default "W"
        Time unit of ``recency``, ``T`` and ``duration_holdout``.
    observation_end : date-like, optional
        Last day of the observed data; transactions after it are ignored. Defaults to the last
        transaction date.
    calibration_end : date-like, optional
        Split the data into a calibration period (``date <= calibration_end``), summarised as
        above with ``T`` counted to ``calibration_end``, and a holdout period
        (``calibration_end < date <= observation_end``) adding ``frequency_holdout`` (number of
        purchases in the holdout), ``monetary_value_holdout`` (their mean net spend, 0 when
        none) and ``duration_holdout`` (time from ``calibration_end`` to ``observation_end``).
        Customers whose first purchase is in the holdout are not in the result (counted in
        ``summary.attrs["customers_first_in_holdout"]``). See :func:`default_calibration_end`.
    resolution : {"D", "period"}, default "D"
        What one purchase is: a day, or a whole period of ``freq``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), float columns ``frequency``, ``recency``, ``T``,
        ``monetary_value`` and, with ``calibration_end``, ``frequency_holdout``,
        ``monetary_value_holdout``, ``duration_holdout``.

    Raises
    ------
    DataError
        Missing columns, dates that are not dates or are missing, non-numeric or missing
        amounts, an empty table, or an ``observation_end``/``calibration_end`` that leaves no
        transaction in the calibration window.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-15", "2024-01-08"]),
    ...     "amount": [10.0, 5.0, 20.0, 8.0],
    ... })
    >>> rfm_summary(tx, freq="W", observation_end="2024-01-29")  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency    T  monetary_value
    customer_id
    a                  2.0      2.0  4.0            12.5
    b                  0.0      0.0  3.0             0.0
    >>> rfm_summary(tx, freq="W", observation_end="2024-01-29", resolution="period")
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency    T  monetary_value
    customer_id
    a                  1.0      2.0  4.0            20.0
    b                  0.0      0.0  3.0             0.0
    """
    result, *_ = _day_summary(
        transactions,
        freq=freq,
        resolution=resolution,
        observation_end=observation_end,
        calibration_end=calibration_end,
        caller="rfm_summary",
    )
    return result.frame
