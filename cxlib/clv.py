"""Customer lifetime value: RFM summaries, purchase and spend models, validated CLV.

The building blocks follow Fader, Hardie and Lee's "buy 'til you die" models as implemented by
``lifetimes``: a purchase model (BG/NBD, Pareto/NBD or MBG/NBD) for how often a customer buys and
whether they are still active, and a Gamma-Gamma spend model for how much they spend per order.

Every analysis starts from :func:`rfm_summary`, one row per customer. The usual flow::

    holdout = cxlib.clv.holdout_summary(transactions, freq="W")      # last 26 weeks held out
    choice = cxlib.clv.select_model(holdout)                          # BG/NBD, Pareto/NBD, MBG/NBD
    summary = cxlib.clv.rfm_summary(transactions, freq="W")          # all the data
    purchases = cxlib.clv.PurchaseModel(choice.kind).fit(summary)
    spend = cxlib.clv.SpendModel().fit(summary)
    values = cxlib.clv.customer_value(summary, purchases, spend, horizon_months=12)
    cxlib.clv.segment_value(values, segments)                         # totals with intervals
    cxlib.clv.retention_scenario(summary, purchases, spend, retention_gain=0.05)

Purchase models are fitted on the distinct (frequency, recency, T) rows weighted by their
counts, so a million customers fit in about a second; predictions use numerically stable
formulas and are finite for every customer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib._clv_headlines import clv_headlines
from cxlib._validation import (
    DataError,
    format_offenders,
    validate_columns,
)
from cxlib.customers import (
    DEFAULT_HOLDOUT_WEEKS,
    FREQUENCIES,
    NET_SPEND_TOLERANCE,
    _check_freq,
    _clean_transactions,
    _factorize_ids,
    _period_ordinal,
    _positive_periods,
    _to_timestamp,
    default_calibration_end,
    rfm_summary,
)

__all__ = [
    "CustomerValueFit",
    "DEFAULT_HOLDOUT_WEEKS",
    "DEFAULT_SPEND_CORRELATION_MAX",
    "FREQUENCIES",
    "HoldoutValidation",
    "ModelSelection",
    "NET_SPEND_TOLERANCE",
    "PERIODS_PER_MONTH",
    "PURCHASE_KINDS",
    "PurchaseModel",
    "RETRY_PENALIZER",
    "RetentionScenario",
    "SELECTION_CRITERIA",
    "SpendModel",
    "clv_headlines",
    "customer_value",
    "default_calibration_end",
    "fit_customer_value",
    "holdout_summary",
    "lower_dropout",
    "retention_scenario",
    "rfm_matrix",
    "rfm_summary",
    "segment_value",
    "select_model",
    "top_share",
    "tracking",
    "validate_holdout",
    "value_concentration",
]


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


def _guarded(objective, gradient):
    """Wrap an objective (and its gradient, or None) so the optimiser never sees NaN.

    A non-finite objective becomes ``inf`` and NaN gradient entries become 0, with numpy's
    floating-point warnings silenced while they are evaluated.
    """

    def safe(log_params):
        with np.errstate(all="ignore"):
            value = objective(log_params)
        return float(value) if np.isfinite(value) else np.inf

    if gradient is None:
        return safe, None

    def safe_grad(log_params):
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.asarray(gradient(log_params), dtype=float), nan=0.0)

    return safe, safe_grad


def _minimise_with_retry(objective_for, start, penalizer, retry_message):
    """:func:`_minimise` at ``penalizer``; when it fails, once more at ``RETRY_PENALIZER``.

    ``objective_for(penalizer)`` returns ``(objective, gradient)``. A successful retry warns
    with ``retry_message(penalizer)`` (attributed to the caller of the fit method). Returns
    ``(result, ok, penalizer used)``.
    """
    penalizer = float(penalizer)
    result, ok = _minimise(*objective_for(penalizer), start)
    if not ok and penalizer < RETRY_PENALIZER:
        penalizer = RETRY_PENALIZER
        result, ok = _minimise(*objective_for(penalizer), start)
        if ok:
            warnings.warn(retry_message(penalizer), stacklevel=3)
    return result, ok, penalizer


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

            if kind == "pareto_nbd":
                return _guarded(objective, None)
            return _guarded(objective, autograd.grad(objective))

        result, ok, penalizer = _minimise_with_retry(
            objective_for,
            np.zeros(4),
            self.penalizer,
            lambda penalizer: (
                f"{caller}: the {self.kind} fit did not converge without a penalty; refitted "
                f"with penalizer={penalizer} (parameters are slightly shrunk)"
            ),
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
        self.max_T_ = float(T.max())
        self.frequency_q99_ = int(max(1, np.quantile(x, 0.99)))
        return self

    # -- predictions --------------------------------------------------------------------------

    def _arrays(self, summary, caller):
        self._fitted(caller)
        return _check_summary(summary, caller)

    def _lifetimes_fitter(self):
        """Build a lifetimes fitter carrying ``params_`` (formulas cxlib does not reimplement)."""
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
        """Predict the repeat purchases of a new customer within ``t`` periods of the first one.

        This is lifetimes' ``expected_number_of_purchases_up_to_time``: the conditional
        expectation of a customer with x = t_x = T = 0, computed with the same stable formula.
        """
        self._fitted("PurchaseModel.expected_repeat_purchases")
        t = np.asarray(t, dtype=np.float64)
        zero = np.zeros(t.shape)
        return _conditional_expected(self.kind, self.params_.to_numpy(), t, zero, zero, zero)

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


def _expected_given_alive(kind, params, t, x, tx, T):
    """E[purchases in (T, T + t] | alive at T, x, t_x, T], finite for every customer."""
    from scipy.special import hyp2f1

    t = np.broadcast_to(np.asarray(t, dtype=np.float64), np.shape(x))
    if kind == "pareto_nbd":
        r, alpha, s, beta = params
        with np.errstate(all="ignore"):
            # (r + x)/(alpha + T) * (beta + T)/(s - 1) * (1 - ((beta + T)/(beta + T + t))^(s-1))
            rate = (r + x) / (alpha + T)
            if abs(s - 1) < 1e-9:
                horizon = (beta + T) * np.log1p(t / (beta + T))
            else:
                horizon = (beta + T) / (s - 1) * -np.expm1(-(s - 1) * np.log1p(t / (beta + T)))
            return np.where(t > 0, rate * horizon, 0.0)
    r, alpha, a, b = params
    # lifetimes' formula has (1 - z)^(r+x) 2F1(r+x, b+x; c; z) with huge parameters, which
    # overflows to NaN for frequent customers. Euler's transformation
    # 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the product into
    # (1-z)^(a-1) 2F1(C-A, a-1; C; z), whose first two parameters do not grow with x.
    c = a + b + x - (1.0 if kind == "bgnbd" else 0.0)  # BG/NBD: a+b+x-1; MBG/NBD: a+b+x
    with np.errstate(all="ignore"):
        z = t / (alpha + T + t)
        log_1mz = -np.log1p(t / (alpha + T))
        product = np.exp((a - 1) * log_1mz) * hyp2f1(c - r - x, a - 1, c, z)
        values = c / (a - 1) * (1 - product)
    return np.where(t > 0, values, 0.0)


def _conditional_expected(kind, params, t, x, tx, T):
    """E[purchases in (T, T + t] | x, t_x, T] = P(alive) * E[purchases | alive]."""
    return _p_alive(kind, params, x, tx, T) * _expected_given_alive(kind, params, t, x, tx, T)


# ------------------------------------------------------------------------------------------------
# Spend model
# ------------------------------------------------------------------------------------------------

#: Largest absolute correlation between frequency and average spend (among repeat customers)
#: that :class:`SpendModel` accepts without warning: Gamma-Gamma assumes they are independent.
DEFAULT_SPEND_CORRELATION_MAX = 0.3


class SpendModel:
    """Average spend per order: the Gamma-Gamma model (lifetimes' ``GammaGammaFitter`` likelihood).

    Fitted on customers with at least one repeat purchase. The model assumes that how often a
    customer buys says nothing about how much they spend per order; :meth:`fit` measures the
    correlation between ``frequency`` and ``monetary_value`` and warns when it exceeds
    ``max_correlation`` (the result is kept in ``correlation_`` and ``assumption_ok_``).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty (lifetimes' ``penalizer_coef``).
    max_correlation : float, default DEFAULT_SPEND_CORRELATION_MAX
        Largest acceptable absolute Pearson correlation.

    Attributes
    ----------
    params_ : Series
        ``p, q, v``.
    correlation_ : float
        Pearson correlation of frequency and average spend among repeat customers.
    assumption_ok_ : bool
        ``abs(correlation_) <= max_correlation``.
    n_customers_ : int
        Repeat customers the model was fitted on.

    Examples
    --------
    >>> from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
    >>> model = SpendModel().fit(load_cdnow_summary_data_with_monetary_value())
    >>> model.params_.round(2).tolist()
    [6.25, 3.74, 15.45]
    """

    def __init__(
        self, *, penalizer: float = 0.0, max_correlation: float = DEFAULT_SPEND_CORRELATION_MAX
    ):
        self.penalizer = penalizer
        self.max_correlation = max_correlation

    def __repr__(self) -> str:
        fitted = (
            "" if not hasattr(self, "params_") else f", params={self.params_.round(4).to_dict()}"
        )
        return f"SpendModel(penalizer={self.penalizer}{fitted})"

    def fit(self, summary: pd.DataFrame) -> SpendModel:
        """Estimate ``p, q, v`` from the repeat customers' ``frequency`` and ``monetary_value``.

        Raises
        ------
        DataError
            Fewer than 10 repeat customers, non-positive average spend, or no finite maximum.
        """
        caller = "SpendModel.fit"
        if not np.isfinite(self.penalizer) or self.penalizer < 0:
            raise ValueError(
                "The 'penalizer' parameter of SpendModel must be a non-negative number. "
                f"Got {self.penalizer!r} instead."
            )
        x, m = _check_summary(summary, caller, ("frequency", "monetary_value"))
        repeat = x > 0
        if repeat.sum() < 10:
            raise DataError(
                f"{caller}: {int(repeat.sum())} customer(s) have a repeat purchase; the spend "
                "model needs at least 10"
            )
        bad = repeat & (m <= 0)
        if bad.any():
            raise DataError(
                f"{caller}: {int(bad.sum())} repeat customer(s) have a non-positive "
                "monetary_value; Gamma-Gamma needs positive average spend: "
                f"{format_offenders(pd.Series(summary.index[bad], index=summary.index[bad]))}"
            )
        x, m = x[repeat], m[repeat]
        self.correlation_ = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 else 0.0
        self.assumption_ok_ = bool(abs(self.correlation_) <= self.max_correlation)
        if not self.assumption_ok_:
            warnings.warn(
                f"{caller}: frequency and average spend are correlated "
                f"(r = {self.correlation_:.2f}, above {self.max_correlation}); Gamma-Gamma "
                "assumes independence, so its spend estimates are biased for this client",
                stacklevel=2,
            )
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.special import gammaln

        # lifetimes' GammaGammaFitter likelihood, with its time-free scaling of spend
        scale = 10.0 / m.max()
        sm = m * scale
        n = len(x)

        def objective_for(penalizer):
            def objective(log_params):
                p, q, v = anp.exp(log_params)
                px = p * x
                ll = (
                    gammaln(px + q)
                    - gammaln(q)
                    + q * anp.log(v)
                    - gammaln(px)
                    + (px - 1) * anp.log(sm)
                    + px * anp.log(x)
                    - (px + q) * anp.log(x * sm + v)
                )
                return -anp.sum(ll) / n + penalizer * anp.sum(anp.exp(log_params) ** 2)

            return _guarded(objective, autograd.grad(objective))

        result, ok, penalizer = _minimise_with_retry(
            objective_for,
            np.zeros(3),
            self.penalizer,
            lambda penalizer: (
                f"{caller}: the Gamma-Gamma fit did not converge without a penalty; "
                f"refitted with penalizer={penalizer}"
            ),
        )
        if not ok:
            raise DataError(
                f"{caller}: the Gamma-Gamma likelihood has no finite maximum on "
                f"{len(x)} repeat customers; average spend may be nearly identical for everyone "
                "or dominated by a few outliers"
            )
        p, q, v = np.exp(result.x)
        self.params_ = pd.Series([p, q, v / scale], index=["p", "q", "v"], name="estimate")
        self.penalizer_ = penalizer
        if self.params_["q"] <= 1:
            raise DataError(
                f"{caller}: estimated q = {self.params_['q']:.3f} <= 1, so the mean spend per "
                "order is infinite; average spend has an extremely heavy tail (check for outliers)"
            )
        self.n_customers_ = int(repeat.sum())
        return self

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Predict the average spend per future order, given each customer's history.

        Customers without a repeat purchase get the population mean ``p v / (q - 1)``.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``expected_spend``.
        """
        caller = "SpendModel.expected_spend"
        if not hasattr(self, "params_"):
            raise ValueError(f"{caller}: this SpendModel is not fitted yet; call .fit(summary)")
        x, m = _check_summary(summary, caller, ("frequency", "monetary_value"))
        p, q, v = self.params_.to_numpy()
        population = p * v / (q - 1)
        weight = p * x / (p * x + q - 1)
        values = np.where(x > 0, (1 - weight) * population + weight * m, population)
        return pd.Series(values, index=summary.index, name="expected_spend")


# ------------------------------------------------------------------------------------------------
# Customer value
# ------------------------------------------------------------------------------------------------

#: Periods per month for each ``freq`` (a month is 365.25 / 12 days).
PERIODS_PER_MONTH = {"D": 365.25 / 12, "W": 365.25 / 12 / 7, "M": 1.0}

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
    if not isinstance(horizon_months, int | np.integer) or not 1 <= horizon_months <= 600:
        raise ValueError(
            f"The 'horizon_months' parameter of {caller} must be an integer from 1 to 600. "
            f"Got {horizon_months!r} instead."
        )
    if not 0 <= discount_rate < 1:
        raise ValueError(
            f"The 'discount_rate' parameter of {caller} must be an annual rate in [0, 1). "
            f"Got {discount_rate!r} instead."
        )
    if not 0 < margin <= 1:
        raise ValueError(
            f"The 'margin' parameter of {caller} must be in (0, 1]. Got {margin!r} instead."
        )


def _discounted_purchases(expected_by, horizon_months, discount_rate, freq):
    """(undiscounted, discounted) expected purchases over the horizon, month by month.

    ``expected_by(t)`` returns each customer's expected purchases within ``t`` periods. The
    purchases of month m are discounted by ``(1 + discount_rate) ** (m / 12)`` (annual rate,
    monthly steps; lifetimes' ``customer_lifetime_value`` uses a monthly rate instead).
    """
    per_month = PERIODS_PER_MONTH[freq]
    previous = expected_by(0.0)
    discounted = np.zeros_like(previous)
    for month in range(1, horizon_months + 1):
        current = expected_by(month * per_month)
        discounted = discounted + (current - previous) / (1 + discount_rate) ** (month / 12)
        previous = current
    return previous, discounted


def _acquisition_costs(customers, index, caller):
    costs = pd.Series(np.nan, index=index, name="acquisition_cost")
    if customers is None:
        return costs
    validate_columns(customers, ["customer_id"], caller=caller)
    if "acquisition_cost" not in customers.columns:
        return costs
    known = customers.drop_duplicates("customer_id").set_index("customer_id")["acquisition_cost"]
    return pd.to_numeric(known, errors="coerce").reindex(index).rename("acquisition_cost")


def _value_frame(
    summary,
    alive,
    expected_by,
    spend,
    *,
    horizon_months,
    discount_rate,
    margin,
    freq,
    customers,
    caller,
):
    total, discounted = _discounted_purchases(expected_by, horizon_months, discount_rate, freq)
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
    return frame[VALUE_COLUMNS]


def customer_value(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: SpendModel,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
    customers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Discounted customer lifetime value over a horizon, per customer.

    ``clv`` = margin x expected spend per order x expected purchases of each future month,
    discounted at ``discount_rate`` per year (monthly steps). It is the value of the customer
    from now on: past purchases and the acquisition cost are sunk, so ``clv_net`` (``clv``
    minus ``acquisition_cost``) answers "was this customer worth acquiring", not "is this
    customer worth keeping".

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` (``frequency``, ``recency``, ``T``, ``monetary_value``).
    purchase_model : PurchaseModel
        Fitted on the same periods (``freq``).
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
        acquisition cost is unknown).
    """
    caller = "customer_value"
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    x, tx, T = purchase_model._arrays(summary, caller)
    params = purchase_model.params_.to_numpy()
    kind = purchase_model.kind
    spend = spend_model.expected_spend(summary).to_numpy()
    alive = _p_alive(kind, params, x, tx, T)
    return _value_frame(
        summary,
        alive,
        lambda t: alive * _expected_given_alive(kind, params, t, x, tx, T),
        spend,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
        customers=customers,
        caller=caller,
    )


def _bootstrap_totals(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Totals of ``n_boot`` resamples (with replacement) of ``values``, in memory-bounded blocks."""
    n = len(values)
    if n == 0:
        return np.zeros(n_boot)
    totals = np.empty(n_boot)
    block = max(1, min(n_boot, 5_000_000 // n))
    for start in range(0, n_boot, block):
        stop = min(n_boot, start + block)
        picks = rng.integers(0, n, size=(stop - start, n))
        totals[start:stop] = values[picks].sum(axis=1)
    return totals


def segment_value(
    values: pd.DataFrame,
    segments: pd.Series | None = None,
    *,
    value: str = "clv",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Total and mean value per segment, with bootstrap intervals over customers.

    The interval answers "how much would the total move with another draw of customers like
    these": customers are resampled with replacement within each segment. It does not include
    the uncertainty of the model's parameters.

    Parameters
    ----------
    values : DataFrame
        From :func:`customer_value`, indexed by customer.
    segments : Series, optional
        Segment label per customer (indexed by customer id). Customers without a label are
        grouped as "(none)". When not given, one segment "All customers".
    value : str, default "clv"
        Column of ``values`` to total.
    n_boot : int, default 1000
        Bootstrap resamples.
    seed : int, default 0
        Random seed.
    level : float, default 0.95
        Interval coverage.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (largest total first): ``customers``, ``total``, ``total_low``,
        ``total_high``, ``mean``, ``share`` (of the overall total).
    """
    caller = "segment_value"
    validate_columns(values, [value], caller=caller)
    if not isinstance(n_boot, int | np.integer) or n_boot < 10:
        raise ValueError(
            f"The 'n_boot' parameter of {caller} must be an integer >= 10. Got {n_boot!r} instead."
        )
    if not 0 < level < 1:
        raise ValueError(
            f"The 'level' parameter of {caller} must be in (0, 1). Got {level!r} instead."
        )
    data = values[value].astype(float)
    if data.isna().any():
        raise DataError(f"{caller}: column {value!r} has {int(data.isna().sum())} missing value(s)")
    if segments is None:
        labels = pd.Series("All customers", index=values.index)
    else:
        labels = pd.Series(segments).reindex(values.index).astype(object).fillna("(none)")
    rng = np.random.default_rng(seed)
    rows = []
    tail = (1 - level) / 2
    for label, group in data.groupby(labels, sort=True):
        totals = _bootstrap_totals(group.to_numpy(), n_boot, rng)
        rows.append(
            {
                "segment": label,
                "customers": len(group),
                "total": group.sum(),
                "total_low": np.quantile(totals, tail),
                "total_high": np.quantile(totals, 1 - tail),
                "mean": group.mean(),
            }
        )
    out = pd.DataFrame(rows).set_index("segment").sort_values("total", ascending=False)
    grand = data.sum()
    out["share"] = out["total"] / grand if grand != 0 else np.nan
    return out


def value_concentration(values: pd.DataFrame | pd.Series, *, value: str = "clv") -> pd.DataFrame:
    """Lorenz curve of value: the share of value held by the top x% of customers.

    Returns
    -------
    DataFrame
        ``share_of_customers`` (0..1, most valuable first) and ``share_of_value``, starting at
        (0, 0); negative values count as they are.

    Examples
    --------
    >>> curve = value_concentration(pd.Series([1.0, 1.0, 8.0]))
    >>> curve.round(3).values.tolist()
    [[0.0, 0.0], [0.333, 0.8], [0.667, 0.9], [1.0, 1.0]]
    """
    data = values if isinstance(values, pd.Series) else values[value]
    ordered = np.sort(data.to_numpy(dtype=float))[::-1]
    if len(ordered) == 0 or ordered.sum() == 0:
        raise DataError("value_concentration: no customer value to distribute")
    n = len(ordered)
    return pd.DataFrame(
        {
            "share_of_customers": np.arange(n + 1) / n,
            "share_of_value": np.r_[0.0, np.cumsum(ordered)] / ordered.sum(),
        }
    )


def top_share(values: pd.DataFrame | pd.Series, share: float = 0.2, *, value: str = "clv") -> float:
    """Share of the total value held by the most valuable ``share`` of customers.

    Examples
    --------
    >>> top_share(pd.Series([1.0, 1.0, 1.0, 1.0, 6.0]), 0.2)
    0.6
    """
    if not 0 < share <= 1:
        raise ValueError(
            f"The 'share' parameter of top_share must be in (0, 1]. Got {share!r} instead."
        )
    curve = value_concentration(values, value=value)
    return float(np.interp(share, curve["share_of_customers"], curve["share_of_value"]))


# ------------------------------------------------------------------------------------------------
# Validation on a holdout (Fader & Hardie)
# ------------------------------------------------------------------------------------------------


def holdout_summary(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    calibration_end=None,
    observation_end=None,
    holdout_weeks: int = DEFAULT_HOLDOUT_WEEKS,
) -> pd.DataFrame:
    """:func:`rfm_summary` with a holdout: ``calibration_end`` or, when None, cxlib's default.

    The default leaves the last ``holdout_weeks`` weeks for the holdout
    (:func:`default_calibration_end`). The calibration end used is in
    ``summary.attrs["calibration_end"]``.
    """
    if calibration_end is None:
        calibration_end = default_calibration_end(
            transactions, observation_end=observation_end, holdout_weeks=holdout_weeks
        )
    summary = rfm_summary(
        transactions, freq=freq, observation_end=observation_end, calibration_end=calibration_end
    )
    summary.attrs["calibration_end"] = pd.Timestamp(calibration_end)
    return summary


@dataclass
class HoldoutValidation:
    """How well a purchase model fitted on the calibration period predicts the holdout.

    Attributes
    ----------
    kind : str
        The model.
    by_frequency : DataFrame
        Indexed by calibration ``frequency`` (the last bin is "N+"): ``customers``,
        ``actual`` and ``predicted`` mean holdout purchases per customer.
    actual_total, predicted_total : float
        Holdout purchases of all calibration customers.
    relative_error : float
        ``predicted_total / actual_total - 1``.
    mean_absolute_error : float
        Mean absolute difference per customer.
    """

    kind: str
    by_frequency: pd.DataFrame
    actual_total: float
    predicted_total: float
    relative_error: float
    mean_absolute_error: float


def validate_holdout(
    summary: pd.DataFrame, model: PurchaseModel, *, max_frequency: int = 7
) -> HoldoutValidation:
    """Compare predicted and actual holdout purchases (Fader & Hardie's conditional expectations).

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` with ``calibration_end`` (holdout columns required).
    model : PurchaseModel
        Fitted on the calibration columns of ``summary``.
    max_frequency : int, default 7
        Calibration frequencies at or above it are pooled into one "N+" bin.
    """
    caller = "validate_holdout"
    validate_columns(summary, ["frequency_holdout", "duration_holdout"], caller=caller)
    predicted = model.predict_purchases(summary, summary["duration_holdout"].to_numpy())
    actual = summary["frequency_holdout"].astype(float)
    capped = summary["frequency"].clip(upper=max_frequency).astype(int)
    table = pd.DataFrame({"bin": capped, "actual": actual, "predicted": predicted})
    grouped = table.groupby("bin").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    grouped.index = [str(i) if i < max_frequency else f"{max_frequency}+" for i in grouped.index]
    grouped.index.name = "frequency"
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    return HoldoutValidation(
        kind=model.kind,
        by_frequency=grouped,
        actual_total=actual_total,
        predicted_total=predicted_total,
        relative_error=predicted_total / actual_total - 1 if actual_total > 0 else np.nan,
        mean_absolute_error=float((predicted - actual).abs().mean()),
    )


def tracking(
    transactions: pd.DataFrame,
    model: PurchaseModel,
    *,
    calibration_end,
    observation_end=None,
    freq: str = "W",
) -> pd.DataFrame:
    """Repeat purchases per period, actual versus the model, across calibration and holdout.

    Fader & Hardie's tracking plot: for the customers whose first purchase falls in the
    calibration period, the model's expected repeat purchases in each calendar period are
    ``sum over cohorts of n_cohort * (E[X(k - f)] - E[X(k - 1 - f)])``, with ``f`` the cohort's
    first period and ``E[X(t)]`` the expected repeat purchases ``t`` periods after a first
    purchase. Purchases are counted as in :func:`rfm_summary` (one per customer and period
    with positive net spend).

    Returns
    -------
    DataFrame
        One row per period: ``period_start``, ``actual``, ``predicted``, ``actual_cumulative``,
        ``predicted_cumulative``, ``holdout`` (bool).
    """
    caller = "tracking"
    _check_freq(freq, caller)
    ids, dates, amounts = _clean_transactions(transactions, caller)
    cal_end = _to_timestamp(calibration_end, "calibration_end", caller)
    obs_end = (
        pd.Timestamp(dates.max())
        if observation_end is None
        else _to_timestamp(observation_end, "observation_end", caller)
    )
    if cal_end >= obs_end:
        raise DataError(f"{caller}: calibration_end must be before observation_end")
    codes, _ = _factorize_ids(ids, caller)
    keep = dates <= obs_end.to_datetime64()
    # A purchase is a day with positive net spend (as in rfm_summary); each is then counted in
    # the period of ``freq`` it falls in.
    days = _period_ordinal(dates, "D")
    cust, day, _ = _positive_periods(codes[keep], days[keep], amounts[keep])
    per = _period_ordinal(day.astype("datetime64[D]"), freq)
    first_day = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_day, cust, day)
    first = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, per)
    cal_period = _period_ordinal(np.array([cal_end.to_datetime64()]), freq)[0]
    end_period = _period_ordinal(np.array([obs_end.to_datetime64()]), freq)[0]
    cohort = first <= cal_period
    start_period = per.min()
    span = np.arange(start_period, end_period + 1)
    repeat = (day > first_day[cust]) & cohort[cust]
    actual = np.bincount(per[repeat] - start_period, minlength=len(span))[: len(span)]
    cohorts = np.bincount(first[cohort] - start_period, minlength=len(span))[: len(span)]
    steps = np.arange(len(span))
    curve = model.expected_repeat_purchases(steps.astype(float))  # E[X(t)], t = 0, 1, ...
    cumulative = np.convolve(cohorts, curve)[: len(span)]
    predicted = np.diff(np.r_[0.0, cumulative])
    starts = _period_starts(span, freq)
    return pd.DataFrame(
        {
            "period_start": starts,
            "actual": actual.astype(float),
            "predicted": predicted,
            "actual_cumulative": np.cumsum(actual).astype(float),
            "predicted_cumulative": cumulative,
            "holdout": span > cal_period,
        }
    )


def _period_starts(ordinals: np.ndarray, freq: str) -> pd.DatetimeIndex:
    if freq == "M":
        return pd.DatetimeIndex(ordinals.astype("datetime64[M]").astype("datetime64[ns]"))
    days = ordinals * 7 - 3 if freq == "W" else ordinals
    return pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))


@dataclass
class ModelSelection:
    """Purchase models compared on the holdout, and the one chosen.

    Attributes
    ----------
    kind : str
        The chosen model.
    table : DataFrame
        One row per kind: ``log_likelihood``, ``actual_total``, ``predicted_total``,
        ``relative_error``, ``mean_absolute_error``, ``chosen``.
    models : dict of str to PurchaseModel
        The models fitted on the calibration period.
    validations : dict of str to HoldoutValidation
        Their holdout validations.
    """

    kind: str
    table: pd.DataFrame
    models: dict
    validations: dict

    @property
    def model(self) -> PurchaseModel:
        """The chosen model (fitted on the calibration period)."""
        return self.models[self.kind]

    @property
    def validation(self) -> HoldoutValidation:
        """The chosen model's holdout validation."""
        return self.validations[self.kind]


#: How :func:`select_model` ranks models: absolute relative error of the holdout total.
SELECTION_CRITERIA = ("total", "mae")


def select_model(
    summary: pd.DataFrame,
    *,
    kind: str = "auto",
    kinds=PURCHASE_KINDS,
    criterion: str = "total",
    penalizer: float = 0.0,
) -> ModelSelection:
    """Fit each purchase model on the calibration period and pick one by holdout error.

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` with ``calibration_end`` (see :func:`holdout_summary`).
    kind : {"auto", "bgnbd", "pareto_nbd", "mbgnbd"}, default "auto"
        "auto" chooses by ``criterion``; a model name overrides the choice (all are still
        fitted and reported).
    kinds : sequence of str
        Models to compare.
    criterion : {"total", "mae"}, default "total"
        "total": smallest absolute error of the aggregate holdout purchases; "mae": smallest
        mean absolute error per customer.
    penalizer : float, default 0.0
        Passed to :class:`PurchaseModel`.
    """
    caller = "select_model"
    if kind != "auto" and kind not in PURCHASE_KINDS:
        raise ValueError(
            f"The 'kind' parameter of {caller} must be 'auto' or one of {list(PURCHASE_KINDS)}. "
            f"Got {kind!r} instead."
        )
    if criterion not in SELECTION_CRITERIA:
        raise ValueError(
            f"The 'criterion' parameter of {caller} must be one of {list(SELECTION_CRITERIA)}. "
            f"Got {criterion!r} instead."
        )
    kinds = list(kinds)
    if kind != "auto" and kind not in kinds:
        kinds.append(kind)
    models, validations, rows = {}, {}, []
    for name in kinds:
        try:
            model = PurchaseModel(name, penalizer=penalizer).fit(summary)
        except DataError as exc:
            warnings.warn(f"{caller}: {name} could not be fitted: {exc}", stacklevel=2)
            continue
        check = validate_holdout(summary, model)
        models[name], validations[name] = model, check
        rows.append(
            {
                "kind": name,
                "log_likelihood": model.log_likelihood_,
                "actual_total": check.actual_total,
                "predicted_total": check.predicted_total,
                "relative_error": check.relative_error,
                "mean_absolute_error": check.mean_absolute_error,
            }
        )
    if not rows:
        raise DataError(f"{caller}: none of the purchase models {kinds} could be fitted")
    table = pd.DataFrame(rows).set_index("kind")
    score = table["relative_error"].abs() if criterion == "total" else table["mean_absolute_error"]
    chosen = str(score.idxmin()) if kind == "auto" else kind
    if chosen not in models:
        raise DataError(f"{caller}: the requested model {kind!r} could not be fitted")
    table["chosen"] = table.index == chosen
    return ModelSelection(kind=chosen, table=table, models=models, validations=validations)


# ------------------------------------------------------------------------------------------------
# Scenarios and grids for figures
# ------------------------------------------------------------------------------------------------


def lower_dropout(model: PurchaseModel, reduction: float) -> PurchaseModel:
    """Return a copy of ``model`` whose mean dropout is ``reduction`` (relative) lower.

    BG/NBD and MBG/NBD: the Beta(a, b) prior of the dropout probability keeps its
    concentration ``a + b`` and its mean ``a / (a + b)`` falls by ``reduction``. Pareto/NBD: the
    Gamma(s, beta) dropout rate is scaled by ``1 - reduction`` (``beta / (1 - reduction)``).
    """
    if not 0 <= reduction < 1:
        raise ValueError(
            "The 'reduction' parameter of lower_dropout must be in [0, 1). "
            f"Got {reduction!r} instead."
        )
    params = model.params_
    if model.kind == "pareto_nbd":
        return model.with_params(beta=params["beta"] / (1 - reduction))
    a = params["a"] * (1 - reduction)
    return model.with_params(a=a, b=params["a"] + params["b"] - a)


@dataclass
class CustomerValueFit:
    """Everything :func:`fit_customer_value` fitted, so every report page uses the same values.

    Attributes
    ----------
    summary : DataFrame
        :func:`rfm_summary` of the whole observation period.
    holdout : DataFrame
        :func:`holdout_summary` used to choose the purchase model.
    selection : ModelSelection
        The purchase models compared on the holdout, and the one chosen.
    purchase_model : PurchaseModel
        The chosen kind, refitted on ``summary``.
    spend_model : SpendModel
        Gamma-Gamma, fitted on ``summary``.
    values : DataFrame
        :func:`customer_value` per customer (``clv``, ``clv_net``, ...).
    """

    summary: pd.DataFrame
    holdout: pd.DataFrame
    selection: ModelSelection
    purchase_model: PurchaseModel
    spend_model: SpendModel
    values: pd.DataFrame


def fit_customer_value(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    clv_model: str = "auto",
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    customers: pd.DataFrame | None = None,
    observation_end=None,
    calibration_end=None,
) -> CustomerValueFit:
    """Choose a purchase model on a holdout, refit it on all data, and value every customer.

    The one way the report computes CLV, so the segmentation, NPS and CLV pages agree:

    1. :func:`holdout_summary` (the last :data:`DEFAULT_HOLDOUT_WEEKS` weeks unless
       ``calibration_end`` is given) and :func:`select_model` with ``kind=clv_model``;
    2. the chosen kind refitted on :func:`rfm_summary` of the whole period, and
       :class:`SpendModel` on the same summary;
    3. :func:`customer_value` over ``horizon_months``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    freq : {"D", "W", "M"}, default "W"
        Period length (see :func:`rfm_summary`).
    clv_model : {"auto", "bgnbd", "pareto_nbd", "mbgnbd"}, default "auto"
        "auto" picks the model with the smallest holdout error; a name forces that model.
    horizon_months, discount_rate, margin
        Passed to :func:`customer_value` (``discount_rate`` is annual).
    customers : DataFrame, optional
        With ``acquisition_cost``, adds ``clv_net``.
    observation_end, calibration_end : date-like, optional
        End of the data used, and start of the holdout.

    Returns
    -------
    CustomerValueFit

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=3)
    >>> fit = fit_customer_value(demo.transactions, clv_model="bgnbd")
    >>> fit.purchase_model.kind, fit.values.index.equals(fit.summary.index)
    ('bgnbd', True)
    """
    holdout = holdout_summary(
        transactions, freq=freq, calibration_end=calibration_end, observation_end=observation_end
    )
    selection = select_model(holdout, kind=clv_model)
    summary = rfm_summary(transactions, freq=freq, observation_end=observation_end)
    purchase_model = PurchaseModel(selection.kind).fit(summary)
    spend_model = SpendModel().fit(summary)
    values = customer_value(
        summary,
        purchase_model,
        spend_model,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
        customers=customers,
    )
    return CustomerValueFit(
        summary=summary,
        holdout=holdout,
        selection=selection,
        purchase_model=purchase_model,
        spend_model=spend_model,
        values=values,
    )


@dataclass
class RetentionScenario:
    """What a lower dropout rate is worth.

    Attributes
    ----------
    retention_gain : float
        Relative reduction of the dropout rate.
    base_total, scenario_total : float
        Total CLV without and with the reduction.
    uplift : float
        ``scenario_total - base_total``.
    uplift_share : float
        ``uplift / base_total``.
    values : DataFrame
        Per customer: ``clv`` and ``clv_scenario``.
    params : DataFrame
        Model parameters, columns ``base`` and ``scenario``.
    """

    retention_gain: float
    base_total: float
    scenario_total: float
    uplift: float
    uplift_share: float
    values: pd.DataFrame
    params: pd.DataFrame


def retention_scenario(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: SpendModel,
    *,
    retention_gain: float = 0.05,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
) -> RetentionScenario:
    """Change in total CLV if the dropout rate were ``retention_gain`` (relative) lower.

    Only the future changes: each customer keeps today's probability of being active (from
    ``purchase_model``); their expected purchases while active are recomputed with the lower
    dropout (:func:`lower_dropout`).
    """
    caller = "retention_scenario"
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    if not 0 < retention_gain < 1:
        raise ValueError(
            f"The 'retention_gain' parameter of {caller} must be in (0, 1). "
            f"Got {retention_gain!r} instead."
        )
    options = dict(
        horizon_months=horizon_months, discount_rate=discount_rate, margin=margin, freq=freq
    )
    base = customer_value(summary, purchase_model, spend_model, **options)
    better = lower_dropout(purchase_model, retention_gain)
    x, tx, T = purchase_model._arrays(summary, caller)
    alive = base["p_alive"].to_numpy()
    params = better.params_.to_numpy()
    scenario = _value_frame(
        summary,
        alive,
        lambda t: alive * _expected_given_alive(better.kind, params, t, x, tx, T),
        base["expected_spend"].to_numpy(),
        customers=None,
        caller=caller,
        **options,
    )
    base_total, scenario_total = float(base["clv"].sum()), float(scenario["clv"].sum())
    return RetentionScenario(
        retention_gain=retention_gain,
        base_total=base_total,
        scenario_total=scenario_total,
        uplift=scenario_total - base_total,
        uplift_share=(scenario_total - base_total) / base_total if base_total else np.nan,
        values=pd.DataFrame({"clv": base["clv"], "clv_scenario": scenario["clv"]}),
        params=pd.DataFrame({"base": purchase_model.params_, "scenario": better.params_}),
    )


def rfm_matrix(
    model: PurchaseModel,
    *,
    what: str = "p_alive",
    T: float | None = None,
    max_frequency: int | None = None,
    t: float = 52.0,
) -> pd.DataFrame:
    """P(alive) or expected purchases over a frequency x recency grid, for customers of age T.

    Parameters
    ----------
    model : PurchaseModel
        Fitted.
    what : {"p_alive", "expected_purchases"}
        The quantity.
    T : float, optional
        Customer age in periods; defaults to the largest T the model was fitted on.
    max_frequency : int, optional
        Largest frequency shown; defaults to the 99th percentile of the fitted frequencies.
    t : float, default 52
        Horizon (periods) for "expected_purchases".

    Returns
    -------
    DataFrame
        Index ``frequency`` (0..max_frequency), columns ``recency`` (0..T); NaN where the
        combination is impossible (recency > 0 with frequency 0).
    """
    caller = "rfm_matrix"
    if what not in ("p_alive", "expected_purchases"):
        raise ValueError(
            f"The 'what' parameter of {caller} must be 'p_alive' or 'expected_purchases'. "
            f"Got {what!r} instead."
        )
    model._fitted(caller)
    T = float(model.max_T_ if T is None else T)
    max_frequency = int(model.frequency_q99_ if max_frequency is None else max_frequency)
    freq_grid = np.arange(max_frequency + 1, dtype=float)
    rec_grid = np.arange(int(T) + 1, dtype=float)
    x, tx = np.meshgrid(freq_grid, rec_grid, indexing="ij")
    flat = pd.DataFrame({"frequency": x.ravel(), "recency": tx.ravel(), "T": T})
    if what == "p_alive":
        values = model.p_alive(flat).to_numpy()
    else:
        values = model.predict_purchases(flat, t).to_numpy()
    # A copy: under copy-on-write (pandas 3) to_numpy() returns a read-only view.
    values = values.reshape(x.shape).copy()
    values[(x == 0) & (tx > 0)] = np.nan
    return pd.DataFrame(
        values,
        index=pd.Index(freq_grid.astype(int), name="frequency"),
        columns=pd.Index(rec_grid.astype(int), name="recency"),
    )
