"""SpendModel: average spend per order, the Gamma-Gamma model.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cxlib.clv import _optimise
from cxlib.clv import covariates as _covariates
from cxlib.clv._optimise import PENALIZER, FittedModel, check_summary, offenders
from cxlib.clv.flags import FitWarning, check, issue
from cxlib.settings.params import check_param
from cxlib.settings.validation import DataError

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


#: Relative spread of the repeat customers' average spend (``(max - min) / max``) at or below
#: which spend counts as constant: the rounding of an average of equal amounts (e.g. three
#: purchases of 9.99 averaging 9.990000000000002) is about 1e-15, real prices differ by 1e-4
#: and more.
CONSTANT_SPEND_TOLERANCE = 1e-9


def constant_spend(spend) -> float | None:
    """Return the average spend every repeat customer shares, or None when they differ.

    Equal within :data:`CONSTANT_SPEND_TOLERANCE` of the largest (relative spread).

    Examples
    --------
    >>> constant_spend([9.99, 29.97 / 3]), constant_spend([1.0, 2.0])
    (9.99, None)
    """
    m = np.asarray(spend, dtype=float)
    if len(m) == 0 or np.ptp(m) > CONSTANT_SPEND_TOLERANCE * np.abs(m).max():
        return None
    return float(np.round(np.mean(m), 12))


def spend_correlation(frequency, spend) -> tuple[float, str]:
    """Pearson correlation of frequency and average spend, or why it cannot be computed.

    Parameters
    ----------
    frequency, spend : array-like
        The repeat customers' ``frequency`` and ``monetary_value``.

    Returns
    -------
    (float, str)
        ``(r, "")`` when it can be computed; ``(nan, reason)`` when it cannot: fewer than 3
        repeat customers, or every one with the same frequency, or with the same average spend.
        A NaN correlation is never compared with a threshold.

    Examples
    --------
    >>> spend_correlation([1, 2, 3], [1.0, 1.0, 1.0])
    (nan, "every repeat customer's average spend is 1.00")
    """
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(spend, dtype=float)
    if len(x) < 3:
        return np.nan, f"{len(x)} repeat customer(s); a correlation needs at least 3"
    if constant_spend(m) is not None:
        return np.nan, f"every repeat customer's average spend is {m[0]:,.2f}"
    if np.ptp(x) == 0:
        return np.nan, f"every repeat customer has the same frequency, {x[0]:.0f}"
    return float(np.corrcoef(x, m)[0, 1]), ""


class SpendModel(FittedModel):
    """Average spend per order: the Gamma-Gamma model.

    Fitted on customers with at least one repeat purchase. The model assumes that how often a
    customer buys says nothing about how much they spend per order; :meth:`fit` measures the
    correlation between ``frequency`` and ``monetary_value`` and warns when its absolute value
    exceeds ``max_correlation`` (the result is kept in ``correlation_`` and ``assumption_ok_``).

    When every repeat customer's average spend is the same (a log with one amount per purchase,
    e.g. 1.0), there is no spread of spend to learn: no Gamma-Gamma model is fitted, every
    customer's expected spend per order is that constant (``constant_spend_``), and :meth:`fit`
    says so with a ``UserWarning``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty (lifetimes' ``penalizer_coef``).
    max_correlation : float, default DEFAULT_SPEND_CORRELATION_MAX
        Largest acceptable absolute Pearson correlation.
    covariates : list of str, optional
        Columns of the summary whose values scale each customer's spend: the Gamma mixing
        scale ``v_i = v exp(x_i . coef)``, so the expected spend per order ``p v_i / (q - 1)``
        is multiplied by ``exp(x_i . coef)`` (:mod:`cxlib.clv.covariates`: numbers as they
        are, categories one-hot against their most common level, missing values refused).
        ``params_`` are then those of a customer whose covariates are all 0; ``coef_``
        (column ``spend``), :meth:`coef_summary` and ``lr_test_`` as in
        :class:`~cxlib.clv.PurchaseModel`.

    Attributes
    ----------
    params_ : Series
        ``p, q, v`` (NaN when spend is constant: nothing was estimated).
    covariance_ : DataFrame
        Asymptotic covariance of ``log(params_)`` (NaN when spend is constant).
    correlation_ : float
        Pearson correlation of frequency and average spend among repeat customers; NaN when
        it cannot be computed (the reason is in ``correlation_reason_``).
    correlation_reason_ : str
        Why ``correlation_`` cannot be computed; ``""`` when it was.
    assumption_ok_ : bool or None
        ``abs(correlation_) <= max_correlation``; None when the correlation cannot be computed.
    constant_spend_ : float or None
        The average spend of every repeat customer when it is the same for all (within
        :data:`CONSTANT_SPEND_TOLERANCE`), else None.
    n_customers_ : int
        Repeat customers the model was fitted on.
    warnings_ : list of str
        The sentences :meth:`fit` warned with (correlated spend, constant spend); empty when
        nothing is wrong.
    flags_ : list of FitWarning
        The same, with the numbers each rests on (:mod:`cxlib.clv.flags`).

    Examples
    --------
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> model = SpendModel().fit(load_cdnow_summary())
    >>> model.params_.round(2).tolist()
    [6.25, 3.74, 15.45]
    """

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        max_correlation: float = DEFAULT_SPEND_CORRELATION_MAX,
        covariates=None,
    ):
        self.penalizer = penalizer
        self.max_correlation = max_correlation
        self.covariates = covariates

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

    def _check_correlation(self, x, m):
        """Decide the spend flags (the one place): correlated spend, constant spend."""
        self.correlation_, self.correlation_reason_ = spend_correlation(x, m)
        flags = []
        if self.correlation_reason_:
            self.assumption_ok_ = None
        else:
            r = self.correlation_
            self.assumption_ok_ = bool(abs(r) <= self.max_correlation)
            if not self.assumption_ok_:
                flags.append(
                    FitWarning(
                        "spend_model_warning",
                        "Warning on the spend model",
                        f"Frequency and average spend are correlated among the {len(x):,} "
                        f"repeat customers (r = {r:.2f}, |r| above {self.max_correlation}): "
                        "Gamma-Gamma assumes they are independent, so its spend estimates are "
                        "biased for this client.",
                        (
                            check(
                                "absolute correlation of frequency and average spend (|r|)",
                                abs(r),
                                ">",
                                self.max_correlation,
                            ),
                        ),
                    )
                )
        low, high = float(m.min()), float(m.max())
        self.constant_spend_ = constant_spend(m)
        if self.constant_spend_ is not None:
            flags.append(
                FitWarning(
                    "spend_model_warning",
                    "Warning on the spend model",
                    f"Every one of the {len(x):,} repeat customers has the same average spend "
                    f"per purchase ({self.constant_spend_:,.2f}): there is no spread of spend for "
                    "a spend model to learn, so no Gamma-Gamma model is fitted and each "
                    f"customer's expected spend per purchase is {self.constant_spend_:,.2f}.",
                    (
                        check(
                            "lowest and highest average spend of a repeat customer",
                            [low, high],
                            "finite",
                        ),
                        check(
                            "spread (highest minus lowest) of the repeat customers' average spend",
                            high - low,
                            "<=",
                            CONSTANT_SPEND_TOLERANCE * high,
                        ),
                    ),
                )
            )
        self.flags_ = flags

    @property
    def check_text(self) -> str:
        """The independence check in one sentence, for the page (the warning when it fails)."""
        self._fitted("SpendModel.check_text")
        if self.correlation_reason_:
            return (
                "Spend model check: the correlation of frequency and average spend cannot be "
                f"computed ({self.correlation_reason_}), so the spend model's independence "
                "assumption is not checked."
            )
        r, limit = self.correlation_, self.max_correlation
        verdict = (
            "small enough for the spend model's independence assumption"
            if self.assumption_ok_
            else "too large for the spend model's independence assumption"
        )
        return (
            f"Spend model check: among the {self.n_customers_:,} repeat customers, the "
            f"correlation of frequency and average spend is r = {r:.2f} "
            f"({'within' if self.assumption_ok_ else 'beyond'} ±{limit}): {verdict}."
        )

    def fit(self, summary: pd.DataFrame) -> SpendModel:
        """Estimate ``p, q, v`` from the repeat customers' ``frequency`` and ``monetary_value``.

        Raises
        ------
        DataError
            Fewer than 10 repeat customers, non-positive average spend, or no finite maximum.

        Warns
        -----
        UserWarning
            When frequency and average spend are correlated beyond ``max_correlation``, or when
            every repeat customer's average spend is the same (no Gamma-Gamma fit then); the
            sentences are kept in ``warnings_``.
        """
        caller = "SpendModel.fit"
        check_param("penalizer", self.penalizer, PENALIZER, caller="SpendModel")
        x, m = self._repeat_customers(summary, caller)
        self._check_correlation(x, m)
        self.n_customers_ = len(x)
        self.coef_ = pd.DataFrame(dtype=float)
        if self.constant_spend_ is not None:
            self._store_constant()
        else:
            self._fit_gamma_gamma(x, m, caller)
            if self.covariates:
                self._fit_covariates(summary, x, m, caller)
        self.warnings_ = issue(self.flags_)
        return self

    def _fit_covariates(self, summary, x, m, caller):
        """Refit with the covariates of the repeat customers, from the fit without them."""
        repeat = summary[summary["frequency"].to_numpy() > 0]
        self.design_ = _covariates.CovariateDesign(self.covariates).fit(repeat, caller)
        X = self.design_.transform(repeat, caller)
        without = gamma_gamma_log_likelihood(self.params_.to_numpy(), x, m)[0]
        params, coef, coef_se, cov, constant = _covariates.fit_spend(
            x, m, X, self.design_.names_, self.params_.to_numpy(), self.penalizer_, caller
        )
        names = ["p", "q", "v"]
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.covariance_ = pd.DataFrame(cov[:3, :3], index=names, columns=names)
        self.coef_, self.coef_se_ = coef, coef_se
        with_cov = _covariates.spend_log_likelihood(
            np.log(params), coef["spend"].to_numpy(), x, m, X
        )[0]
        df = len(coef) - len(constant)
        self.lr_test_ = pd.concat(
            [
                _covariates.lr_test(with_cov, without, df),
                pd.Series({"log_likelihood_without": without}),
            ]
        )
        _covariates.warn_constant(constant, caller)

    def coef_summary(self, level: float = 0.95) -> pd.DataFrame:
        """Covariate effects on spend: estimate, standard error, interval, multiplier."""
        self._fitted("SpendModel.coef_summary")
        if self.coef_.empty:
            raise ValueError("SpendModel.coef_summary: this model has no covariates")
        return _covariates.coef_summary(self.coef_, self.coef_se_, level)

    def _store_constant(self):
        names = ["p", "q", "v"]
        self.params_ = pd.Series(np.nan, index=names, name="estimate")
        self.penalizer_ = self.penalizer
        self.covariance_ = pd.DataFrame(np.nan, index=names, columns=names)

    def _fit_gamma_gamma(self, x, m, caller):
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

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Predict the average spend per future order, given each customer's history.

        Customers without a repeat purchase get the population mean ``p v / (q - 1)``; with
        constant spend, every customer gets ``constant_spend_``.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``expected_spend``.
        """
        caller = "SpendModel.expected_spend"
        self._fitted(caller)
        x, m = check_summary(summary, caller, ("frequency", "monetary_value"))
        if self.constant_spend_ is not None:
            values = np.full(len(x), self.constant_spend_)
        elif not self.coef_.empty:
            p, q, v = self.params_.to_numpy()
            coef = self.coef_["spend"].to_numpy()
            v_own = v * np.exp(self.design_.transform(summary, caller) @ coef)
            values = expected_spend((p, q, v_own), x, m)
        else:
            values = expected_spend(self.params_.to_numpy(), x, m)
        return pd.Series(values, index=summary.index, name="expected_spend")


def expected_spend(params, x, m):
    """Gamma-Gamma expected spend per order for arrays (natural parameters ``p, q, v``)."""
    p, q, v = params
    population = p * v / (q - 1)
    weight = p * x / (p * x + q - 1)
    return np.where(x > 0, (1 - weight) * population + weight * m, population)
