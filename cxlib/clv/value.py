"""Customer value: discounted CLV per customer, with intervals from the models' parameters.

Totals by segment with a bootstrap over customers, and how concentrated value is, are in
:mod:`cxlib.clv.segments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from cxlib.clv import spend as _spend
from cxlib.clv._optimise import check_summary, compress
from cxlib.clv.covariates import distinct_rows
from cxlib.clv.kinds import PurchaseKind
from cxlib.customers.purchases import check_freq as _check_freq
from cxlib.settings.params import Interval, Options, check_param
from cxlib.settings.units import months_to_periods, periods_per_month
from cxlib.settings.validation import DataError, validate_columns

#: What ``clv`` is, in every frame of :func:`customer_value` (its ``attrs["basis"]`` adds the
#: margin).
VALUE_BASIS = "discounted gross margin"
#: How far ahead :func:`customer_value` counts purchases, in months.
HORIZON_MONTHS = Interval(int, 1, 600, words="an integer from 1 to 600")
#: An annual discount rate.
ANNUAL_RATE = Interval(float, 0, 1, closed="left", words="an annual rate in [0, 1)")

VALUE_COLUMNS = [
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "expected_revenue",
    "clv",
    "acquisition_cost",
    "clv_net",
]


def _check_value_options(caller, horizon_months, discount_rate, margin, freq):
    _check_freq(freq, caller)
    check_param("horizon_months", horizon_months, HORIZON_MONTHS, caller=caller)
    check_param("discount_rate", discount_rate, ANNUAL_RATE, caller=caller)
    check_param("margin", margin, Interval(float, 0, 1, closed="right"), caller=caller)


def _value_attrs(horizon_months, discount_rate, margin, freq) -> dict:
    """Return what a frame of values says about itself: its horizon, money basis and options."""
    return {
        "horizon_months": int(horizon_months),
        "horizon_periods": months_to_periods(horizon_months, freq),
        "freq": freq,
        "discount_rate": discount_rate,
        "margin": margin,
        "basis": f"{VALUE_BASIS} ({margin:.0%} of revenue)",
    }


def value_options(values: pd.DataFrame) -> dict:
    """Return the options ``values`` were computed with (to compute more on the same basis).

    Returns
    -------
    dict
        ``horizon_months``, ``discount_rate``, ``margin`` and ``freq``, as
        :func:`customer_value` takes them (read from ``values.attrs``).

    Raises
    ------
    DataError
        When ``values`` do not say (they were not made by :func:`customer_value`).

    Examples
    --------
    >>> from cxlib.clv import PurchaseModel, SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> values = customer_value(summary, PurchaseModel().fit(summary), SpendModel().fit(summary),
    ...                         horizon_months=6)
    >>> value_options(values)
    {'horizon_months': 6, 'discount_rate': 0.1, 'margin': 0.3, 'freq': 'W'}
    """
    names = ("horizon_months", "discount_rate", "margin", "freq")
    missing = [name for name in names if name not in values.attrs]
    if missing:
        raise DataError(
            f"value_options: the values do not carry their {', '.join(missing)} (attrs); "
            "compute them with cxlib.clv.customer_value"
        )
    return {name: values.attrs[name] for name in names}


def _discounted_purchases(expected_by, horizon_months, discount_rate, freq):
    """(undiscounted, discounted) expected purchases over the horizon, month by month.

    ``expected_by(t)`` returns each customer's expected purchases within ``t`` periods. The
    purchases of month m are discounted by ``(1 + discount_rate) ** (m / 12)`` (annual rate,
    monthly steps; lifetimes' ``customer_lifetime_value`` uses a monthly rate instead).
    """
    per_month = periods_per_month(freq)
    previous = discounted = 0.0  # nobody buys within 0 periods
    for month in range(1, horizon_months + 1):
        current = expected_by(month * per_month)
        discounted = discounted + (current - previous) / (1 + discount_rate) ** (month / 12)
        previous = current
    return previous, discounted


def _purchase_flows(kind_module: PurchaseKind, params, x, tx, T, options, reduction=0.0):
    """P(alive) and (undiscounted, discounted) purchases per customer, on distinct rows.

    ``reduction`` > 0 lowers each customer's own future dropout by that relative amount
    (``kind_module.expected_given_alive_lower_dropout``; the retention scenario). Each of
    ``params`` is one number, or one value per customer (a model with covariates).
    """
    (cx, ctx, cT), params, inverse = distinct_rows(x, tx, T, params)
    alive_rows = kind_module.p_alive(params, cx, ctx, cT)

    def given_alive(t, gx, gtx, gT):
        if reduction:
            return kind_module.expected_given_alive_lower_dropout(params, t, gx, gtx, gT, reduction)
        return kind_module.expected_given_alive(params, t, gx, gtx, gT)

    if kind_module.given_alive_uses_recency:

        def expected_by(t):
            return alive_rows * given_alive(t, cx, ctx, cT)

    else:  # a function of (frequency, T) alone: evaluate it on their distinct pairs
        (px, _, pT), pair_params, pairs = distinct_rows(cx, np.zeros_like(cx), cT, params)
        params = pair_params  # given_alive reads them: the pairs' own parameters

        def expected_by(t):
            return alive_rows * given_alive(t, px, np.zeros_like(px), pT)[pairs]

    total, discounted = _discounted_purchases(
        expected_by, options["horizon_months"], options["discount_rate"], options["freq"]
    )
    return alive_rows[inverse], total[inverse], discounted[inverse]


def _acquisition_costs(customers, index, caller):
    costs = pd.Series(np.nan, index=index, name="acquisition_cost")
    if customers is None:
        return costs
    validate_columns(customers, ["customer_id"], caller=caller)
    if "acquisition_cost" not in customers.columns:
        return costs
    known = customers.drop_duplicates("customer_id").set_index("customer_id")["acquisition_cost"]
    return pd.to_numeric(known, errors="coerce").reindex(index).rename("acquisition_cost")


def _value_frame(summary, alive, total, discounted, spend, *, margin, customers, caller,
                 options):  # fmt: skip
    frame = pd.DataFrame(
        {
            "p_alive": alive,
            "expected_purchases": total,
            "expected_spend": spend,
            "expected_revenue": total * spend,
            "clv": margin * spend * discounted,
        },
        index=summary.index,
    )
    frame["acquisition_cost"] = _acquisition_costs(customers, summary.index, caller)
    frame["clv_net"] = frame["clv"] - frame["acquisition_cost"]
    frame = frame[VALUE_COLUMNS]
    frame.attrs = _value_attrs(margin=margin, **options)
    return frame


def customer_value(
    summary: pd.DataFrame,
    purchase_model,
    spend_model,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Discounted customer lifetime value over a horizon, per customer.

    ``clv`` = margin x expected spend per order x expected purchases of each future month,
    discounted at ``discount_rate`` per year (monthly steps). With constant spend
    (``spend_model.constant_spend_``), the expected spend per order is that constant for every
    customer, so ``clv`` is the discounted expected purchases times the constant times margin.
    It is the value of the customer from now on: past purchases and the acquisition cost are
    sunk, so ``clv_net`` (``clv`` minus ``acquisition_cost``) answers "was this customer worth
    acquiring", not "is this customer worth keeping". Computed on the distinct (frequency,
    recency, T) rows, so a million customers take about a second.

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` (``frequency``, ``recency``, ``T``, ``monetary_value``).
    purchase_model : PurchaseModel
        Fitted on the same periods (``freq``). A BG/BB model counts opportunities, not
        periods: value it with ``predict_purchases`` over a number of opportunities instead.
    spend_model : SpendModel
        Fitted.
    horizon_months : int, default 12
        How far ahead to count purchases.
    discount_rate : float, default 0.10
        Annual discount rate.
    margin : float, default 0.30
        Profit margin on revenue.
    freq : {"W", "D", "M"}, default "W"
        The summary's period length (to convert months into periods).
    customers : DataFrame, optional
        Customer table with ``customer_id`` and optionally ``acquisition_cost``.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``p_alive``, ``expected_purchases`` (over the horizon,
        undiscounted), ``expected_spend`` (per order), ``expected_revenue`` (undiscounted),
        ``clv`` (discounted margin), ``acquisition_cost`` and ``clv_net`` (NaN where the
        acquisition cost is unknown). The values carry their horizon and money basis in
        ``attrs``, so no reader restates them: ``horizon_months``, ``horizon_periods`` (the
        horizon in periods of ``freq``), ``freq``, ``discount_rate``, ``margin`` and ``basis``
        (``"discounted gross margin (30% of revenue)"``); :func:`value_options` reads them.

    Examples
    --------
    >>> from cxlib.clv import PurchaseModel, SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> values = customer_value(
    ...     summary, PurchaseModel().fit(summary), SpendModel().fit(summary), margin=1.0
    ... )
    >>> round(float(values["clv"].sum()))
    72405
    >>> values.attrs["horizon_months"], values.attrs["basis"]
    (12, 'discounted gross margin (100% of revenue)')
    """
    caller = "customer_value"
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    x, tx, T = purchase_model._arrays(summary, caller)
    options = dict(horizon_months=horizon_months, discount_rate=discount_rate, freq=freq)
    alive, total, discounted = _purchase_flows(
        purchase_model._model, purchase_model._customer_params(summary, caller), x, tx, T,
        options,
    )  # fmt: skip
    spend = spend_model.expected_spend(summary).to_numpy()
    return _value_frame(
        summary,
        alive,
        total,
        discounted,
        spend,
        margin=margin,
        customers=customers,
        caller=caller,
        options=options,
    )


def clv_interval(
    summary: pd.DataFrame,
    purchase_model,
    spend_model,
    *,
    n_draws: int = 200,
    level: float = 0.90,
    seed: int = 0,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
) -> pd.DataFrame:
    """Customer-level CLV with an interval from the uncertainty of the models' parameters.

    The log-parameters of both models are drawn ``n_draws`` times from the asymptotic normal
    distribution of their maximum-likelihood estimates (``covariance_``); each draw values
    every customer as :func:`customer_value` does, and the interval is the central ``level``
    share of the draws. It says how far a customer's CLV could move with another sample of
    customers like these, not how much the customer will actually spend.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``clv`` (at the estimates), ``clv_low``, ``clv_high``.

    Examples
    --------
    >>> from cxlib.clv import PurchaseModel, SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> bands = clv_interval(summary, PurchaseModel().fit(summary), SpendModel().fit(summary))
    >>> bool(((bands["clv_low"] <= bands["clv"]) & (bands["clv"] <= bands["clv_high"])).all())
    True
    """
    caller = "clv_interval"
    draws = _parameter_draws(
        summary,
        purchase_model,
        spend_model,
        n_draws,
        level,
        seed,
        caller,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
    )
    values = np.column_stack(list(draws))
    base = customer_value(
        summary,
        purchase_model,
        spend_model,
        margin=margin,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        freq=freq,
    )["clv"]
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail], axis=1)
    return pd.DataFrame(
        {"clv": base, "clv_low": np.minimum(low, base), "clv_high": np.maximum(high, base)},
        index=summary.index,
    )


