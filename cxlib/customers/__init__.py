"""The customer base: one row per customer, the one per-customer summary every analysis uses.

A purchase, an active customer and a customer's money are defined here once. Every topic module
(segments, churn, NPS versus revenue, wallet, CLV) derives its per-customer figures from
:func:`customer_base` or from :func:`rfm_summary`, its view in ``lifetimes``' terms.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib.data import engine
from cxlib.settings.validation import (
    DataError,
    check_positive_int,
    check_transactions,
    format_offenders,
    validate_columns,
)

__all__ = [
    "DEFAULT_HOLDOUT_WEEKS",
    "FREQUENCIES",
    "NET_SPEND_TOLERANCE",
    "RESOLUTIONS",
    "UNIT_DAYS",
    "customer_base",
    "default_calibration_end",
    "derived_holdout_weeks",
    "rfm_summary",
]
#: Period lengths :func:`rfm_summary` understands: days, weeks (Monday to Sunday), calendar months.
FREQUENCIES = ("D", "W", "M")

#: Length of the holdout window :func:`default_calibration_end` leaves for validation.
DEFAULT_HOLDOUT_WEEKS = 26

#: A period is a purchase when its net spend exceeds this amount (in currency units); the
#: tolerance only absorbs floating-point residue of refunds that cancel their purchase.
NET_SPEND_TOLERANCE = 1e-6

#: Length in days of the time unit each ``freq`` names (recency and T are fractional).
UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}

#: What one purchase is: a day with positive net spend, or a whole period of ``freq``.
RESOLUTIONS = ("D", "period")

SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


# ------------------------------------------------------------------------------------------------
# RFM summary
# ------------------------------------------------------------------------------------------------


def _check_freq(freq: str, caller: str) -> None:
    if freq not in FREQUENCIES:
        raise ValueError(
            f"The 'freq' parameter of {caller} must be one of {list(FREQUENCIES)}. "
            f"Got {freq!r} instead."
        )


def _period_ordinal(dates: np.ndarray, freq: str) -> np.ndarray:
    """Integer index of the period each date falls in (days, Monday-weeks or months since 1970)."""
    if freq == "M":
        return dates.astype("datetime64[M]").astype(np.int64)
    days = dates.astype("datetime64[D]").astype(np.int64)
    if freq == "W":
        # 1970-01-01 was a Thursday; shifting by 3 days makes weeks start on Monday, as pandas'
        # weekly periods ("W" = "W-SUN", weeks ending on Sunday) and lifetimes do.
        return (days + 3) // 7
    return days


def _to_timestamp(value, name: str, caller: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The '{name}' parameter of {caller} must be a date. Got {value!r} instead."
        ) from exc
    if stamp is pd.NaT:
        raise ValueError(f"The '{name}' parameter of {caller} must be a date. Got NaT instead.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp


def _clean_transactions(transactions: pd.DataFrame, caller: str):
    """Return customer ids, dates (datetime64[ns]) and amounts (float64) after the one check."""
    tx = check_transactions(transactions, caller=caller)
    return tx["customer_id"], tx["date"].to_numpy(dtype="datetime64[ns]"), tx["amount"].to_numpy()


def _factorize_ids(ids: pd.Series, caller: str, positions: np.ndarray | None = None):
    """Integer codes and unique values of the ids (at ``positions``); rejects missing ids."""
    values = ids.to_numpy()
    if positions is not None:
        values = values[positions]
    codes, uniques = pd.factorize(values, sort=False)
    if (codes < 0).any():
        missing = ids.isna()
        raise DataError(
            f"{caller}: column 'customer_id' has {int(missing.sum())} missing value(s): "
            f"{format_offenders(ids[missing])}"
        )
    return codes, np.asarray(uniques, dtype=object if values.dtype == object else None)


def _id_order(ids: np.ndarray) -> np.ndarray:
    """Positions that sort the customer ids (Arrow for text; unsortable mixes keep their order)."""
    if ids.dtype == object:
        try:
            return pc.sort_indices(pa.array(ids, type=pa.string())).to_numpy()
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
    try:
        return np.argsort(ids, kind="stable")
    except TypeError:
        return np.arange(len(ids))


def _positive_periods(codes: np.ndarray, periods: np.ndarray, amounts: np.ndarray):
    """Net each customer's spend per period; keep periods with positive net spend.

    Returns customer codes, periods and net amounts of the purchase periods, sorted by customer
    then period.
    """
    if len(codes) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=np.float64)
    low = periods.min()
    span = np.int64(periods.max() - low + 1)
    small = (int(codes.max()) + 1) * int(span) < 2**31
    key_type = np.int32 if small else np.int64  # int32 keys sort faster
    key = codes.astype(key_type) * key_type(span) + (periods - low).astype(key_type)
    # Sorting the int64 keys is several times faster than hashing them on 10M rows.
    order = np.argsort(key)
    key = key[order]
    ordered = amounts[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    values = np.add.reduceat(ordered, starts)
    # "Positive" up to rounding: a refund that cancels its purchase nets to zero in any order.
    keep = values > NET_SPEND_TOLERANCE
    keys, values = key[starts][keep], values[keep]
    return keys.astype(np.int64) // span, keys.astype(np.int64) % span + low, values


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
    _, dates, _ = _clean_transactions(transactions, caller)
    end = (
        pd.Timestamp(dates.max())
        if observation_end is None
        else _to_timestamp(observation_end, "observation_end", caller)
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


def _resolve_ends(dates: np.ndarray, observation_end, calibration_end, caller: str):
    """Observation and calibration ends as Timestamps, checked against the data's dates."""
    first_date, last_date = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    if observation_end is None:
        obs_end = last_date
    else:
        obs_end = _to_timestamp(observation_end, "observation_end", caller)
        if obs_end < first_date:
            raise DataError(
                f"{caller}: observation_end {obs_end.date()} is before the first transaction "
                f"({first_date.date()}); nothing is observed"
            )
    cal_end = None
    if calibration_end is not None:
        cal_end = _to_timestamp(calibration_end, "calibration_end", caller)
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


