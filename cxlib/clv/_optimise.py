"""The one optimiser every cxlib CLV model uses, and the checks and row compression they share.

Models are fitted by maximum likelihood over the logarithms of their (positive) parameters:
BFGS with the model's exact gradient, a Nelder-Mead restart when BFGS fails, and one retry
with a small L2 penalty when neither converges. Fitted models follow scikit-learn's contract
(:class:`FittedModel`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from cxlib.settings.params import InstanceOf, Satisfies, check_param
from cxlib.settings.validation import DataError, format_offenders, validate_columns

#: Penalizer a fit retries with when the unpenalised fit does not converge.
RETRY_PENALIZER = 1e-3

#: What a model's ``penalizer`` must be (PurchaseModel, SpendModel).
PENALIZER = Satisfies(lambda v: bool(np.isfinite(v)) and v >= 0, "a non-negative number")
_SUMMARY = InstanceOf(pd.DataFrame, "a DataFrame from rfm_summary")


class FittedModel(BaseEstimator):
    """scikit-learn's estimator contract for cxlib's models.

    ``get_params``/``set_params``/``clone`` come from :class:`sklearn.base.BaseEstimator`;
    :meth:`_fitted` raises :class:`sklearn.exceptions.NotFittedError` (a ``ValueError``) when a
    prediction is asked of a model that was never fitted.
    """

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def _fitted(self, caller: str) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{caller}: this {type(self).__name__} is not fitted yet; call .fit(...) first"
            )

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 (scikit-learn's name)
        base = super().__repr__(N_CHAR_MAX)
        if not hasattr(self, "params_"):
            return base
        return f"{base[:-1]}, params={self.params_.round(4).to_dict()})"


def check_summary(summary: pd.DataFrame, caller: str, columns=("frequency", "recency", "T")):
    """Return the summary's ``columns`` as float arrays; name rows with missing values."""
    check_param("summary", summary, _SUMMARY, caller=caller, got=type(summary).__name__)
    validate_columns(summary, list(columns), caller=caller)
    values = summary[list(columns)].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataError(
            f"{caller}: {int(bad.sum())} summary row(s) have missing or infinite values: "
            f"{offenders(summary, bad)}"
        )
    return [values[:, i] for i in range(values.shape[1])]


def offenders(frame: pd.DataFrame, bad: np.ndarray) -> str:
    """Format a few index values of ``frame`` where ``bad`` is true, for error messages."""
    return format_offenders(pd.Series(frame.index[bad], index=frame.index[bad]))


def compress(*columns):
    """Distinct rows of the given equal-length arrays, and how many times each occurs.

    Returns ``(distinct columns..., counts, inverse)`` where ``inverse`` maps every input
    row to its distinct row (``distinct[inverse]`` rebuilds the input). Distinct rows come in
    order of first appearance.
    """
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    n = len(arrays[0])
    if n == 0:
        return (*[np.empty(0) for _ in arrays], np.empty(0), np.empty(0, dtype=np.int64))
    # hash each column to codes and fold them pairwise into one code (each fold stays below
    # n ** 2, so int64 never overflows): linear time, no sort of the rows
    codes = pd.factorize(arrays[0], use_na_sentinel=False)[0]
    for array in arrays[1:]:
        other = pd.factorize(array, use_na_sentinel=False)[0]
        codes = pd.factorize(codes * (int(other.max()) + 1) + other)[0]
    size = int(codes.max()) + 1
    first = np.full(size, n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n))
    counts = np.bincount(codes, minlength=size).astype(np.float64)
    distinct = [np.ascontiguousarray(a[first]) for a in arrays]
    return (*distinct, counts, codes.astype(np.int64))


def guarded(objective):
    """Wrap ``objective(log_params) -> (value, gradient)`` so the optimiser never sees NaN.

    A non-finite value becomes ``inf``; NaN gradient entries become 0; numpy's floating-point
    warnings are silenced while it runs.
    """

    def safe(log_params):
        with np.errstate(all="ignore"):
            value, grad = objective(log_params)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(log_params)
        return float(value), np.nan_to_num(np.asarray(grad, dtype=float), nan=0.0)

    return safe


