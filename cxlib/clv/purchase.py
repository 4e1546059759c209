"""PurchaseModel: how often customers buy and whether they are still active.

One class for the four "buy 'til you die" models; each model's likelihood and predictions live
in its own module (:mod:`~cxlib.clv.bgnbd`, :mod:`~cxlib.clv.mbgnbd`,
:mod:`~cxlib.clv.pareto_nbd`, :mod:`~cxlib.clv.bgbb`) and all share one optimiser
(:mod:`cxlib.clv._optimise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.clv import _optimise, covariates
from cxlib.clv._optimise import FittedModel, check_summary, compress, offenders
from cxlib.clv._rows import Rows
from cxlib.clv.flags import FitWarning, check, issue
from cxlib.clv.kinds import PurchaseKind, purchase_kind
from cxlib.settings.params import check_param, param_error
from cxlib.settings.validation import DataError

#: Distinct rows of the sample whose fit starts the full fit when there are many more.
_WARM_ROWS = 2_000


#: Fewer expected dropouts per customer than this over the longest observed history: the
#: fitted dropout process is at its bound (see :func:`dropout_at_bound`).
DROPOUT_AT_BOUND = 1e-4
#: P(alive) above this for (nearly) every customer: the model cannot tell active from lapsed.
ALIVE_EVERYONE = 0.99
#: Share of the fitted customers above :data:`ALIVE_EVERYONE` that makes it "(nearly) every".
ALIVE_SHARE = 0.99


class PurchaseModel(FittedModel):
    """How often customers buy and whether they are still active.

    BG/NBD, MBG/NBD and Pareto/NBD model purchases in continuous time (a summary measured in
    periods of ``freq``); BG/BB models discrete opportunities (a summary counted in
    opportunities: ``frequency`` repeat purchases, ``recency`` the opportunity of the last one,
    ``T`` the number of opportunities). cxlib's own log-space likelihoods with exact gradients
    are maximised on the **distinct** (frequency, recency, T) rows weighted by how many customers
    share each, which gives the same estimates as fitting every customer. Predictions are
    finite for every customer.

    Parameters
    ----------
    kind : {"bgnbd", "pareto_nbd", "mbgnbd", "bgbb"}, default "bgnbd"
        The model: a name in the registry (:func:`cxlib.clv.kinds.purchase_kinds`).
    penalizer : float, default 0.0
        L2 penalty on the parameters (lifetimes' ``penalizer_coef``, applied to the parameters
        in the internal time scale where the largest T is 10). When the unpenalised fit fails,
        the fit is retried with ``RETRY_PENALIZER`` and a warning.
    purchase_covariates, dropout_covariates : list of str, optional
        Columns of the summary whose values change each customer's purchase rate and dropout
        (:mod:`cxlib.clv.covariates`: numbers as they are, categories one-hot against their
        most common level). Pareto/NBD: the purchase rate and the dropout rate are multiplied
        by ``exp(x . coef)``. BG/NBD, MBG/NBD: the purchase rate by ``exp(x . purchase)``; the
        dropout Beta's parameters ``a`` and ``b`` by ``exp(x . dropout_a)`` and
        ``exp(x . dropout_b)`` (pymc-marketing's parameterisation). Every prediction then
        reads each customer's covariates from the summary it is given.

    Attributes
    ----------
    params_ : Series
        ``r, alpha, a, b`` (BG/NBD, MBG/NBD), ``r, alpha, s, beta`` (Pareto/NBD) or
        ``alpha, beta, gamma, delta`` (BG/BB); times in the summary's periods.
    standard_errors_ : Series
        Standard errors of ``params_`` from the Hessian of the log-likelihood.
    covariance_ : DataFrame
        Asymptotic covariance of ``log(params_)`` (for parameter-uncertainty intervals).
    log_likelihood_ : float
        Total log-likelihood of the summary at ``params_`` (CDNOW BG/NBD: -9582.4).
    penalizer_ : float
        The penalizer actually used.
    n_customers_, n_rows_ : int
        Customers fitted and distinct (frequency, recency, T) rows.
    warnings_ : list of str
        Why the fit should not be trusted as it is, one sentence each (empty when nothing is
        wrong): the dropout parameters at their bound (:func:`dropout_at_bound`), or P(alive)
        above :data:`ALIVE_EVERYONE` for :data:`ALIVE_SHARE` of the customers or more. Each is
        issued as a ``UserWarning`` by :meth:`fit`.
    flags_ : list of FitWarning
        The same, with the numbers each sentence rests on (:mod:`cxlib.clv.flags`).
    coef_ : DataFrame
        With covariates: coefficients on the covariates' own scale, indexed by covariate (a
        category's level as ``"column=level"``), one column per link (``purchase``,
        ``dropout`` or ``dropout_a``/``dropout_b``), NaN where a covariate is not used; empty
        without covariates. ``params_`` are then those of a customer whose covariates are all 0.
    lr_test_ : Series
        With covariates: the likelihood-ratio test against the same model without them
        (``statistic``, ``df``, ``p_value``, and ``log_likelihood_without``).

    Examples
    --------
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> model = PurchaseModel("bgnbd").fit(load_cdnow_summary())
    >>> model.params_.round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    """

    def __init__(
        self,
        kind: str = "bgnbd",
        *,
        penalizer: float = 0.0,
        purchase_covariates=None,
        dropout_covariates=None,
    ):
        self.kind = kind
        self.penalizer = penalizer
        self.purchase_covariates = purchase_covariates
        self.dropout_covariates = dropout_covariates

    @property
    def _covariate_sides(self) -> dict:
        """``{"purchase": [...], "dropout": [...]}``, the sides that have covariates."""
        sides = {"purchase": self.purchase_covariates, "dropout": self.dropout_covariates}
        return {side: list(cols) for side, cols in sides.items() if cols}

    def _check_params(self):
        purchase_kind(self.kind)
        check_param("penalizer", self.penalizer, _optimise.PENALIZER, caller="PurchaseModel")
        if self._covariate_sides and not self._model.covariate_links:
            raise ValueError(
                f"PurchaseModel: {self._model.display_name} takes no covariates yet; "
                f"got {self._covariate_sides}"
            )

    @property
    def _model(self) -> PurchaseKind:
        """The model's entry in the registry (:mod:`cxlib.clv.kinds`)."""
        return purchase_kind(self.kind)

    def _check_fit_summary(self, summary, caller):
        x, tx, T = check_summary(summary, caller)
        if len(x) == 0:
            raise DataError(f"{caller}: the summary has no customers")
        bad = self._model.invalid_rows(x, tx, T)
        if bad.any():
            raise DataError(
                f"{caller}: {int(bad.sum())} row(s) are not a valid RFM summary (need "
                f"{self._model.summary_rule}, "
                f"recency 0 when frequency is 0): {offenders(summary, bad)}"
            )
        if not (x > 0).any():
            raise DataError(
                f"{caller}: no customer has a repeat purchase, so purchase rates and dropout "
                "cannot be estimated; use a longer observation window or a shorter freq"
            )
        if not (T > 0).any():
            raise DataError(f"{caller}: every customer has T = 0 (all bought in the last period)")
        return x, tx, T

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

        Warns
        -----
        UserWarning
            When the fitted dropout is at its bound (the word "dropout" is in the message;
            :func:`dropout_at_bound`), or P(alive) is above :data:`ALIVE_EVERYONE` for nearly
            every customer; the sentences are kept in ``warnings_``.
        """
        caller = "PurchaseModel.fit"
        self._check_params()
        x, tx, T = self._check_fit_summary(summary, caller)
        cx, ctx, cT, weights, _ = compress(x, tx, T)
        rows = Rows(cx, ctx, cT, weights)
        model = self._model
        # lifetimes' time scaling (largest T = 10) keeps the optimiser well conditioned
        scale = 10.0 / cT.max() if model.time_params else 1.0
        scaled = rows.scaled(scale)

        def objective_for(penalizer, data):
            def objective(log_params):
                params = np.exp(log_params)
                ll, grad = model.log_likelihood(params, data)
                value = -ll / data.total + penalizer * np.sum(params**2)
                return value, (-grad / data.total + 2 * penalizer * params) * params

            return objective

        def objective_on(data):
            return lambda penalizer: objective_for(penalizer, data)

        result, ok, penalizer = _optimise.minimise_with_retry(
            objective_on(scaled),
            np.zeros(4),
            self.penalizer,
            lambda penalizer: (
                f"{caller}: the {self.kind} fit did not converge without a penalty; refitted "
                f"with penalizer={penalizer} (parameters are slightly shrunk)"
            ),
            # many distinct rows (day resolution): start from a fit on a sample of them
            warm_for=objective_on(scaled.sample(_WARM_ROWS)) if len(cx) > 3 * _WARM_ROWS else None,
        )
        if not ok:
            raise DataError(
                f"{caller}: the {self.kind} likelihood has no finite maximum on this summary "
                f"({len(x)} customers, {float((x == 0).mean()):.0%} without a repeat purchase, "
                f"{len(cx)} distinct rows). This happens when nearly nobody repeats, when "
                "nobody seems to drop out (recency close to T for everyone), or with too few "
                "customers; try another kind, a larger penalizer or a longer observation window"
            )
        params = np.exp(result.x)
        params[list(model.time_params)] /= scale
        self._store_fit(params, rows, penalizer, x, T)
        self.coef_ = pd.DataFrame(dtype=float)
        if self._covariate_sides:
            self._fit_covariates(summary, x, tx, T, caller)
        self.flags_ = _fit_flags(self, summary)
        self.warnings_ = issue(self.flags_)
        return self

    def _store_fit(self, params, rows, penalizer, x, T):
        model = self._model
        names = list(model.param_names)
        self.params_ = pd.Series(params, index=names, name="estimate")
        self.penalizer_ = penalizer
        self.log_likelihood_ = model.log_likelihood(params, rows)[0]

        def nll_gradient(log_params):
            return -model.log_likelihood(np.exp(log_params), rows)[1] * np.exp(log_params)

        se, cov_log = _optimise.standard_errors(nll_gradient, params)
        self.standard_errors_ = pd.Series(se, index=names, name="standard_error")
        self.covariance_ = pd.DataFrame(cov_log, index=names, columns=names)
        self.n_customers_ = len(x)
        self.n_rows_ = rows.x.size
        self.max_T_ = float(T.max())
        self.frequency_q99_ = int(max(1, np.quantile(x, 0.99)))

    def _fit_covariates(self, summary, x, tx, T, caller):
        """Refit with the covariates, from the fit without them (kept for the LR test)."""
        self.designs_ = {
            side: covariates.CovariateDesign(cols).fit(summary, caller)
            for side, cols in self._covariate_sides.items()
        }
        designs = {side: d.transform(summary, caller) for side, d in self.designs_.items()}
        for side in ("purchase", "dropout"):
            designs.setdefault(side, np.empty((len(x), 0)))
        names = {side: list(d.names_) for side, d in self.designs_.items()}
        names.setdefault("purchase", [])
        names.setdefault("dropout", [])
        names["all"] = list(dict.fromkeys(names["purchase"] + names["dropout"]))
        without = self.log_likelihood_
        result = covariates.fit(
            self._model, x, tx, T, designs, names, self.params_.to_numpy(), self.penalizer_,
            caller,
        )  # fmt: skip
        param_names = list(self._model.param_names)
        self.params_ = pd.Series(result.params, index=param_names, name="estimate")
        self.coef_, self.coef_se_ = result.coef, result.coef_se
        self.covariance_ = pd.DataFrame(result.covariance[:4, :4], index=param_names,
                                        columns=param_names)  # fmt: skip
        self.standard_errors_ = pd.Series(
            result.params * np.sqrt(np.diag(result.covariance[:4, :4])),
            index=param_names,
            name="standard_error",
        )
        self.log_likelihood_ = result.log_likelihood
        self.n_rows_ = result.n_rows
        df = int(self.coef_.notna().to_numpy().sum()) - len(result.constant)
        self.lr_test_ = pd.concat(
            [
                covariates.lr_test(result.log_likelihood, without, df),
                pd.Series({"log_likelihood_without": without}),
            ]
        )
        covariates.warn_constant(result.constant, caller)

    def coef_summary(self, level: float = 0.95) -> pd.DataFrame:
        """Covariate effects: estimate, standard error, interval, and as rate multipliers.

        Returns
        -------
        DataFrame
            Indexed by (link, covariate): ``estimate``, ``std_error`` (from the inverse
            Hessian), ``lower``/``upper`` (``level`` Wald interval), and ``multiplier``,
            ``multiplier_lower``, ``multiplier_upper`` = ``exp`` of those: the factor on the
            purchase (dropout) rate, or on a dropout Beta parameter, per unit of the covariate.
        """
        self._fitted("PurchaseModel.coef_summary")
        if self.coef_.empty:
            raise ValueError("PurchaseModel.coef_summary: this model has no covariates")
        return covariates.coef_summary(self.coef_, self.coef_se_, level)

    # -- predictions --------------------------------------------------------------------------

    def _arrays(self, summary, caller):
        self._fitted(caller)
        return check_summary(summary, caller)

    def _customer_params(self, summary, caller):
        """Each customer's parameters: four numbers, or per-customer arrays with covariates."""
        return covariates.own_params(self, summary, caller)

    def _distinct(self, summary, caller, *extra):
        """Distinct (x, t_x, T, extra..., own parameters) rows and the map back to customers."""
        x, tx, T = self._arrays(summary, caller)
        return covariates.distinct_rows(x, tx, T, self._customer_params(summary, caller), *extra)

    def _conditional(self, params, t, x, tx, T):
        """E[purchases in (T, T + t] | x, t_x, T] for arrays (natural parameters)."""
        return self._model.conditional_expected(params, t, x, tx, T)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active at the end of the summary window.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``p_alive``, values in [0, 1].
        """
        (cx, ctx, cT), params, inverse = self._distinct(summary, "PurchaseModel.p_alive")
        values = self._model.p_alive(params, cx, ctx, cT)[inverse]
        return pd.Series(values, index=summary.index, name="p_alive")

    def predict_purchases(self, summary: pd.DataFrame, t) -> pd.Series:
        """Predict the number of purchases in the next ``t`` periods from each customer's history.

        Parameters
        ----------
        summary : DataFrame
            ``frequency``, ``recency``, ``T`` per customer.
        t : float or array-like
            Horizon in periods of the summary's ``freq`` (opportunities for BG/BB): one
            number, or one value per customer.

        Returns
        -------
        Series
            Indexed like ``summary``, named ``expected_purchases``; always finite.
        """
        caller = "PurchaseModel.predict_purchases"
        x, _, _ = self._arrays(summary, caller)
        t = _check_horizon(t, len(x), caller)
        (cx, ctx, cT, ct), params, inverse = self._distinct(
            summary, caller, np.broadcast_to(t, x.shape)
        )
        values = self._conditional(params, ct, cx, ctx, cT)[inverse]
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def expected_repeat_purchases(self, t, summary=None) -> np.ndarray:
        """Predict the repeat purchases of a new customer within ``t`` periods of the first one.

        This is lifetimes' ``expected_number_of_purchases_up_to_time``: the conditional
        expectation of a customer with x = t_x = T = 0, computed with the same stable formula.
        With covariates, the mean over new customers with the covariates of ``summary``'s
        customers (required then).
        """
        caller = "PurchaseModel.expected_repeat_purchases"
        self._fitted(caller)
        t = np.asarray(t, dtype=np.float64)
        zero = np.zeros(t.shape)
        return covariates.mean_over_profiles(
            self, summary, caller, lambda p: self._conditional(p, t, zero, zero, zero)
        )

    def purchase_probability(self, n, t, summary=None) -> np.ndarray:
        """Return P(X(t) = n), the probability of exactly ``n`` repeat purchases in (0, t].

        For a new customer, within ``t`` periods of the first purchase: BG/NBD (Fader,
        Hardie & Lee 2005, equation 8), Pareto/NBD, MBG/NBD (Batislam, Denizel &
        Filiztekin 2007), or BG/BB, where ``t`` counts whole opportunities (Fader, Hardie &
        Shang 2010, equation 7). With covariates, the mean over new customers with the
        covariates of ``summary``'s customers (required then).

        Examples
        --------
        >>> from cxlib.data.datasets import load_cdnow_summary
        >>> model = PurchaseModel().fit(load_cdnow_summary())
        >>> model.purchase_probability([0, 1, 2], 39.0).round(3).tolist()
        [0.574, 0.199, 0.085]
        """
        caller = "PurchaseModel.purchase_probability"
        self._fitted(caller)
        n = np.asarray(n, dtype=np.float64)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise param_error("n", n, "whole numbers >= 0", caller=caller)
        t = _check_horizon(t, 0, caller)
        model = self._model
        if model.counts_opportunities and np.any(np.asarray(t) != np.round(t)):
            raise ValueError(
                f"{caller}: {model.display_name} counts whole opportunities; got t={t!r}"
            )
        return covariates.mean_over_profiles(
            self, summary, caller, lambda p: model.purchase_probability(p, n, t)
        )

    def with_params(self, **params) -> PurchaseModel:
        """Return a copy with some parameters replaced."""
        self._fitted("PurchaseModel.with_params")
        unknown = sorted(set(params) - set(self.params_.index))
        if unknown:
            raise ValueError(
                f"The parameters of PurchaseModel.with_params must be among "
                f"{list(self.params_.index)}. Got {unknown} instead."
            )
        other = PurchaseModel(self.kind, penalizer=self.penalizer)
        other.__dict__.update(self.__dict__)
        other.params_ = self.params_.copy()
        for name, value in params.items():
            other.params_[name] = float(value)
        return other


def _check_horizon(t, n_customers, caller):
    t = np.asarray(t, dtype=np.float64)
    if t.ndim > 1 or (t.ndim == 1 and n_customers and len(t) != n_customers):
        must = f"a number or one value per customer ({n_customers})"
        raise param_error("t", t, must, caller=caller, got=f"shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise param_error("t", t, "finite and non-negative", caller=caller)
    return t


@dataclass(frozen=True)
class DropoutBound:
    """A fitted model's dropout process, and whether it is at its bound (:func:`dropout_at_bound`).

    Attributes
    ----------
    mean : float
        Mean dropout: probability per purchase (BG/NBD, MBG/NBD), rate per period
        (Pareto/NBD), probability per opportunity (BG/BB).
    unit : str
        ``"purchase"``, ``"period"`` or ``"opportunity"``.
    expected : float
        Expected dropouts per customer over the longest observed history (``max_T_``).
    formula : str
        How ``expected`` is computed, in the model's parameters.
    parameters : str
        The dropout parameters with their values, for a sentence.
    at_bound : bool
        ``expected < DROPOUT_AT_BOUND``.
    """

    mean: float
    unit: str
    expected: float
    formula: str
    parameters: str
    at_bound: bool


def dropout_at_bound(model: PurchaseModel) -> DropoutBound:
    """Whether a fitted model's dropout process has collapsed onto its no-dropout bound.

    The optimiser maximises the likelihood over the logarithms of the parameters, unbounded
    except that an estimate beyond ``exp(+-25)`` (in the fit's time scale, where the largest T
    is 10) counts as a failed fit. When the data show no dropout, the likelihood keeps rising
    as the dropout process vanishes, towards the no-dropout limit where every model reduces to
    the NBD: ``a -> 0`` or ``b -> inf`` for BG/NBD and MBG/NBD (the Beta(a, b) dropout
    probability per purchase, mean ``a / (a + b)``), ``s -> 0`` or ``beta -> inf`` for
    Pareto/NBD (the Gamma(s, beta) dropout rate per period, mean ``s / beta``), ``gamma -> 0``
    or ``delta -> inf`` for BG/BB (the Beta(gamma, delta) dropout probability per opportunity).
    The likelihood is flat there, so the optimiser stops wherever its gradient tolerance is met
    (``a`` about 1e-9 on a simulated client that nobody leaves), not at one fixed number.

    "At the bound" is therefore read from what the fitted dropout does: it is at its bound when
    it would remove fewer than :data:`DROPOUT_AT_BOUND` (1 in 10,000) of the customers over the
    longest history in the data (``T_max``, ``max_T_``), as each model's
    :meth:`~cxlib.clv.kinds.PurchaseKind.expected_dropouts` computes it (its
    ``dropout_formula``):

    - BG/NBD: ``a / (a + b)`` times the purchases of an average customer over that history,
      ``r / alpha * T_max``;
    - MBG/NBD: the same with one more chance to drop out, ``a / (a + b) * (1 + r / alpha * T_max)``;
    - Pareto/NBD: ``s / beta * T_max``;
    - BG/BB: ``gamma / (gamma + delta) * T_max`` (opportunities).

    A client that nobody leaves gives about 1e-11; CDNOW's fits give 0.3 and more, since a
    real dropout process removes a visible share of customers within the data.

    Examples
    --------
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> bound = dropout_at_bound(PurchaseModel("bgnbd").fit(load_cdnow_summary()))
    >>> bound.at_bound, bound.unit, round(bound.mean, 3)
    (False, 'purchase', 0.246)
    """
    model._fitted("dropout_at_bound")
    kind, p = model._model, model.params_
    params = p.to_numpy()
    expected = kind.expected_dropouts(params, model.max_T_)
    parameters = ", ".join(f"{name} = {p[name]:.3g}" for name in kind.dropout_names)
    return DropoutBound(
        mean=float(kind.mean_dropout(params)),
        unit=kind.dropout_unit,
        expected=float(expected),
        formula=kind.dropout_formula,
        parameters=parameters,
        at_bound=bool(expected < DROPOUT_AT_BOUND),
    )


def _fit_flags(model: PurchaseModel, summary: pd.DataFrame) -> list[FitWarning]:
    """Decide the fitted model's flags (the one place each condition is decided)."""
    flags = []
    name, history = model._model.display_name, model._model.time_units
    bound = dropout_at_bound(model)
    if bound.at_bound:
        flags.append(
            FitWarning(
                "clv_model_warning",
                "Warning on the purchase model",
                f"The {name} fit found no dropout: its dropout parameters are at their bound "
                f"({bound.parameters}; mean dropout {bound.mean:.1e} per {bound.unit}, "
                f"{bound.expected:.1e} expected dropouts per customer over the longest history "
                f"of {model.max_T_:,.0f} {history}), so the model assumes customers never leave "
                "and CLV grows with the horizon. Read CLV as an upper bound; for a client whose "
                "customers do stop buying, check the data (a short or partial history).",
                (
                    check(
                        f"{name} expected dropouts per customer over the longest history "
                        f"({bound.formula})",
                        bound.expected,
                        "<",
                        DROPOUT_AT_BOUND,
                    ),
                ),
            )
        )
    share = float((model.p_alive(summary).to_numpy() > ALIVE_EVERYONE).mean())
    if share >= ALIVE_SHARE:
        flags.append(
            FitWarning(
                "clv_model_warning",
                "Warning on the purchase model",
                f"P(alive) is above {ALIVE_EVERYONE:.0%} for {share:.1%} of the "
                f"{model.n_customers_:,} customers: the {name} model cannot tell active from "
                "lapsed customers" + (" (no dropout in the fit)." if bound.at_bound else "."),
                (
                    check(
                        f"share of customers with P(alive) above {ALIVE_EVERYONE}",
                        share,
                        ">=",
                        ALIVE_SHARE,
                    ),
                ),
            )
        )
    return flags
