"""SpendModel: average spend per order, the Gamma-Gamma model.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis".
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cxlib._validation import DataError
from cxlib.clv import _optimise
from cxlib.clv._optimise import FittedModel, check_summary, offenders

#: Largest absolute correlation between frequency and average spend (among repeat customers)
#: that :class:`SpendModel` accepts without warning: Gamma-Gamma assumes they are independent.
DEFAULT_SPEND_CORRELATION_MAX = 0.3


def gamma_gamma_log_likelihood(params, x, m):
    """Total Gamma-Gamma log-likelihood of repeat customers and its exact gradient.

    ``x`` repeat purchases with mean spend ``m``; ``params = (p, q, v)``.
    """
    p, q, v = params
    px = p * x
    log_xmv = np.log(x * m + v)
    psi_pxq = digamma(px + q)
    ll = (
        gammaln(px + q) - gammaln(q) + q * np.log(v) - gammaln(px)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_xmv
    )  # fmt: skip
    grad = np.array(
        [
            np.sum(x * (psi_pxq - digamma(px) + np.log(m) + np.log(x) - log_xmv)),
            np.sum(psi_pxq - digamma(q) + np.log(v) - log_xmv),
            np.sum(q / v - (px + q) / (x * m + v)),
        ]
    )
    return float(np.sum(ll)), grad


class SpendModel(FittedModel):
    """Average spend per order: the Gamma-Gamma model.

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
    covariance_ : DataFrame
        Asymptotic covariance of ``log(params_)``.
    correlation_ : float
        Pearson correlation of frequency and average spend among repeat customers.
    assumption_ok_ : bool
        ``abs(correlation_) <= max_correlation``.
    n_customers_ : int
        Repeat customers the model was fitted on.

    Examples
    --------
    >>> from cxlib.datasets import load_cdnow_summary
    >>> model = SpendModel().fit(load_cdnow_summary())
    >>> model.params_.round(2).tolist()
    [6.25, 3.74, 15.45]
    """

    def __init__(
        self, *, penalizer: float = 0.0, max_correlation: float = DEFAULT_SPEND_CORRELATION_MAX
    ):
        self.penalizer = penalizer
        self.max_correlation = max_correlation

    def _repeat_customers(self, summary, caller):
        x, m = check_summary(summary, caller, ("frequency", "monetary_value"))
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
                f"{offenders(summary, bad)}"
            )
        return x[repeat], m[repeat]

    def _check_correlation(self, x, m, caller):
        self.correlation_ = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 else 0.0
        self.assumption_ok_ = bool(abs(self.correlation_) <= self.max_correlation)
        if not self.assumption_ok_:
            warnings.warn(
                f"{caller}: frequency and average spend are correlated "
                f"(r = {self.correlation_:.2f}, above {self.max_correlation}); Gamma-Gamma "
                "assumes independence, so its spend estimates are biased for this client",
                stacklevel=3,
            )

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
        x, m = self._repeat_customers(summary, caller)
        self._check_correlation(x, m, caller)
        scale = 10.0 / m.max()  # lifetimes' scaling of spend keeps the optimiser conditioned
        sm = m * scale
        n = len(x)

        def objective_for(penalizer):
            def objective(log_params):
                params = np.exp(log_params)
                ll, grad = gamma_gamma_log_likelihood(params, x, sm)
                value = -ll / n + penalizer * np.sum(params**2)
                return value, (-grad / n + 2 * penalizer * params) * params

            return objective

        result, ok, penalizer = _optimise.minimise_with_retry(
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
        params = np.array([p, q, v / scale])
        self.params_ = pd.Series(params, index=["p", "q", "v"], name="estimate")
        self.penalizer_ = penalizer
        if self.params_["q"] <= 1:
            raise DataError(
                f"{caller}: estimated q = {self.params_['q']:.3f} <= 1, so the mean spend per "
                "order is infinite; average spend has an extremely heavy tail (check for outliers)"
            )

        def nll_gradient(log_params):
            grad = gamma_gamma_log_likelihood(np.exp(log_params), x, m)[1]
            return -grad * np.exp(log_params)

        _, cov_log = _optimise.standard_errors(nll_gradient, params)
        self.covariance_ = pd.DataFrame(cov_log, index=["p", "q", "v"], columns=["p", "q", "v"])
        self.n_customers_ = n
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
        self._fitted(caller)
        x, m = check_summary(summary, caller, ("frequency", "monetary_value"))
        values = expected_spend(self.params_.to_numpy(), x, m)
        return pd.Series(values, index=summary.index, name="expected_spend")


def expected_spend(params, x, m):
    """Gamma-Gamma expected spend per order for arrays (natural parameters ``p, q, v``)."""
    p, q, v = params
    population = p * v / (q - 1)
    weight = p * x / (p * x + q - 1)
    return np.where(x > 0, (1 - weight) * population + weight * m, population)