def minimise_with_retry(objective_for, start, penalizer, retry_message, *, warm_for=None):
    """:func:`_minimise` at ``penalizer``; when it fails, once more at ``RETRY_PENALIZER``.

    ``objective_for(penalizer)`` returns ``objective(log_params) -> (value, gradient)``. A
    successful retry warns with ``retry_message(penalizer)`` (attributed to the caller of the
    fit method). ``warm_for(penalizer)``, when given, is the same objective on a sample of the
    rows: its optimum and inverse Hessian start the full fit, which then needs a few
    iterations instead of a few dozen. Returns ``(result, ok, penalizer used)``.
    """
    penalizer = float(penalizer)
    options = _warm_start(warm_for, penalizer, start)
    result, ok = _minimise(guarded(objective_for(penalizer)), **options)
    if not ok and penalizer < RETRY_PENALIZER:
        penalizer = RETRY_PENALIZER
        result, ok = _minimise(guarded(objective_for(penalizer)), start)
        if ok:
            warnings.warn(retry_message(penalizer), stacklevel=3)
    return result, ok, penalizer


def _warm_start(warm_for, penalizer, start):
    """Start point (and inverse Hessian) for the full fit from a fit on a sample of rows."""
    if warm_for is None:
        return {"start": start}
    from scipy.optimize import minimize

    objective = guarded(warm_for(penalizer))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        sample = minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-5})
        if not (np.isfinite(sample.fun) and np.all(np.abs(sample.x) < 25)):
            return {"start": start}
        # the exact Hessian of the sample's objective (per customer, like the full one)
        try:
            hess_inv = np.linalg.inv(hessian_from_gradient(lambda p: objective(p)[1], sample.x))
            np.linalg.cholesky(hess_inv)
        except np.linalg.LinAlgError:
            return {"start": sample.x}
    return {"start": sample.x, "hess_inv0": (hess_inv + hess_inv.T) / 2}


def _minimise(objective, start, hess_inv0=None):
    """Minimise ``objective(log_params) -> (value, gradient)``: BFGS, Nelder-Mead restart."""
    from scipy.optimize import minimize

    def usable(result):
        if result is None or not np.isfinite(result.fun) or np.any(np.abs(result.x) > 25):
            return False
        return result.success or np.max(np.abs(objective(result.x)[1])) < 1e-5

    def value_only(log_params):
        return objective(log_params)[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        options = {"gtol": 1e-7} if hess_inv0 is None else {"gtol": 1e-7, "hess_inv0": hess_inv0}
        best = minimize(objective, start, jac=True, method="BFGS", options=options)
        if usable(best):
            return best, True
        rough = minimize(
            value_only, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6}
        )
        if np.isfinite(rough.fun):
            polish = minimize(objective, rough.x, jac=True, method="BFGS", options={"gtol": 1e-7})
            for candidate in (polish, rough):
                if np.isfinite(candidate.fun) and (
                    not np.isfinite(best.fun) or candidate.fun <= best.fun
                ):
                    best = candidate
    return best, usable(best)


def hessian_from_gradient(gradient, x0, step=1e-6):
    """Hessian at ``x0`` by forward differences of an exact gradient (symmetrised)."""
    n = len(x0)
    g0 = np.asarray(gradient(x0), dtype=float)
    hess = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = step
        hess[i] = (np.asarray(gradient(x0 + e), dtype=float) - g0) / step
    return (hess + hess.T) / 2


def standard_errors(gradient, params: np.ndarray):
    """Return standard errors and the log-parameters' covariance from the Hessian.

    ``gradient(log_params)`` is the gradient of the **negative** total log-likelihood.
    Returns ``(standard errors of params, covariance of log(params))``; NaN when singular.
    """
    with np.errstate(all="ignore"):
        hess = hessian_from_gradient(gradient, np.log(params))
        try:
            cov_log = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov_log = np.full((len(params), len(params)), np.nan)
        se = params * np.sqrt(np.diag(cov_log))
    return se, cov_log
