"""Customer lifetime value: RFM summaries, purchase and spend models, validated CLV.

The building blocks follow Fader, Hardie and Lee's "buy 'til you die" models as implemented by
``lifetimes``: a purchase model (BG/NBD, Pareto/NBD or MBG/NBD) for how often a customer buys and
whether they are still active, and a Gamma-Gamma spend model for how much they spend per order.

Every analysis starts from :func:`rfm_summary`, one row per customer::

    summary = cxlib.clv.rfm_summary(transactions, freq="W")
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib._validation import DataError, format_offenders, validate_columns

__all__ = [
    "DEFAULT_HOLDOUT_WEEKS",
    "FREQUENCIES",
    "default_calibration_end",
    "rfm_summary",
]

#: Period lengths :func:`rfm_summary` understands: days, weeks (Monday to Sunday), calendar months.
FREQUENCIES = ("D", "W", "M")

#: Length of the holdout window :func:`default_calibration_end` leaves for validation.
DEFAULT_HOLDOUT_WEEKS = 26

#: A period is a purchase when its net spend exceeds this fraction of its gross (absolute) spend;
#: the tolerance only absorbs floating-point rounding of refunds that cancel their purchase.
NET_SPEND_TOLERANCE = 1e-9

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
    """Validate the canonical columns; return (customer ids, dates as datetime64[ns], amounts)."""
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(
            f"The 'transactions' parameter of {caller} must be a DataFrame. "
            f"Got {type(transactions).__name__} instead."
        )
    validate_columns(transactions, ["customer_id", "date", "amount"], caller=caller)
    if len(transactions) == 0:
        raise DataError(f"{caller}: the transactions table is empty")
    dates = transactions["date"]
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise DataError(
            f"{caller}: column 'date' must hold dates (datetime64), got dtype {dates.dtype}; "
            "load the file with cxlib.data.load_transactions or convert it with pd.to_datetime"
        )
    if dates.isna().any():
        bad = transactions.loc[dates.isna(), "date"]
        raise DataError(
            f"{caller}: column 'date' has {len(bad)} missing date(s) (NaT): {format_offenders(bad)}"
        )
    amounts = transactions["amount"]
    if not pd.api.types.is_numeric_dtype(amounts) or pd.api.types.is_bool_dtype(amounts):
        raise DataError(f"{caller}: column 'amount' must be numeric, got dtype {amounts.dtype}")
    amounts = amounts.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(amounts).all():
        bad = transactions.loc[~np.isfinite(amounts), "amount"]
        raise DataError(
            f"{caller}: column 'amount' has {len(bad)} missing or infinite value(s): "
            f"{format_offenders(bad)}"
        )
    return transactions["customer_id"], dates.to_numpy(dtype="datetime64[ns]"), amounts


def _factorize_ids(ids: pd.Series, caller: str):
    """Integer codes and unique values of the customer ids (fast path for text ids).

    Also rejects missing ids. Text ids go through Arrow, whose hashing is several times faster
    than hashing Python strings.
    """
    arrow = None
    if ids.dtype == object:
        try:
            arrow = pa.array(ids.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            arrow = None  # not all text (e.g. mixed numbers and strings): hash the objects
    if arrow is None or arrow.null_count:
        missing = ids.isna()
        if missing.any():
            raise DataError(
                f"{caller}: column 'customer_id' has {int(missing.sum())} missing value(s): "
                f"{format_offenders(ids[missing])}"
            )
    if arrow is not None:
        codes, uniques = pd.factorize(pd.arrays.ArrowStringArray(arrow), sort=False)
        return codes, np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(ids, sort=False)
    return codes, np.asarray(uniques)


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
    gross = np.add.reduceat(np.abs(ordered), starts)
    # "Positive" up to rounding: a refund that cancels its purchase nets to zero in any order.
    keep = values > NET_SPEND_TOLERANCE * gross
    keys, values = key[starts][keep], values[keep]
    return keys.astype(np.int64) // span, keys.astype(np.int64) % span + low, values


def _summarise_window(n_customers, codes, periods, amounts, end_period):
    """frequency, recency, T, monetary_value per customer code (NaN rows for no purchase)."""
    cust, per, net = _positive_periods(codes, periods, amounts)
    count = np.bincount(cust, minlength=n_customers)
    has = count > 0
    first_row = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]) if len(cust) else cust
    last_row = np.r_[first_row[1:] - 1, len(cust) - 1] if len(cust) else cust
    first = np.full(n_customers, np.nan)
    last = np.full(n_customers, np.nan)
    first_amount = np.zeros(n_customers)
    first[cust[first_row]] = per[first_row]
    last[cust[last_row]] = per[last_row]
    first_amount[cust[first_row]] = net[first_row]
    total = np.bincount(cust, weights=net, minlength=n_customers)
    frequency = count - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - first_amount) / np.maximum(frequency, 1), 0.0)
    out = {
        "frequency": frequency,
        "recency": last - first,
        "T": end_period - first,
        "monetary_value": monetary,
    }
    return out, has


def default_calibration_end(
    transactions: pd.DataFrame,
    *,
    observation_end=None,
    holdout_weeks: int = DEFAULT_HOLDOUT_WEEKS,
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
    holdout_weeks : int, default DEFAULT_HOLDOUT_WEEKS
        Length of the holdout window in weeks.

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
    if not isinstance(holdout_weeks, int | np.integer) or holdout_weeks < 1:
        raise ValueError(
            f"The 'holdout_weeks' parameter of {caller} must be a positive integer. "
            f"Got {holdout_weeks!r} instead."
        )
    _, dates, _ = _clean_transactions(transactions, caller)
    end = (
        pd.Timestamp(dates.max())
        if observation_end is None
        else _to_timestamp(observation_end, "observation_end", caller)
    )
    cut = end - pd.Timedelta(weeks=int(holdout_weeks))
    if cut < pd.Timestamp(dates.min()):
        raise DataError(
            f"{caller}: the data cover {pd.Timestamp(dates.min()).date()} to {end.date()}, "
            f"less than the {holdout_weeks}-week holdout; pass a shorter holdout_weeks"
        )
    return cut


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    observation_end=None,
    calibration_end=None,
) -> pd.DataFrame:
    """One row per customer: repeat purchases, recency, age and average repeat spend.

    The meaning is ``lifetimes``' (``summary_data_from_transaction_data``), so the frame feeds
    :class:`PurchaseModel` and :class:`SpendModel` directly:

    * transactions are grouped into periods of length ``freq``; all of a customer's
      transactions in one period are **one purchase**, and refunds (negative amounts) are
      netted against the purchases of **the same period**;
    * a period whose net spend is not positive (only refunds, or refunds at least as large as
      the purchases) is **not a purchase**: it counts neither in ``frequency`` nor in
      ``recency`` (lifetimes counts it, with a negative or zero value);
    * ``frequency`` is the number of purchase periods after the first one (repeat purchases);
    * ``recency`` is the number of periods between the first and the last purchase;
    * ``T`` is the number of periods between the first purchase and ``observation_end``
      (``calibration_end`` when given);
    * ``monetary_value`` is the mean net spend of the repeat purchases (0 when there are none).

    Customers without any purchase period (e.g. only refunds) have no first purchase, so they
    cannot be summarised: they are left out, **counted** in
    ``summary.attrs["customers_without_purchase"]`` and reported in a warning.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions: ``customer_id``, ``date`` (datetime64), ``amount`` (float,
        negative for refunds). Not modified.
    freq : {"W", "D", "M"}, default "W"
        Period length: Monday-to-Sunday weeks, days or calendar months. Recency and T are
        counted in these periods.
    observation_end : date-like, optional
        Last day of the observed data; transactions after it are ignored. Defaults to the last
        transaction date. (lifetimes also keeps transactions after it that fall in the same
        period; cxlib does not.)
    calibration_end : date-like, optional
        Split the data into a calibration period (``date <= calibration_end``), summarised as
        above with ``T`` counted to ``calibration_end``, and a holdout period
        (``calibration_end < date <= observation_end``) adding ``frequency_holdout`` (number of
        purchase periods in the holdout), ``monetary_value_holdout`` (their mean net spend, 0
        when none) and ``duration_holdout`` (number of periods from ``calibration_end`` to
        ``observation_end``). Customers whose first purchase is in the holdout are not in the
        result (counted in ``summary.attrs["customers_first_in_holdout"]``).
        See :func:`default_calibration_end` for cxlib's default holdout.

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
    a                  1.0      2.0  4.0            20.0
    b                  0.0      0.0  3.0             0.0
    """
    caller = "rfm_summary"
    _check_freq(freq, caller)
    ids, dates, amounts = _clean_transactions(transactions, caller)
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

    codes, uniques = _factorize_ids(ids, caller)
    n_customers = len(uniques)
    periods = _period_ordinal(dates, freq)
    in_window = dates <= obs_end.to_datetime64()
    split = in_window if cal_end is None else dates <= cal_end.to_datetime64()
    end = obs_end if cal_end is None else cal_end
    end_period = _period_ordinal(np.array([end.to_datetime64()]), freq)[0]

    columns, has = _summarise_window(
        n_customers, codes[split], periods[split], amounts[split], end_period
    )
    seen = np.zeros(n_customers, dtype=bool)
    seen[codes[in_window]] = True
    no_purchase = seen & ~has

    if cal_end is not None:
        hold = in_window & ~split
        cust, _, net = _positive_periods(codes[hold], periods[hold], amounts[hold])
        count = np.bincount(cust, minlength=n_customers).astype(np.float64)
        total = np.bincount(cust, weights=net, minlength=n_customers)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        columns["frequency_holdout"] = count
        columns["monetary_value_holdout"] = mean
        columns["duration_holdout"] = np.full(
            n_customers,
            float(_period_ordinal(np.array([obs_end.to_datetime64()]), freq)[0] - end_period),
        )
        if not hold.any():
            warnings.warn(
                f"{caller}: no transaction between calibration_end {cal_end.date()} and "
                f"observation_end {obs_end.date()}; the holdout is empty",
                stacklevel=2,
            )
        first_in_holdout = ~has & (count > 0)
        no_purchase &= ~first_in_holdout

    kept = np.flatnonzero(has)
    kept = kept[_id_order(uniques[kept])]
    summary = pd.DataFrame(
        {name: np.asarray(values, dtype=np.float64)[kept] for name, values in columns.items()},
        index=pd.Index(uniques[kept], name="customer_id"),
    )
    summary.attrs["customers_without_purchase"] = int(no_purchase.sum())
    if cal_end is not None:
        summary.attrs["customers_first_in_holdout"] = int(first_in_holdout.sum())
    if no_purchase.any():
        shown = pd.Series(np.asarray(uniques)[no_purchase][:5])
        warnings.warn(
            f"{caller}: {int(no_purchase.sum())} customer(s) have no period with positive net "
            f"spend (only refunds or zero amounts) and are left out of the summary, e.g. "
            f"{', '.join(map(repr, shown))}; the count is in "
            "summary.attrs['customers_without_purchase']",
            stacklevel=2,
        )
    return summary


# ------------------------------------------------------------------------------------------------
# Purchase models
# ------------------------------------------------------------------------------------------------

#: Purchase models :class:`PurchaseModel` fits.
PURCHASE_KINDS = ("bgnbd", "pareto_nbd", "mbgnbd")

_PARAM_NAMES = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
}

#: Penalizer :class:`PurchaseModel` retries with when the unpenalised fit does not converge.
RETRY_PENALIZER = 1e-3


def _check_summary(summary: pd.DataFrame, caller: str, columns=("frequency", "recency", "T")):
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(
            f"The 'summary' parameter of {caller} must be a DataFrame from rfm_summary. "
            f"Got {type(summary).__name__} instead."
        )
    validate_columns(summary, list(columns), caller=caller)
    values = summary[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(
            f"{caller}: {int(bad.sum())} summary row(s) have missing or infinite values: "
            f"{format_offenders(pd.Series(summary.index[bad], index=summary.index[bad]))}"
        )
    return [values[:, i] for i in range(values.shape[1])]


def _compress(x, tx, T):
    """Distinct (x, t_x, T) rows and how many customers share each."""
    rows = pd.DataFrame({"x": x, "tx": tx, "T": T})
    counts = rows.groupby(["x", "tx", "T"], sort=True).size()
    keys = counts.index.to_frame(index=False)
    return (
        keys["x"].to_numpy(),
        keys["tx"].to_numpy(),
        keys["T"].to_numpy(),
        counts.to_numpy().astype(np.float64),
    )


def _loglik_rows(kind, params, x, tx, T):
    """Per-customer log-likelihood of (x, t_x, T) under the model (natural parameters).

    BG/NBD and MBG/NBD are written with ``autograd.numpy`` so the optimiser gets exact
    gradients; Pareto/NBD uses lifetimes' implementation (its hypergeometric terms are not
    differentiable by autograd).
    """
    if kind == "pareto_nbd":
        from lifetimes import ParetoNBDFitter

        with np.errstate(all="ignore"):
            return ParetoNBDFitter._conditional_log_likelihood(params, x, tx, T)
    import autograd.numpy as anp
    from autograd.scipy.special import gammaln

    r, alpha, a, b = params[0], params[1], params[2], params[3]
    with np.errstate(all="ignore"):
        if kind == "bgnbd":
            a1 = gammaln(r + x) - gammaln(r) + r * anp.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
            a3 = -(r + x) * anp.log(alpha + T)
            a4 = anp.log(a) - anp.log(b + anp.maximum(x, 1) - 1) - (r + x) * anp.log(tx + alpha)
            # x == 0 rows: log(exp(a3)) = a3; the where keeps the gradient finite
            repeat = x > 0
            high = anp.maximum(a3, a4)
            mixed = high + anp.log(anp.exp(a3 - high) + anp.exp(a4 - high) * repeat)
            return a1 + a2 + mixed
        a1 = gammaln(r + x) - gammaln(r) + r * anp.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        a3 = -(r + x) * anp.log(alpha + T)
        a4 = anp.log(a) - anp.log(b + x) + (r + x) * (anp.log(alpha + T) - anp.log(alpha + tx))
        return a1 + a2 + a3 + anp.logaddexp(a4, 0)


def _prepare_rows(x, tx, T, w):
    """Distinct rows plus the distinct values of x, t_x and T with their positions."""
    ux, ix = np.unique(x, return_inverse=True)
    return (
        x,
        tx,
        T,
        w,
        (ux, ix),
        np.unique(tx, return_inverse=True),
        np.unique(T, return_inverse=True),
        np.bincount(ix, weights=w),
    )


def _weighted_loglik(kind, params, rows, time_scale=1.0):
    """Sum of ``weight * log-likelihood`` over the distinct rows ``rows = (x, t_x, T, weight)``.

    For BG/NBD and MBG/NBD every term depends on the row only through x, t_x or T, each of
    which takes few distinct values: the expensive functions (gammaln, log) are evaluated on
    those values and gathered, so one evaluation costs a few vector operations per row.
    """
    x, tx, T, w, (ux, ix), (utx, itx), (uT, iT), per_x_weight = rows
    if kind == "pareto_nbd":
        return _anp_sum(w * _loglik_rows(kind, params, x, tx * time_scale, T * time_scale))
    import autograd.numpy as anp
    from autograd.scipy.special import gammaln

    r, alpha, a, b = params[0], params[1], params[2], params[3]
    log_t = anp.log(alpha + uT * time_scale)[iT]
    log_tx = anp.log(alpha + utx * time_scale)[itx]
    rx = r + x
    if kind == "bgnbd":
        per_x = (
            gammaln(r + ux)
            - gammaln(r)
            + r * anp.log(alpha)
            + gammaln(a + b)
            + gammaln(b + ux)
            - gammaln(b)
            - gammaln(a + b + ux)
        )
        a3 = -rx * log_t
        a4 = (anp.log(a) - anp.log(b + np.maximum(ux, 1) - 1))[ix] - rx * log_tx
        repeat = x > 0
        high = anp.maximum(a3, a4)
        mixed = high + anp.log(anp.exp(a3 - high) + anp.exp(a4 - high) * repeat)
        return anp.sum(per_x_weight * per_x) + anp.sum(w * mixed)
    per_x = (
        gammaln(r + ux)
        - gammaln(r)
        + r * anp.log(alpha)
        + gammaln(a + b)
        + gammaln(b + ux + 1)
        - gammaln(b)
        - gammaln(a + b + ux + 1)
    )
    a4 = (anp.log(a) - anp.log(b + ux))[ix] + rx * (log_t - log_tx)
    return anp.sum(per_x_weight * per_x) + anp.sum(w * (-rx * log_t + anp.logaddexp(a4, 0)))


def _anp_sum(values):
    """Sum that works on plain and autograd arrays."""
    import autograd.numpy as anp

    return anp.sum(values)


def _numeric_hessian(f, x0, step=1e-4):
    """Central-difference Hessian of ``f`` at ``x0``."""
    n = len(x0)
    hess = np.empty((n, n))
    f0 = f(x0)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = step
        hess[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / step**2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = step
            value = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (
                4 * step**2
            )
            hess[i, j] = hess[j, i] = value
    return hess


def _minimise(objective, gradient, start):
    """Minimise over log-parameters: BFGS, with a Nelder-Mead restart when BFGS fails.

    ``gradient`` is the exact gradient, or None for central differences.
    """
    from scipy.optimize import minimize

    jac = gradient if gradient is not None else "3-point"

    def usable(result):
        if result is None or not np.isfinite(result.fun) or np.any(np.abs(result.x) > 25):
            return False
        grad = gradient(result.x) if gradient is not None else getattr(result, "jac", None)
        return result.success or (grad is not None and np.max(np.abs(grad)) < 1e-5)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        best = minimize(objective, start, jac=jac, method="BFGS", options={"gtol": 1e-7})
        if usable(best):
            return best, True
        rough = minimize(
            objective, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6}
        )
        if np.isfinite(rough.fun):
            polish = minimize(objective, rough.x, jac=jac, method="BFGS", options={"gtol": 1e-7})
            for candidate in (polish, rough):
                if np.isfinite(candidate.fun) and (
                    not np.isfinite(best.fun) or candidate.fun <= best.fun
                ):
                    best = candidate
    return best, usable(best)


class PurchaseModel:
    """How often customers buy and whether they are still active: BG/NBD, Pareto/NBD or MBG/NBD.

    The likelihoods are lifetimes' (``BetaGeoFitter``, ``ParetoNBDFitter``,
    ``ModifiedBetaGeoFitter``); cxlib fits them on the **distinct** (frequency, recency, T) rows
    of the summary, weighted by how many customers share each row, which gives the same
    maximum-likelihood estimates as fitting every customer but in the time of a few thousand
    rows. Predictions use numerically stable formulas, so they are finite for every customer.

    Parameters
    ----------
    kind : {"bgnbd", "pareto_nbd", "mbgnbd"}, default "bgnbd"
        The model.
    penalizer : float, default 0.0
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``, applied to the parameters
        in lifetimes' internal time scale). When the unpenalised fit fails, the fit is retried
        with ``RETRY_PENALIZER`` and a warning.

    Attributes
    ----------
    params_ : Series
        ``r, alpha, a, b`` (BG/NBD, MBG/NBD) or ``r, alpha, s, beta`` (Pareto/NBD); times in
        the summary's periods.
    standard_errors_ : Series
        Standard errors of ``params_`` from the Hessian of the log-likelihood.
    log_likelihood_ : float
        Total log-likelihood of the summary at ``params_`` (CDNOW BG/NBD: -9582.4).
    penalizer_ : float
        The penalizer actually used.
    n_customers_, n_rows_ : int
        Customers fitted and distinct (frequency, recency, T) rows.

    Examples
    --------
    >>> from lifetimes.datasets import load_cdnow_summary
    >>> model = PurchaseModel("bgnbd").fit(load_cdnow_summary(index_col=[0]))
    >>> model.params_.round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    """

    def __init__(self, kind: str = "bgnbd", *, penalizer: float = 0.0):
        self.kind = kind
        self.penalizer = penalizer

    def __repr__(self) -> str:
        fitted = (
            "" if not hasattr(self, "params_") else f", params={self.params_.round(4).to_dict()}"
        )
        return f"PurchaseModel(kind={self.kind!r}, penalizer={self.penalizer}{fitted})"

    def _check_params(self):
        if self.kind not in PURCHASE_KINDS:
            raise ValueError(
                f"The 'kind' parameter of PurchaseModel must be one of {list(PURCHASE_KINDS)}. "
                f"Got {self.kind!r} instead."
            )
        if not np.isfinite(self.penalizer) or self.penalizer < 0:
            raise ValueError(
                "The 'penalizer' parameter of PurchaseModel must be a non-negative number. "
                f"Got {self.penalizer!r} instead."
            )

    def _fitted(self, caller):
        if not hasattr(self, "params_"):
            raise ValueError(f"{caller}: this PurchaseModel is not fitted yet; call .fit(summary)")

    def fit(self, summary: pd.DataFrame) -> PurchaseModel:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        summary : DataFrame
            From :func:`rfm_summary`: ``frequency``, ``recency``, ``T`` (other columns ignored).

        Returns
        -------
        PurchaseModel
            ``self``, fitted.

        Raises
        ------
        DataError
            When the summary is empty, inconsistent (recency above T, negative values), has no
            repeat purchase at all, or the optimiser fails even with a penalizer.
        """
        caller = "PurchaseModel.fit"
        self._check_params()
        x, tx, T = _check_summary(summary, caller)
        if len(x) == 0:
            raise DataError(f"{caller}: the summary has no customers")
        bad = (x < 0) | (tx < 0) | (tx > T) | ((x == 0) & (tx != 0)) | (x != np.round(x))
        if bad.any():
            raise DataError(
                f"{caller}: {int(bad.sum())} row(s) are not a valid RFM summary (need integer "
                "frequency >= 0, 0 <= recency <= T, recency 0 when frequency is 0): "
                f"{format_offenders(pd.Series(summary.index[bad], index=summary.index[bad]))}"
            )
        if not (x > 0).any():
            raise DataError(
                f"{caller}: no customer has a repeat purchase, so purchase rates and dropout "
                "cannot be estimated; use a longer observation window or a shorter freq"
            )
        if not (T > 0).any():
            raise DataError(f"{caller}: every customer has T = 0 (all bought in the last period)")
        import autograd
        import autograd.numpy as anp

        cx, ctx, cT, w = _compress(x, tx, T)
        scale = 10.0 / cT.max()  # lifetimes' time scaling keeps the optimiser well conditioned
        rows = _prepare_rows(cx, ctx, cT, w)
        total = w.sum()

        kind = self.kind

        def objective_for(penalizer):
            def objective(log_params):
                params = anp.exp(log_params)
                ll = _weighted_loglik(kind, params, rows, scale)
                return -ll / total + penalizer * anp.sum(params**2)

            def safe(log_params):
                with np.errstate(all="ignore"):
                    value = objective(log_params)
                return float(value) if np.isfinite(value) else np.inf

            if kind == "pareto_nbd":
                return safe, None
            grad = autograd.grad(objective)

            def safe_grad(log_params):
                with np.errstate(all="ignore"):
                    return np.nan_to_num(np.asarray(grad(log_params), dtype=float), nan=0.0)

            return safe, safe_grad

        start = np.zeros(4)
        penalizer = float(self.penalizer)
        result, ok = _minimise(*objective_for(penalizer), start)
        if not ok and penalizer < RETRY_PENALIZER:
            penalizer = RETRY_PENALIZER
            result, ok = _minimise(*objective_for(penalizer), start)
            if ok:
                warnings.warn(
                    f"{caller}: the {self.kind} fit did not converge without a penalty; refitted "
                    f"with penalizer={penalizer} (parameters are slightly shrunk)",
                    stacklevel=2,
                )
        if not ok:
            share_zero = float((x == 0).mean())
            raise DataError(
                f"{caller}: the {self.kind} likelihood has no finite maximum on this summary "
                f"({len(x)} customers, {share_zero:.0%} without a repeat purchase, "
                f"{len(cx)} distinct rows). This happens when nearly nobody repeats, when "
                "nobody seems to drop out (recency close to T for everyone), or with too few "
                "customers; try another kind, a larger penalizer or a longer observation window"
            )
        params = np.exp(result.x)
        params[1] /= scale  # alpha is a rate scale in time units
        if self.kind == "pareto_nbd":
            params[3] /= scale  # so is beta
        names = list(_PARAM_NAMES[self.kind])
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.penalizer_ = penalizer

        def total_nll(log_params):
            return -_weighted_loglik(kind, anp.exp(log_params), rows)

        self.log_likelihood_ = float(-total_nll(np.log(params)))
        if self.kind == "pareto_nbd":
            hess = _numeric_hessian(total_nll, np.log(params))
        else:
            hess = np.asarray(autograd.hessian(total_nll)(np.log(params)), dtype=float)
        with np.errstate(all="ignore"):
            try:
                cov_log = np.linalg.inv(hess)
                se = params * np.sqrt(np.diag(cov_log))
            except np.linalg.LinAlgError:
                se = np.full(4, np.nan)
        self.standard_errors_ = pd.Series(se, index=names, name="standard_error")
        self.n_customers_ = len(x)
        self.n_rows_ = len(cx)
        return self

    # -- predictions --------------------------------------------------------------------------

    def _arrays(self, summary, caller):
        self._fitted(caller)
        return _check_summary(summary, caller)

    def _lifetimes_fitter(self):
        """Build a lifetimes fitter carrying ``params_`` (for formulas cxlib does not reimplement)."""
        import lifetimes

        cls = {
            "bgnbd": lifetimes.BetaGeoFitter,
            "pareto_nbd": lifetimes.ParetoNBDFitter,
            "mbgnbd": lifetimes.ModifiedBetaGeoFitter,
        }[self.kind]
        fitter = cls(penalizer_coef=self.penalizer_)
        fitter.params_ = self.params_.copy()
        return fitter

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active at the end of the summary window.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``p_alive``, values in [0, 1].
        """
        x, tx, T = self._arrays(summary, "PurchaseModel.p_alive")
        values = _p_alive(self.kind, self.params_.to_numpy(), x, tx, T)
        return pd.Series(values, index=summary.index, name="p_alive")

    def predict_purchases(self, summary: pd.DataFrame, t) -> pd.Series:
        """Predict the number of purchases in the next ``t`` periods from each customer's history.

        Parameters
        ----------
        summary : DataFrame
            ``frequency``, ``recency``, ``T`` per customer.
        t : float or array-like
            Horizon in periods of the summary's ``freq``: one number, or one value per customer.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``expected_purchases``; always finite.
        """
        caller = "PurchaseModel.predict_purchases"
        x, tx, T = self._arrays(summary, caller)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim > 1 or (t.ndim == 1 and len(t) != len(x)):
            raise ValueError(
                f"The 't' parameter of {caller} must be a number or one value per customer "
                f"({len(x)}). Got shape {t.shape} instead."
            )
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError(
                f"The 't' parameter of {caller} must be finite and non-negative. Got {t!r} instead."
            )
        values = _conditional_expected(self.kind, self.params_.to_numpy(), t, x, tx, T)
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def expected_repeat_purchases(self, t) -> np.ndarray:
        """Predict the repeat purchases of a new customer within ``t`` periods of the first one."""
        self._fitted("PurchaseModel.expected_repeat_purchases")
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(all="ignore"):
            values = np.asarray(self._lifetimes_fitter().expected_number_of_purchases_up_to_time(t))
        return np.where(t > 0, values, 0.0)

    def with_params(self, **params) -> PurchaseModel:
        """Return a copy with some parameters replaced (for scenarios)."""
        self._fitted("PurchaseModel.with_params")
        unknown = sorted(set(params) - set(self.params_.index))
        if unknown:
            raise ValueError(
                f"The parameters of PurchaseModel.with_params must be among "
                f"{list(self.params_.index)}. Got {unknown} instead."
            )
        other = PurchaseModel(self.kind, penalizer=self.penalizer)
        other.__dict__.update({k: v for k, v in self.__dict__.items()})
        other.params_ = self.params_.copy()
        for name, value in params.items():
            other.params_[name] = float(value)
        return other


def _p_alive(kind, params, x, tx, T):
    from scipy.special import expit

    if kind == "pareto_nbd":
        r, alpha, s, beta = params
        with np.errstate(all="ignore"):
            ll = _loglik_rows(kind, params, x, tx, T)
            from scipy.special import gammaln

            alive = (
                gammaln(r + x)
                - gammaln(r)
                + r * np.log(alpha)
                + s * np.log(beta)
                - (r + x) * np.log(alpha + T)
                - s * np.log(beta + T)
            )
            return np.clip(np.exp(alive - ll), 0.0, 1.0)
    r, alpha, a, b = params
    with np.errstate(all="ignore"):
        if kind == "bgnbd":
            log_odds = (
                np.log(a)
                - np.log(b + np.maximum(x, 1) - 1)
                + (r + x) * np.log((alpha + T) / (alpha + tx))
            )
            return np.where(x > 0, expit(-log_odds), 1.0)
        log_odds = np.log(a) - np.log(b + x) + (r + x) * np.log((alpha + T) / (alpha + tx))
        return expit(-log_odds)


def _conditional_expected(kind, params, t, x, tx, T):
    """E[purchases in (T, T + t] | x, t_x, T], finite for every customer."""
    from scipy.special import hyp2f1

    t = np.broadcast_to(t, np.shape(x)).astype(np.float64)
    alive = _p_alive(kind, params, x, tx, T)
    if kind == "pareto_nbd":
        r, alpha, s, beta = params
        with np.errstate(all="ignore"):
            # E[purchases | alive] = (r + x)/(alpha + T) * (beta + T)/(s - 1) * (1 - (...)^(s-1))
            rate = (r + x) / (alpha + T)
            if abs(s - 1) < 1e-9:
                horizon = (beta + T) * np.log1p(t / (beta + T))
            else:
                horizon = (beta + T) / (s - 1) * -np.expm1((s - 1) * -np.log1p(t / (beta + T)))
            return np.where(t > 0, alive * rate * horizon, 0.0)
    r, alpha, a, b = params
    # lifetimes' formula has (1 - z)^(r+x) 2F1(r+x, b+x; c; z) with huge parameters, which
    # overflows. Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)
    # turns the product into (1-z)^(a-1) 2F1(C-A, a-1; C; z), whose parameters do not grow
    # with x: finite and accurate for every customer.
    shift = 1.0 if kind == "bgnbd" else 0.0  # BG/NBD: c = a+b+x-1; MBG/NBD: c = a+b+x
    c = a + b + x - shift
    with np.errstate(all="ignore"):
        z = t / (alpha + T + t)
        log_1mz = -np.log1p(t / (alpha + T))
        product = np.exp((a - 1) * log_1mz) * hyp2f1(c - r - x, a - 1, c, z)
        given_alive_factor = c / (a - 1) * (1 - product)
        if kind == "bgnbd":
            # BG/NBD's numerator is the unconditional-on-alive expectation; the division by
            # (1 + delta * odds) is p_alive for x > 0 and 1 for x == 0.
            values = given_alive_factor * alive
        else:
            values = given_alive_factor * alive
    return np.where(t > 0, values, 0.0)