def _totals_in_duckdb(ids, dates, amounts, orders, caller):
    """Return a ``totals_of`` callable: the engine's SQL run in DuckDB over checked columns.

    Customer ids go in as integer codes (:func:`pd.factorize`, which also rejects missing ids),
    so any id type the pandas path accepts groups the same, and come back as the ids.
    """
    codes, uniques = _factorize_ids(ids, caller)
    columns = {
        "customer_id": pa.array(codes.astype(np.int32 if len(uniques) < 2**31 else np.int64)),
        "date": pa.array(dates),
        "amount": pa.array(amounts),
    }
    if orders is not None:  # order ids of any type, as codes; missing ones as NULL
        order_codes, _ = pd.factorize(orders, use_na_sentinel=True)
        columns["order_id"] = pa.array(order_codes, mask=order_codes < 0)
    table = pa.table(columns)

    def totals_of(freq, obs_end, cal_end, with_orders):
        sql = engine.customer_totals_sql(
            freq=freq, observation_end=obs_end, calibration_end=cal_end, with_orders=with_orders
        )
        totals = engine.run_duckdb(sql, table)
        return totals, uniques[totals["customer_id"].to_numpy()]

    return totals_of


@dataclass
class _Summary:
    """What :func:`_summarise` computed, for the public views to pick from."""

    frame: pd.DataFrame  # frequency, recency, T, monetary_value (+ holdout), time in periods
    totals: pd.DataFrame  # the engine's totals of the rows of ``frame``, same index