def _check_interval_options(caller, n_draws, level):
    check_param("n_draws", n_draws, Interval(int, 10, None), caller=caller)
    check_param("level", level, Interval(float, 0, 1, closed="neither"), caller=caller)


def _valuer(summary, purchase_model, spend_model, caller, *, horizon_months, discount_rate,
            margin, freq):  # fmt: skip
    """Return ``value(purchase_params, spend_params)`` -> every customer's CLV, and the fits.

    The fits are the models whose parameters were estimated: both, or only the purchase model
    when spend is constant (``spend_model.constant_spend_``; ``spend_params`` is then None).
    """
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    x, tx, T = purchase_model._arrays(summary, caller)
    if not getattr(purchase_model, "coef_", pd.DataFrame()).empty:
        raise ValueError(
            f"{caller}: parameter-uncertainty intervals are not available yet for a purchase "
            "model with covariates (their coefficients' uncertainty is not drawn)"
        )
    spend_model._fitted(caller)
    _, m = check_summary(summary, caller, ("frequency", "monetary_value"))
    options = dict(horizon_months=horizon_months, discount_rate=discount_rate, freq=freq)
    module = purchase_model._model
    cx, ctx, cT, _, inverse = compress(x, tx, T)
    constant = getattr(spend_model, "constant_spend_", None)

    def value(purchase_params, spend_params=None):
        _, _, discounted = _purchase_flows(module, purchase_params, cx, ctx, cT, options)
        if constant is not None:
            spend = constant
        else:
            spend = _spend.expected_spend(spend_params, x, m)
        return margin * spend * discounted[inverse]

    fits = (purchase_model,) if constant is not None else (purchase_model, spend_model)
    return value, fits


