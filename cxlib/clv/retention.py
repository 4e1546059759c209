"""Contractual customers: the shifted-beta-geometric retention model and contractual CLV.

Fader & Hardie (2007), "How to project customer retention": each customer renews at the end
of every period with their own probability ``1 - theta``, and ``theta ~ Beta(alpha, beta)``
across customers. Fitted on each customer's whole periods of tenure and whether they left, it
projects the retention curve and values subscribers (Fader & Hardie 2010, "Customer-base
valuation in a contractual setting").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from cxlib.clv import _optimise
from cxlib.clv._optimise import FittedModel, compress, offenders
from cxlib.clv.value import ANNUAL_RATE
from cxlib.settings.params import InstanceOf, Interval, check_param
from cxlib.settings.validation import DataError, validate_columns


def sbg_log_likelihood(params, tenure, churned, weights):
    """Total weighted sBG log-likelihood and its exact gradient in ``(alpha, beta)``.

    A churner who left at the end of period t contributes ``P(T = t) = B(alpha + 1, beta + t -
    1) / B(alpha, beta)``; an active customer after t periods ``S(t) = B(alpha, beta + t) /
    B(alpha, beta)``.
    """
    al, be = params
    t = tenure
    psi_ab = digamma(al + be)
    with np.errstate(all="ignore"):
        ll = np.where(churned, betaln(al + 1, be + t - 1), betaln(al, be + t)) - betaln(al, be)
        d_al = (
            np.where(
                churned,
                digamma(al + 1) - digamma(al + be + t),
                digamma(al) - digamma(al + be + t),
            )
            - digamma(al)
            + psi_ab
        )
        d_be = (
            np.where(
                churned,
                digamma(be + t - 1) - digamma(al + be + t),
                digamma(be + t) - digamma(al + be + t),
            )
            - digamma(be)
            + psi_ab
        )
    return float(np.sum(weights * ll)), np.array([np.sum(weights * d_al), np.sum(weights * d_be)])


class RetentionModel(FittedModel):
    """Shifted-beta-geometric retention of contractual customers (Fader & Hardie 2007).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on ``alpha`` and ``beta`` (retried with ``RETRY_PENALIZER`` on failure).

    Attributes
    ----------
    params_ : Series
        ``alpha``, ``beta`` of the Beta distribution of the per-period churn probability.
    standard_errors_ : Series
    covariance_ : DataFrame
        Asymptotic covariance of ``log(params_)``.
    log_likelihood_ : float
    n_customers_ : int

    Examples
    --------
    The "regular" cohort of Fader & Hardie (2007): 1,000 customers, survivors per year.

    >>> survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> frame = cohort_frame(survivors)
    >>> model = RetentionModel().fit(frame)
    >>> model.params_.round(3).tolist()
    [0.704, 1.182]
    >>> model.survival([1, 7]).round(3).tolist()
    [0.627, 0.239]
    """

    def __init__(self, *, penalizer: float = 0.0):
        self.penalizer = penalizer

    def fit(self, frame: pd.DataFrame) -> RetentionModel:
        """Estimate ``alpha``, ``beta`` by maximum likelihood.

        Parameters
        ----------
        frame : DataFrame
            One row per customer: ``tenure`` (whole periods as a customer; for a churner the
            period at whose end they left, 1 = left after the first; for an active customer
            the periods completed) and ``churned`` (bool).

        Raises
        ------
        DataError
            Missing columns, a churner with tenure below 1, a negative or fractional tenure,
            or no churner at all (retention cannot be estimated).
        """
        caller = "RetentionModel.fit"
        tenure, churned = _check_tenure_frame(frame, caller)
        if not churned.any():
            raise DataError(f"{caller}: no customer has churned, so retention cannot be estimated")
        t, c, w, _ = compress(tenure, churned.astype(float))
        c = c.astype(bool)

        def objective_for(penalizer):
            def objective(log_params):
                params = np.exp(log_params)
                ll, grad = sbg_log_likelihood(params, t, c, w)
                value = -ll / w.sum() + penalizer * np.sum(params**2)
                return value, (-grad / w.sum() + 2 * penalizer * params) * params

            return objective

        result, ok, penalizer = _optimise.minimise_with_retry(
            objective_for,
            np.zeros(2),
            self.penalizer,
            lambda penalizer: f"{caller}: refitted with penalizer={penalizer}",
        )
        if not ok:
            raise DataError(f"{caller}: the sBG likelihood has no finite maximum on this data")
        params = np.exp(result.x)
        names = ["alpha", "beta"]
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.penalizer_ = penalizer
        self.log_likelihood_ = sbg_log_likelihood(params, t, c, w)[0]

        def nll_gradient(log_params):
            return -sbg_log_likelihood(np.exp(log_params), t, c, w)[1] * np.exp(log_params)

        se, cov = _optimise.standard_errors(nll_gradient, params)
        self.standard_errors_ = pd.Series(se, index=names, name="standard_error")
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.n_customers_ = int(len(tenure))
        return self

    def survival(self, t) -> np.ndarray:
        """Return the share of a new cohort still customers after ``t`` periods.

        ``S(t) = B(alpha, beta + t) / B(alpha, beta)``.
        """
        self._fitted("RetentionModel.survival")
        al, be = self.params_.to_numpy()
        t = np.asarray(t, dtype=np.float64)
        return np.exp(betaln(al, be + t) - betaln(al, be))

    def churn_probability(self, t) -> np.ndarray:
        """Return the share of a new cohort that leaves at the end of period ``t`` (t >= 1)."""
        self._fitted("RetentionModel.churn_probability")
        al, be = self.params_.to_numpy()
        t = np.asarray(t, dtype=np.float64)
        return np.exp(betaln(al + 1, be + t - 1) - betaln(al, be))

    def retention_rate(self, t) -> np.ndarray:
        """Return the share of the customers present after period ``t - 1`` who renew after ``t``.

        ``(beta + t - 1) / (alpha + beta + t - 1)``: it rises with t (the sorting effect).
        """
        self._fitted("RetentionModel.retention_rate")
        al, be = self.params_.to_numpy()
        t = np.asarray(t, dtype=np.float64)
        return (be + t - 1) / (al + be + t - 1)

    def residual_lifetime(
        self, tenure, discount_rate: float, *, reduction: float = 0.0, periods=None
    ) -> np.ndarray:
        """Return the discounted expected residual lifetime (DERL; Fader & Hardie 2010).

        For a customer still active after ``tenure`` periods: the expected number of further
        periods paid, the next one undiscounted and each later one discounted by
        ``1 + discount_rate`` per period. A customer active after n periods has the posterior
        churn probability ``theta ~ Beta(alpha, beta + n)`` and pays the k-th further period
        with probability ``(1 - theta)^k``, so DERL = sum over k >= 1 of
        ``E[(1 - theta)^k] / (1 + d)^(k - 1)``, which is
        ``B(alpha, beta + n + 1) / B(alpha, beta + n) * 2F1(1, beta + n + 1; alpha + beta + n
        + 1; 1 / (1 + d))``.

        Parameters
        ----------
        tenure : array-like
            Periods completed (n).
        discount_rate : float
            Per-period discount rate, in (0, 1); with ``periods`` also 0.
        reduction : float, default 0.0
            Lowers each customer's own future churn probability to ``(1 - reduction) theta``
            (the retention scenario). With ``g = 1 - reduction``, ``z = g / (g + d)``,
            ``b = beta + n``, ``c = alpha + beta + n``: ``E[(1 - g theta) (1 + d) /
            (d + g theta)]`` expands, with ``1 / (d + g theta) = sum_j z^j (1 - theta)^j /
            (g + d)``, into ``(1 + d) * ((1 - g) / (g + d) + (1 + d) g b / (c (g + d)^2) *
            2F1(1, b + 1; c + 1; z))``: positive terms, the formula above at g = 1.
        periods : int, optional
            Count only the next ``periods`` periods (a horizon), exactly:
            ``E[(1 - g theta)^k]`` is the mean of ``B(alpha, b + J) / B(alpha, b)`` over
            ``J ~ Binomial(k, g)``, since ``1 - g theta = (1 - g) + g (1 - theta)``.

        Examples
        --------
        >>> model = RetentionModel().fit(cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241]))
        >>> derl = model.residual_lifetime(7, 0.10)
        >>> bool(model.residual_lifetime(7, 0.10, reduction=0.05) > derl)
        True
        >>> bool(abs(model.residual_lifetime(7, 0.10, periods=500) - derl) < 1e-9)
        True
        """
        caller = "RetentionModel.residual_lifetime"
        self._fitted(caller)
        finite = periods is not None  # a horizon: no discount is also a finite sum
        closed = "left" if finite else "neither"
        rate = Interval(
            float, 0, 1, closed=closed, words=f"a per-period rate in {'[' if finite else '('}0, 1)"
        )
        check_param("discount_rate", discount_rate, rate, caller=caller)
        check_param("reduction", reduction, Interval(float, 0, 1, closed="left"), caller=caller)
        al, be = self.params_.to_numpy()
        n = np.asarray(tenure, dtype=np.float64)
        b, c, g, d = be + n, al + be + n, 1.0 - reduction, discount_rate
        if finite:
            return _horizon_periods(al, b, g, d, periods, caller)
        if reduction == 0:
            ratio = np.exp(betaln(al, b + 1) - betaln(al, b))
            return ratio * hyp2f1(1.0, b + 1, c + 1, 1 / (1 + d))
        z = g / (g + d)
        tail = (1 + d) * g * b / (c * (g + d) ** 2) * hyp2f1(1.0, b + 1, c + 1, z)
        return (1 + d) * ((1 - g) / (g + d) + tail)


def _horizon_periods(al, b, g, d, periods, caller):
    """Sum over k = 1..periods of E[(1 - g theta)^k] / (1 + d)^(k - 1), theta ~ Beta(al, b)."""
    check_param("periods", periods, Interval(int, 0, None, words="a whole number >= 0"),
                caller=caller)  # fmt: skip
    shape = np.shape(b)
    b = np.atleast_1d(b).ravel()
    # m[:, j] = E[(1 - theta)^j] = B(al, b + j) / B(al, b), j = 0..periods
    j = np.arange(periods + 1)
    moments = np.exp(betaln(al, b[:, None] + j) - betaln(al, b)[:, None])
    weights = np.zeros(periods + 1)  # Binomial(k, g) probabilities, k = 0 first
    weights[0] = 1.0
    total = np.zeros(len(b))
    for k in range(1, periods + 1):
        weights[1 : k + 1] = (1 - g) * weights[1 : k + 1] + g * weights[:k]
        weights[0] *= 1 - g
        total += moments[:, : k + 1] @ weights[: k + 1] / (1 + d) ** (k - 1)
    return total.reshape(shape)


def _check_tenure_frame(frame, caller):
    tenure_frame = InstanceOf(pd.DataFrame, "a DataFrame with 'tenure' and 'churned'")
    check_param("frame", frame, tenure_frame, caller=caller, got=type(frame).__name__)
    validate_columns(frame, ["tenure", "churned"], caller=caller)
    tenure = pd.to_numeric(frame["tenure"], errors="coerce").to_numpy(dtype=float)
    churned_raw = frame["churned"]
    valid_flag = churned_raw.isin([True, False, 0, 1]).to_numpy()
    churned = churned_raw.to_numpy() == True  # noqa: E712 (0/1 and bool alike)
    bad = (
        ~np.isfinite(tenure)
        | (tenure < 0)
        | (tenure != np.round(tenure))
        | ~valid_flag
        | (churned & (tenure < 1))
    )
    if bad.any():
        raise DataError(
            f"{caller}: {int(bad.sum())} row(s) need a whole tenure >= 0 (>= 1 for churners) "
            f"and a true/false 'churned': {offenders(frame, bad)}"
        )
    if len(tenure) == 0:
        raise DataError(f"{caller}: the frame has no customers")
    return tenure, churned


def cohort_frame(survivors) -> pd.DataFrame:
    """One row per customer of a cohort from its survivors at the end of each period.

    ``survivors[0]`` is the cohort's size, ``survivors[t]`` the customers left after period t.
    Customers lost during period t get ``tenure = t``, ``churned = True``; the last survivors
    ``tenure = len(survivors) - 1``, ``churned = False``.

    Examples
    --------
    >>> cohort_frame([10, 7, 6]).groupby(["tenure", "churned"]).size().to_dict()
    {(1, True): 3, (2, False): 6, (2, True): 1}
    """
    survivors = np.asarray(survivors, dtype=np.int64)
    lost = -np.diff(survivors)
    if (lost < 0).any():
        raise DataError("cohort_frame: survivors must not increase from one period to the next")
    periods = np.arange(1, len(survivors))
    tenure = np.r_[np.repeat(periods, lost), np.full(survivors[-1], len(survivors) - 1)]
    churned = np.r_[np.ones(lost.sum(), dtype=bool), np.zeros(survivors[-1], dtype=bool)]
    return pd.DataFrame({"tenure": tenure, "churned": churned})


def retention_curve(frame: pd.DataFrame, model: RetentionModel | None = None) -> pd.DataFrame:
    """Observed retention by period (product-limit), and the sBG projection when given a model.

    Customers still active after ``tenure`` periods are censored there, so cohorts of different
    ages combine as in a Kaplan-Meier curve: ``survival(t) = prod over s <= t of
    (1 - churned(s) / at_risk(s))``, where ``at_risk(s)`` counts the customers whose tenure
    reaches s (they were customers during period s) and ``churned(s)`` those who left at its end.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (0 .. the longest tenure): ``at_risk``, ``churned``,
        ``observed_survival``, and ``projected_survival`` when ``model`` is given.

    Examples
    --------
    >>> frame = cohort_frame([1000, 631, 468])
    >>> retention_curve(frame)["observed_survival"].round(3).tolist()
    [1.0, 0.631, 0.468]
    """
    tenure, churned = _check_tenure_frame(frame, "retention_curve")
    whole = tenure.astype(np.int64)
    periods = np.arange(whole.max() + 1)
    lost = np.bincount(whole[churned], minlength=len(periods))
    at_risk = np.bincount(whole, minlength=len(periods))[::-1].cumsum()[::-1]
    at_risk[0] = len(whole)
    hazard = np.divide(lost, at_risk, out=np.zeros(len(periods)), where=at_risk > 0)
    curve = pd.DataFrame(
        {"at_risk": at_risk, "churned": lost, "observed_survival": np.cumprod(1 - hazard)},
        index=pd.Index(periods, name="period"),
    )
    if model is not None:
        curve["projected_survival"] = model.survival(periods)
    return curve


def contractual_value(
    frame: pd.DataFrame,
    model: RetentionModel,
    *,
    value_per_period,
    discount_rate: float = 0.10,
    periods_per_year: float = 12,
    retention_gain: float = 0.0,
    horizon_months: int | None = None,
) -> pd.DataFrame:
    """Contractual CLV: discounted expected future periods x the margin of each period.

    Active customers are worth ``value_per_period`` x their discounted expected residual
    lifetime (:meth:`RetentionModel.residual_lifetime`); customers who churned are worth 0.

    Parameters
    ----------
    frame : DataFrame
        ``tenure`` and ``churned`` per customer (as for :meth:`RetentionModel.fit`).
    model : RetentionModel
        Fitted on the same periods.
    value_per_period : float, str or array
        Margin per period: one number, the name of a column of ``frame``, or one value per
        row of ``frame``.
    discount_rate : float, default 0.10
        Annual discount rate, converted to ``periods_per_year`` periods.
    periods_per_year : float, default 12
        Periods per year (12 for monthly contracts).
    retention_gain : float, default 0.0
        Lowers each active customer's own future churn probability by this relative amount
        (their posterior ``theta ~ Beta(alpha, beta + tenure)`` scaled by ``1 - gain``): the
        retention scenario (:func:`cxlib.clv.contractual_retention_scenario`).
    horizon_months : int, optional
        Count only the periods paid within this many months (the renewals due by then);
        default: the whole remaining lifetime.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: ``survival`` (P(still a customer) at the next renewal),
        ``residual_lifetime`` (discounted periods), ``clv``.

    Examples
    --------
    >>> frame = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> model = RetentionModel().fit(frame)
    >>> values = contractual_value(frame, model, value_per_period=100.0, periods_per_year=1)
    >>> round(float(values["clv"].max()), 1)
    684.2
    """
    caller = "contractual_value"
    tenure, churned = _check_tenure_frame(frame, caller)
    check_param("discount_rate", discount_rate, ANNUAL_RATE, caller=caller)
    if isinstance(value_per_period, str):
        validate_columns(frame, [value_per_period], caller=caller)
        margin = pd.to_numeric(frame[value_per_period], errors="coerce").to_numpy(dtype=float)
    elif np.ndim(value_per_period) > 0:  # one margin per customer, in the frame's order
        margin = np.asarray(value_per_period, dtype=float)
        if margin.shape != (len(frame),):
            raise ValueError(
                f"{caller}: value_per_period has {margin.size} values for {len(frame)} customers"
            )
    else:
        margin = np.full(len(frame), float(value_per_period))
    per_period = (1 + discount_rate) ** (1 / periods_per_year) - 1
    options = {"reduction": retention_gain}
    if horizon_months is None:
        per_period = max(per_period, 1e-12)
    else:
        months = Interval(int, 1, None, words="a whole number >= 1")
        check_param("horizon_months", horizon_months, months, caller=caller)
        options["periods"] = int(np.floor(horizon_months * periods_per_year / 12 + 1e-9))
    distinct, inverse = np.unique(tenure, return_inverse=True)
    derl = model.residual_lifetime(distinct, per_period, **options)[inverse]
    al, be = model.params_.to_numpy()
    renew = 1 - (1 - retention_gain) * al / (al + be + tenure)
    residual = np.where(churned, 0.0, derl)
    return pd.DataFrame(
        {
            "survival": np.where(churned, 0.0, renew),
            "residual_lifetime": residual,
            "clv": margin * residual,
        },
        index=frame.index,
    )


def contractual_total_interval(
    frame: pd.DataFrame,
    model: RetentionModel,
    *,
    value_per_period,
    segments: pd.Series | None = None,
    n_draws: int = 200,
    level: float = 0.90,
    seed: int = 0,
    discount_rate: float = 0.10,
    periods_per_year: float = 12,
) -> pd.DataFrame:
    """Total contractual CLV per segment, with an interval from the sBG's parameter uncertainty.

    ``log(alpha), log(beta)`` are drawn ``n_draws`` times from their asymptotic normal
    distribution (:attr:`RetentionModel.covariance_`); each draw values every customer with
    :func:`contractual_value`, and the interval is the central ``level`` share of the totals.

    Returns
    -------
    DataFrame
        Indexed by ``segment``, then ``"All customers"``: ``total``, ``param_low``,
        ``param_high``.

    Examples
    --------
    >>> frame = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> model = RetentionModel().fit(frame)
    >>> band = contractual_total_interval(frame, model, value_per_period=100.0, periods_per_year=1)
    >>> row = band.loc["All customers"]
    >>> bool(row["param_low"] < row["total"] < row["param_high"])
    True
    """
    import copy

    from cxlib.clv.value import _segment_totals

    check_param("n_draws", n_draws, Interval(int, 10, None), caller="contractual_total_interval")
    options = dict(
        value_per_period=value_per_period,
        discount_rate=discount_rate,
        periods_per_year=periods_per_year,
    )
    base = contractual_value(frame, model, **options)["clv"]
    rng = np.random.default_rng(seed)
    cov = np.nan_to_num(model.covariance_.to_numpy())
    draws = np.exp(rng.multivariate_normal(np.log(model.params_.to_numpy()), cov, size=n_draws))

    def generate():
        drawn = copy.copy(model)
        for params in draws:
            drawn.params_ = pd.Series(params, index=model.params_.index)
            yield contractual_value(frame, drawn, **options)["clv"].to_numpy()

    return _segment_totals(base, generate(), segments, level)