def _summarise(totals_of, *, freq, obs_end, cal_end, caller, stacklevel=3, with_orders=False):
    """Summarise purchases per customer, time counted in periods of ``freq``.

    ``totals_of(freq, obs_end, cal_end, with_orders)`` runs
    :func:`cxlib.data.engine.customer_totals_sql` in an engine and returns its frame and the
    customer id of each of its rows.
    """
    totals, ids = totals_of(freq, obs_end, cal_end, with_orders)
    end = obs_end if cal_end is None else cal_end
    end_period = _period_ordinal(np.array([end.to_datetime64()]), freq)[0]
    purchases = totals["purchases"].to_numpy(dtype=np.float64)
    has = purchases > 0
    no_purchase = ~has  # every row of totals has a transaction up to observation_end
    if cal_end is not None:
        first_in_holdout = ~has & (totals["holdout_purchases"].to_numpy() > 0)
        no_purchase &= ~first_in_holdout
    kept = np.flatnonzero(has)
    kept = kept[_id_order(ids[kept])]
    rows = totals.iloc[kept].set_axis(pd.Index(ids[kept], name="customer_id"))
    frequency = purchases[kept] - 1.0
    first = rows["first_period"].to_numpy(dtype=np.float64)
    spend = rows["spend"].to_numpy(dtype=np.float64) - rows["first_spend"].to_numpy(np.float64)
    columns = {
        "frequency": frequency,
        "recency": rows["last_period"].to_numpy(dtype=np.float64) - first,
        "T": end_period - first,
        "monetary_value": np.where(frequency > 0, spend / np.maximum(frequency, 1), 0.0),
    }
    if cal_end is not None:
        count = rows["holdout_purchases"].to_numpy(dtype=np.float64)
        total = rows["holdout_spend"].to_numpy(dtype=np.float64)
        columns["frequency_holdout"] = count
        columns["monetary_value_holdout"] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        obs_period = _period_ordinal(np.array([obs_end.to_datetime64()]), freq)[0]
        columns["duration_holdout"] = np.full(len(kept), float(obs_period - end_period))
        if not (totals["holdout_rows"].to_numpy() > 0).any():
            warnings.warn(
                f"{caller}: no transaction between calibration_end {cal_end.date()} and "
                f"observation_end {obs_end.date()}; the holdout is empty",
                stacklevel=stacklevel,
            )
    frame = pd.DataFrame(columns, index=rows.index)
    frame.attrs["customers_without_purchase"] = int(no_purchase.sum())
    if cal_end is not None:
        frame.attrs["customers_first_in_holdout"] = int(first_in_holdout.sum())
    if no_purchase.any():
        shown = ids[no_purchase]
        shown = pd.Series(shown[_id_order(shown)][:5])
        warnings.warn(
            f"{caller}: {int(no_purchase.sum())} customer(s) have no period with positive net "
            f"spend (only refunds or zero amounts) and are left out of the summary, e.g. "
            f"{', '.join(map(repr, shown))}; the count is in "
            "summary.attrs['customers_without_purchase']",
            stacklevel=stacklevel,
        )
    return _Summary(frame, rows)


def _check_resolution(resolution: str, caller: str) -> None:
    if resolution not in RESOLUTIONS:
        raise ValueError(
            f"The 'resolution' parameter of {caller} must be one of {list(RESOLUTIONS)}. "
            f"Got {resolution!r} instead."
        )


def _day_summary(transactions, *, freq, resolution, observation_end, calibration_end, caller):
    """Check, summarise, and express time in units of ``freq`` (see :func:`rfm_summary`)."""
    _check_freq(freq, caller)
    _check_resolution(resolution, caller)
    ids, dates, amounts = _clean_transactions(transactions, caller)
    obs_end, cal_end = _resolve_ends(dates, observation_end, calibration_end, caller)
    orders = transactions["order_id"].to_numpy() if "order_id" in transactions.columns else None
    totals_of = _totals_in_duckdb(ids, dates, amounts, orders, caller)
    result = _summary_in_units(
        totals_of, freq=freq, resolution=resolution, obs_end=obs_end, cal_end=cal_end,
        caller=caller, with_orders=orders is not None,
    )  # fmt: skip
    return result, totals_of, obs_end


def _summary_in_units(totals_of, *, freq, resolution, obs_end, cal_end, caller, with_orders):
    """:func:`_summarise` at the resolution asked, time expressed in units of ``freq``."""
    result = _summarise(
        totals_of,
        freq="D" if resolution == "D" else freq,
        obs_end=obs_end,
        cal_end=cal_end,
        caller=caller,
        stacklevel=5,
        with_orders=with_orders,
    )
    if resolution == "D" and freq != "D":
        scale = 1.0 / UNIT_DAYS[freq]
        for column in ("recency", "T", "duration_holdout"):
            if column in result.frame:
                result.frame[column] *= scale
    return result


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