def _parameter_draws(
    summary, purchase_model, spend_model, n_draws, level, seed, caller, **options
):  # fmt: skip
    """Yield every customer's CLV under each of ``n_draws`` draws of the models' parameters.

    The log-parameters are drawn from the asymptotic normal distribution of the estimates
    (``covariance_``); the checks run before the first draw.
    """
    _check_interval_options(caller, n_draws, level)
    value, fits = _valuer(summary, purchase_model, spend_model, caller, **options)
    rng = np.random.default_rng(seed)
    draws = []
    for fitted in fits:
        cov = np.nan_to_num(fitted.covariance_.to_numpy())
        mean = np.log(fitted.params_.to_numpy())
        draws.append(np.exp(rng.multivariate_normal(mean, cov, size=n_draws)))

    def generate():
        for i in range(n_draws):
            yield value(*(d[i] for d in draws))

    return generate()


def _delta_totals(summary, purchase_model, spend_model, codes, n_groups, caller, **options):
    """Covariance of the group totals by the delta method (central differences in log space).

    Two valuations per parameter instead of hundreds of draws: for a total over many
    customers the sampling distribution of the estimates is close to normal and the total
    close to linear in them, which is what the method assumes.
    """
    value, fits = _valuer(summary, purchase_model, spend_model, caller, **options)
    logs = [np.log(fitted.params_.to_numpy()) for fitted in fits]
    covs = [np.nan_to_num(fitted.covariance_.to_numpy()) for fitted in fits]
    step = 1e-4
    gradients = []
    for which in range(len(fits)):
        columns = []
        for k in range(len(logs[which])):
            totals = []
            for sign in (1, -1):
                shifted = [v.copy() for v in logs]
                shifted[which][k] += sign * step
                values = value(*(np.exp(v) for v in shifted))
                totals.append(np.bincount(codes, weights=values, minlength=n_groups))
            columns.append((totals[0] - totals[1]) / (2 * step))
        gradients.append(np.column_stack(columns))
    return sum(g @ c @ g.T for g, c in zip(gradients, covs, strict=True))


def total_interval(
    summary: pd.DataFrame,
    purchase_model,
    spend_model,
    segments: pd.Series | None = None,
    *,
    method: str = "delta",
    n_draws: int = 200,
    level: float = 0.90,
    seed: int = 0,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
) -> pd.DataFrame:
    """Total CLV per segment with an interval from the uncertainty of the models' parameters.

    ``method="draws"``: each of ``n_draws`` draws of the log-parameters (as in
    :func:`clv_interval`) values every customer, the segment's total is summed per draw, and
    the interval is the central ``level`` share of those totals. ``method="delta"`` (default,
    15 valuations instead of ``n_draws``): the normal interval of the delta method, with the
    gradient of each total in the log-parameters by central differences; on CDNOW both agree
    within a few percent of the interval's width. Either way the customers' values move
    together, so summing their own intervals would overstate it. It complements
    :func:`segment_value`'s bootstrap over customers.

    Returns
    -------
    DataFrame
        Indexed by ``segment``, then a last row ``"All customers"`` (the only row without
        ``segments``): ``total`` (at the estimates), ``param_low``, ``param_high``.

    Examples
    --------
    >>> from cxlib.clv import PurchaseModel, SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> band = total_interval(summary, PurchaseModel().fit(summary), SpendModel().fit(summary))
    >>> row = band.loc["All customers"]
    >>> bool(row["param_low"] < row["total"] < row["param_high"])
    True
    """
    caller = "total_interval"
    options = dict(
        horizon_months=horizon_months, discount_rate=discount_rate, margin=margin, freq=freq
    )
    check_param("method", method, Options(("delta", "draws"), words="'delta' or 'draws'"),
                caller=caller)  # fmt: skip
    _check_interval_options(caller, n_draws, level)
    base = customer_value(summary, purchase_model, spend_model, **options)["clv"]
    if method == "draws":
        draws = _parameter_draws(
            summary, purchase_model, spend_model, n_draws, level, seed, caller, **options
        )
        return _segment_totals(base, draws, segments, level)
    codes, names = _segment_codes(base.index, segments)
    cov = _delta_totals(summary, purchase_model, spend_model, codes, len(names), caller, **options)
    total = np.bincount(codes, weights=base.to_numpy(dtype=float), minlength=len(names))
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    if segments is not None:
        total = np.r_[total, total.sum()]
        sd = np.r_[sd, np.sqrt(max(cov.sum(), 0.0))]
        names = pd.Index([*names, ALL_CUSTOMERS])
    z = float(norm.ppf(0.5 + level / 2))
    return pd.DataFrame(
        {"total": total, "param_low": total - z * sd, "param_high": total + z * sd},
        index=pd.Index(names, name="segment"),
    )


def _segment_codes(index: pd.Index, segments) -> tuple[np.ndarray, pd.Index]:
    if segments is None:
        labels = pd.Series(ALL_CUSTOMERS, index=index)
    else:
        labels = pd.Series(segments).reindex(index).astype(object).fillna("(none)")
    return pd.factorize(labels, sort=True)


#: Label of the all-customer row of :func:`total_interval`.
ALL_CUSTOMERS = "All customers"


def _segment_totals(base: pd.Series, draws, segments, level: float) -> pd.DataFrame:
    """Per segment: ``total`` of ``base`` and the ``level`` interval of the drawn totals.

    With ``segments``, a last row :data:`ALL_CUSTOMERS` comes from the same draws.
    """
    codes, names = _segment_codes(base.index, segments)
    totals = np.column_stack(
        [np.bincount(codes, weights=values, minlength=len(names)) for values in draws]
    )
    total = np.bincount(codes, weights=base.to_numpy(dtype=float), minlength=len(names))
    if segments is not None:
        totals = np.vstack([totals, totals.sum(axis=0)])
        total = np.r_[total, total.sum()]
        names = pd.Index([*names, ALL_CUSTOMERS])
    tail = (1 - level) / 2
    low, high = np.quantile(totals, [tail, 1 - tail], axis=1)
    return pd.DataFrame(
        {
            "total": total,
            "param_low": np.minimum(low, total),
            "param_high": np.maximum(high, total),
        },
        index=pd.Index(names, name="segment"),
    )