def _days(day_numbers: np.ndarray) -> np.ndarray:
    return np.asarray(day_numbers, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def customer_base(
    transactions: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    observation_end=None,
    freq: str = "W",
    resolution: str = "D",
) -> pd.DataFrame:
    """Build the one per-customer table every analysis of a run stands on.

    One row per customer with at least one purchase up to ``observation_end``. A purchase is
    a day with positive net spend (refunds netted within the day), as in :func:`rfm_summary`,
    whose columns this table contains with the same values.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``; ``order_id`` optional).
    customers : DataFrame, optional
        The customers table (``customer_id`` plus attributes): its columns are joined on. Its
        customers without a purchase are not rows of the base (counted in
        ``attrs["customers_without_transactions"]``).
    observation_end : date-like, optional
        The day the base describes; later transactions are ignored. Defaults to the last
        transaction date.
    freq : {"W", "D", "M"}, default "W"
        Time unit of ``recency`` and ``T`` (see :func:`rfm_summary`).
    resolution : {"D", "period"}, default "D"
        What one purchase is for ``frequency``, ``recency`` and ``T`` (see :func:`rfm_summary`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), with columns:

        * ``frequency``, ``recency``, ``T``, ``monetary_value``: as :func:`rfm_summary`;
        * ``first_purchase``, ``last_purchase``: the days of the first and last purchase;
        * ``purchases``: purchase days (``frequency + 1`` at day resolution);
        * ``orders``: distinct ``order_id`` values among the customer's positive lines when the
          table has an ``order_id`` column, otherwise the purchase days;
        * ``revenue``: net spend over the whole history up to ``observation_end`` (refunds
          included); ``revenue_12m``: net spend in the 365 days up to ``observation_end``;
          ``refunds``: the amount refunded (positive);
        * ``days_since_last``: days from the last purchase to ``observation_end``;
          ``tenure_days``: days from the first purchase to ``observation_end``;
        * the attribute columns of ``customers``.

        ``attrs`` holds ``observation_end``, ``freq``, ``resolution``,
        ``customers_without_purchase`` and, with ``customers``,
        ``customers_without_transactions``.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-15", "2024-01-08"]),
    ...     "amount": [10.0, -10.0, 20.0, 8.0],
    ... })
    >>> base = customer_base(tx, observation_end="2024-01-29")
    >>> base[["frequency", "purchases", "revenue", "refunds", "days_since_last"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  purchases  revenue  refunds  days_since_last
    customer_id
    a                  1.0        2.0     20.0     10.0             14.0
    b                  0.0        1.0      8.0      0.0             21.0
    """
    caller = "customer_base"
    _check_freq(freq, caller)
    _check_resolution(resolution, caller)
    ids, dates, amounts = _clean_transactions(transactions, caller)
    obs_end, _ = _resolve_ends(dates, observation_end, None, caller)
    orders = transactions["order_id"].to_numpy() if "order_id" in transactions.columns else None
    base = _base_from(
        _totals_in_duckdb(ids, dates, amounts, orders, caller),
        obs_end=obs_end,
        freq=freq,
        resolution=resolution,
        with_orders=orders is not None,
        caller=caller,
    )
    if customers is not None:
        base = _join_customers(base, customers, caller)
    return base


def _base_from(totals_of, *, obs_end, freq, resolution, with_orders, caller) -> pd.DataFrame:
    """Build the customer base from an engine's per-customer totals (see :func:`_summarise`)."""
    result = _summary_in_units(
        totals_of, freq=freq, resolution=resolution, obs_end=obs_end, cal_end=None,
        caller=caller, with_orders=with_orders,
    )  # fmt: skip
    base, rows = result.frame, result.totals
    # First and last purchase days: at day resolution the summary's periods are days; at
    # period resolution count per day (a period's first day is not a purchase day). A
    # customer with a purchase period has a purchase day (the days' net spends add up to it).
    days = rows
    if resolution != "D":
        days = _summarise(totals_of, freq="D", obs_end=obs_end, cal_end=None, caller=caller)
        days = days.totals.reindex(base.index)
    first = days["first_period"].to_numpy(dtype=np.float64)
    last = days["last_period"].to_numpy(dtype=np.float64)
    end_day = float(obs_end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    day_counts = days["purchases"].to_numpy(dtype=np.float64)
    base["first_purchase"] = _days(first)
    base["last_purchase"] = _days(last)
    base["purchases"] = day_counts
    base["orders"] = rows["orders"].to_numpy(dtype=np.float64) if with_orders else day_counts
    for column in ("revenue", "revenue_12m", "refunds"):
        base[column] = rows[column].to_numpy(dtype=np.float64)
    base["days_since_last"] = end_day - last
    base["tenure_days"] = end_day - first
    base.attrs.update(observation_end=obs_end, freq=freq, resolution=resolution)
    return base


def _join_customers(base: pd.DataFrame, customers: pd.DataFrame, caller: str) -> pd.DataFrame:
    """Join the customers table's attributes onto the base, counting customers without purchases."""
    validate_columns(customers, ["customer_id"], caller=caller)
    table = customers.drop_duplicates("customer_id").set_index("customer_id")
    clashes = sorted(set(table.columns) & set(base.columns))
    if clashes:
        raise DataError(
            f"{caller}: the customers table has column(s) {clashes} that the customer base "
            "computes; rename them in the client's config"
        )
    attrs = dict(base.attrs)
    joined = base.join(table, how="left")
    joined.attrs = attrs
    joined.attrs["customers_without_transactions"] = int((~table.index.isin(base.index)).sum())
    return joined
