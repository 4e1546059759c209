"""Static covariates in the purchase models: each customer's own parameters from who they are.

A customer's attributes ``x_i`` (numbers as they are, categories one-hot against their most
common level: :class:`CovariateDesign`) scale the parameters each model declares in its
``covariate_links`` (:class:`~cxlib.clv.kinds.PurchaseKind`): a link ``(side, j, sign)`` makes
parameter ``j`` of customer i ``p_j exp(sign * x_i . coef)``, ``coef`` the link's coefficients.

- Pareto/NBD: ``alpha_i = alpha exp(-x_i . purchase)`` and ``beta_i = beta exp(-x_i . dropout)``,
  so the purchase rate and the dropout rate are multiplied by ``exp(x_i . coef)`` (CLVTools,
  pymc-marketing, Fader & Hardie's note on covariates).
- BG/NBD and MBG/NBD: ``alpha_i`` as above; ``a_i = a exp(x_i . dropout_a)``,
  ``b_i = b exp(x_i . dropout_b)`` (pymc-marketing's ``BetaGeoModel``): the dropout Beta's
  two parameters each have their own coefficients, so the mean dropout probability
  ``a_i / (a_i + b_i)`` moves when they differ and only its spread when they are equal.

The fit is exact maximum likelihood on the shared optimiser (:mod:`cxlib.clv._optimise`) over
``log p`` and the coefficients, with the exact gradient from each model's per-row likelihood
(``row_log_likelihood``) by the chain rule; covariates are standardised inside the fit and the
coefficients reported on the original scale (``params_`` is then the customer whose covariates
are all 0: the reference level of every category, 0 for every number).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from scipy.stats import chi2, norm

from cxlib.clv import _optimise
from cxlib.clv._optimise import compress, offenders
from cxlib.clv._rows import dot
from cxlib.settings.validation import DataError, validate_columns

__all__ = ["CovariateDesign", "CovariateFit", "lr_test"]

#: Distinct rows of the sample whose fit starts the full covariate fit when there are more.
_WARM_ROWS = 20_000


class CovariateDesign:
    """Covariate columns of a frame as numbers: categories one-hot against their most common level.

    Numeric columns (not boolean) are used as they are; any other column is read as text and
    each level but the most common one (ties: the first in sorted order) becomes a 0/1 column
    named ``"column=level"``. Missing values are refused, never filled.

    Parameters
    ----------
    columns : list of str
        The frame's covariate columns.

    Attributes
    ----------
    names_ : list of str
        The design's columns, in order (a number keeps its name).
    references_ : dict
        For each categorical column, its reference (most common) level.

    Examples
    --------
    >>> frame = pd.DataFrame({"channel": ["app", "web", "web", "shop"], "age": [30, 41, 25, 60]})
    >>> design = CovariateDesign(["channel", "age"]).fit(frame, "example")
    >>> design.names_, design.references_
    (['channel=app', 'channel=shop', 'age'], {'channel': 'web'})
    >>> design.transform(frame, "example").tolist()[0]
    [1.0, 0.0, 30.0]
    """

    def __init__(self, columns):
        self.columns = list(columns)

    def fit(self, frame: pd.DataFrame, caller: str) -> CovariateDesign:
        """Decide each column's encoding (numbers, or levels against the most common one)."""
        self._check(frame, caller)
        self.levels_: dict[str, list] = {}
        self.references_: dict[str, str] = {}
        names = []
        for column in self.columns:
            values = frame[column]
            if _is_number(values):
                names.append(column)
                continue
            counts = values.astype(str).value_counts()
            ordered = sorted(counts.index, key=lambda level: (-counts[level], level))
            self.references_[column] = ordered[0]
            self.levels_[column] = sorted(ordered[1:])
            names += [f"{column}={level}" for level in self.levels_[column]]
        self.names_ = names
        return self

    def transform(self, frame: pd.DataFrame, caller: str) -> np.ndarray:
        """Return the design matrix of ``frame`` (customers x :attr:`names_`).

        Raises
        ------
        DataError
            When a column is missing, has missing values, a level the fit did not see, or
            text where the fit had numbers; naming the column, values and rows.
        """
        self._check(frame, caller)
        parts = []
        for column in self.columns:
            values = frame[column]
            if column not in self.references_:
                if not _is_number(values):
                    raise DataError(
                        f"{caller}: covariate {column!r} was a number when the model was "
                        f"fitted; got {values.dtype} values"
                    )
                parts.append(values.to_numpy(dtype=np.float64)[:, None])
                continue
            text = values.astype(str)
            known = [self.references_[column], *self.levels_[column]]
            unseen = ~text.isin(known).to_numpy()
            if unseen.any():
                raise DataError(
                    f"{caller}: covariate {column!r} has level(s) the model was not fitted on "
                    f"(known: {known}): {offenders(frame[column].to_frame(), unseen)} "
                    f"values {sorted(text[unseen].unique())[:5]}"
                )
            parts.append(
                np.column_stack([(text == level).to_numpy(float) for level in self.levels_[column]])
                if self.levels_[column]
                else np.empty((len(frame), 0))
            )
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def _check(self, frame, caller):
        validate_columns(frame, self.columns, caller=caller)
        for column in self.columns:
            missing = frame[column].isna().to_numpy()
            if missing.any():
                raise DataError(
                    f"{caller}: covariate {column!r} has {int(missing.sum())} missing "
                    f"value(s); fill or drop those customers first: "
                    f"{offenders(frame, missing)}"
                )
            if _is_number(frame[column]) and not np.isfinite(frame[column].to_numpy(float)).all():
                bad = ~np.isfinite(frame[column].to_numpy(float))
                raise DataError(
                    f"{caller}: covariate {column!r} has infinite values: {offenders(frame, bad)}"
                )


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


@dataclass
class _Layout:
    """Where each link's coefficients sit in the fitted vector ``[log p (4), coef...]``."""

    links: list  # (group, side, param index, sign)
    sizes: list  # coefficients per link

    def split(self, theta):
        out, at = [], len(theta) - sum(self.sizes)
        for size in self.sizes:
            out.append(theta[at : at + size])
            at += size
        return out


def customer_params(base, layout: _Layout, designs: dict, coefs):
    """Each customer's parameters: ``base`` scaled by ``exp(sign * X coef)`` per link.

    Returns a list of four entries, each one number (not scaled) or one value per row.
    """
    params = [float(p) for p in base]
    for (_, side, j, sign), coef in zip(layout.links, coefs, strict=True):
        if len(coef):
            params[j] = params[j] * np.exp(sign * (designs[side] @ coef))
    return params


class _Data:
    """Distinct (frequency, recency, T, covariates) rows, covariates standardised."""

    def __init__(self, x, tx, T, w, designs):
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.designs = designs
        self.total = float(w.sum())

    def scaled(self, scale):
        return _Data(self.x, self.tx * scale, self.T * scale, self.w, self.designs)

    def sample(self, size):
        step = max(1, len(self.x) // size)
        keep = slice(0, None, step)
        w = self.w[keep] * (self.total / self.w[keep].sum())
        designs = {side: X[keep] for side, X in self.designs.items()}
        return _Data(self.x[keep], self.tx[keep], self.T[keep], w, designs)


def log_likelihood(kind, theta, data: _Data, layout: _Layout):
    """Weighted log-likelihood and its exact gradient in ``theta = [log p, coef...]``."""
    base = np.exp(theta[:4])
    params = customer_params(base, layout, data.designs, layout.split(theta))
    ll, grad = kind.row_log_likelihood(params, data.x, data.tx, data.T)
    # d ll / d log p_j = sum_i w_i dll_i/dp_ij p_ij; d / d coef = sign X' (w dll/dp_ij p_ij)
    chain = [data.w * grad[:, j] * params[j] for j in range(4)]
    out = [float(np.sum(chain[j])) for j in range(4)]
    for (_, side, j, sign), size in zip(layout.links, layout.sizes, strict=True):
        if size:
            out.extend(sign * np.einsum("i,ik->k", chain[j], data.designs[side]))
    return float(dot(data.w, ll)), np.asarray(out)


@dataclass
class CovariateFit:
    """A covariate fit: estimates, their covariance and the fit's log-likelihood.

    Attributes
    ----------
    params : ndarray
        The four parameters of a customer whose covariates are all 0 (original scale).
    coef : DataFrame
        Coefficients on the original scale, indexed by design column, one column per link
        (NaN where a covariate is not in that link).
    coef_se : DataFrame
        Their standard errors (from the inverse Hessian), laid out like ``coef``.
    covariance : ndarray
        Covariance of ``[log params, coefficients...]`` on the original scale.
    log_likelihood : float
        At the estimates.
    constant : list of str
        Design columns with one value for every customer (coefficient 0, no interval).
    n_rows : int
        Distinct (frequency, recency, T, covariates) rows fitted.
    """

    params: np.ndarray
    coef: pd.DataFrame
    coef_se: pd.DataFrame
    covariance: np.ndarray
    log_likelihood: float
    constant: list
    n_rows: int


def fit(kind, x, tx, T, designs, names, start, penalizer, caller):
    """Fit ``kind`` with covariates ``designs`` (side -> customers x k), from ``start``.

    ``start`` are the parameters of the fit without covariates (original time scale); the
    coefficients start at 0. Returns a :class:`CovariateFit`.
    """
    links = [(g, side, j, sign) for g, (side, j, sign) in kind.covariate_links.items()]
    layout = _Layout(links, [designs[side].shape[1] for _, side, _, _ in links])
    sides = sorted(designs)
    columns = [designs[side][:, k] for side in sides for k in range(designs[side].shape[1])]
    *distinct, weights, _ = compress(x, tx, T, *columns)
    cx, ctx, cT, rest = distinct[0], distinct[1], distinct[2], distinct[3:]
    mean, sd, raw, at = {}, {}, {}, 0
    for side in sides:
        k = designs[side].shape[1]
        X = np.column_stack(rest[at : at + k]) if k else np.empty((len(cx), 0))
        at += k
        constant = X.min(axis=0) == X.max(axis=0)
        mean[side] = np.where(constant, X[0], X.T @ weights / weights.sum())
        spread = np.sqrt(((X - mean[side]) ** 2).T @ weights / weights.sum())
        sd[side] = np.where(constant, 1.0, spread)
        raw[side] = np.where(constant, 0.0, (X - mean[side]) / sd[side])
    data = _Data(cx, ctx, cT, weights, raw)
    scale = 10.0 / cT.max() if kind.time_params else 1.0
    log_start = np.log(np.asarray(start, dtype=float))
    log_start[list(kind.time_params)] += np.log(scale)
    theta0 = np.concatenate([log_start, np.zeros(sum(layout.sizes))])

    def objective_on(rows):
        def objective_for(pen):
            def objective(theta):
                ll, grad = log_likelihood(kind, theta, rows, layout)
                base = np.exp(theta[:4])
                value = -ll / rows.total + pen * (np.sum(base**2) + np.sum(theta[4:] ** 2))
                grad = -grad / rows.total
                grad[:4] += 2 * pen * base**2
                grad[4:] += 2 * pen * theta[4:]
                return value, grad

            return objective

        return objective_for

    scaled = data.scaled(scale)
    result, ok, _ = _optimise.minimise_with_retry(
        objective_on(scaled),
        theta0,
        penalizer,
        lambda pen: f"{caller}: the covariate fit did not converge; refitted with penalizer={pen}",
        warm_for=objective_on(scaled.sample(_WARM_ROWS)) if len(cx) > 3 * _WARM_ROWS else None,
    )
    if not ok:
        raise DataError(
            f"{caller}: the {kind.display_name} likelihood with covariates has no finite "
            "maximum on this summary; try fewer covariates or a penalizer"
        )
    theta = result.x.copy()
    theta[list(kind.time_params)] -= np.log(scale)
    return _on_original_scale(kind, theta, data, layout, names, mean, sd)


def _on_original_scale(kind, theta, data, layout, names, mean, sd):
    """Estimates and covariance on the covariates' own scale (from the standardised fit)."""
    constant_mask = np.concatenate(
        [np.zeros(4, bool)]
        + [np.all(data.designs[side] == 0, axis=0) for _, side, _, _ in layout.links]
    )

    def nll_gradient(t):
        return -log_likelihood(kind, t, data, layout)[1]

    with np.errstate(all="ignore"):
        hess = _optimise.hessian_from_gradient(nll_gradient, theta)
        free = ~constant_mask
        cov = np.full(hess.shape, np.nan)
        try:
            cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
        except np.linalg.LinAlgError:
            pass
    # theta_original = A theta: coef / sd, log p_j - sign (mean / sd) . coef
    A = np.eye(len(theta))
    at = 4
    for (_, side, j, sign), size in zip(layout.links, layout.sizes, strict=True):
        block = slice(at, at + size)
        A[block, block] = np.diag(1.0 / sd[side])
        A[j, block] = -sign * mean[side] / sd[side]
        at += size
    original = A @ theta
    covariance = A @ cov @ A.T
    se = np.sqrt(np.diag(covariance))
    coef = pd.DataFrame(index=pd.Index(names["all"], name="covariate"), dtype=float)
    coef_se = coef.copy()
    at, constant = 4, []
    for (group, side, _, _), size in zip(layout.links, layout.sizes, strict=True):
        coef[group] = np.nan
        coef_se[group] = np.nan
        coef.loc[names[side], group] = original[at : at + size]
        coef_se.loc[names[side], group] = se[at : at + size]
        flags = constant_mask[at : at + size]
        constant += [n for n, c in zip(names[side], flags, strict=True) if c]
        at += size
    return CovariateFit(
        params=np.exp(original[:4]),
        coef=coef,
        coef_se=coef_se,
        covariance=covariance,
        log_likelihood=log_likelihood(kind, theta, data, layout)[0],
        constant=sorted(set(constant)),
        n_rows=len(data.x),
    )


def warn_constant(constant, caller):
    """Warn that covariates with one value for every customer have no estimable effect."""
    if constant:
        warnings.warn(
            f"{caller}: covariate(s) {constant} take one value for every customer, so their "
            "effect cannot be estimated apart from the baseline: coefficient 0, no interval",
            UserWarning,
            stacklevel=3,
        )


def coef_summary(coef: pd.DataFrame, coef_se: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Long table: link, covariate, estimate, standard error, interval and rate multiplier."""
    z = norm.ppf(0.5 + level / 2)
    rows = []
    for group in coef.columns:
        for name in coef.index:
            estimate = coef.at[name, group]
            if np.isnan(estimate):
                continue
            se = coef_se.at[name, group]
            rows.append(
                {
                    "link": group,
                    "covariate": name,
                    "estimate": estimate,
                    "std_error": se,
                    "lower": estimate - z * se,
                    "upper": estimate + z * se,
                    "multiplier": np.exp(estimate),
                    "multiplier_lower": np.exp(estimate - z * se),
                    "multiplier_upper": np.exp(estimate + z * se),
                }
            )
    return pd.DataFrame(rows).set_index(["link", "covariate"])


def lr_test(log_likelihood_with: float, log_likelihood_without: float, df: int) -> pd.Series:
    """Likelihood-ratio test of the covariates: statistic, degrees of freedom, p-value.

    Examples
    --------
    >>> lr_test(-100.0, -104.0, 2).round(4).to_dict()
    {'statistic': 8.0, 'df': 2.0, 'p_value': 0.0183}
    """
    statistic = max(0.0, 2.0 * (log_likelihood_with - log_likelihood_without))
    p_value = float(chi2.sf(statistic, df)) if df > 0 else float("nan")
    return pd.Series({"statistic": statistic, "df": float(df), "p_value": p_value})


def own_params(model, summary, caller):
    """Return a fitted PurchaseModel's parameters for each customer of ``summary``.

    Four numbers without covariates; with them, the linked parameters as one value per
    customer, from the customer's covariates in ``summary``.
    """
    params = list(model.params_.to_numpy())
    if model.coef_.empty:
        return params
    for group, (side, j, sign) in model._model.covariate_links.items():
        design = model.designs_.get(side)
        if design is not None:
            coef = model.coef_.loc[design.names_, group].to_numpy()
            params[j] = params[j] * np.exp(sign * (design.transform(summary, caller) @ coef))
    return params


def distinct_rows(x, tx, T, params, *extra):
    """Distinct (x, t_x, T, extra..., own parameters) rows and the map back to customers.

    Returns ``([x, t_x, T, extra...], params, inverse)``, ``params`` as given where they are
    numbers, on the distinct rows where they vary by customer.
    """
    varying = [p for p in params if np.ndim(p)]
    *columns, _, inverse = compress(x, tx, T, *extra, *varying)
    out, at = [], 3 + len(extra)
    for p in params:
        if np.ndim(p):
            out.append(columns[at])
            at += 1
        else:
            out.append(p)
    return columns[: 3 + len(extra)], out, inverse


def mean_over_profiles(model, summary, caller, predict):
    """``predict(params)`` for a new customer: with covariates, the mean over ``summary``'s.

    Raises
    ------
    ValueError
        When the model has covariates and no ``summary`` says whose covariates to use.
    """
    if model.coef_.empty:
        return predict(model.params_.to_numpy())
    if summary is None:
        raise ValueError(
            f"{caller}: this model has covariates, so a new customer's purchases depend on "
            "who they are; pass summary= (the customers whose covariates to average over)"
        )
    params = own_params(model, summary, caller)
    varying = [np.asarray(p) for p in params if np.ndim(p)]
    *profiles, counts, _ = compress(*varying)
    total = 0.0
    for i in range(len(counts)):
        values = iter(column[i] for column in profiles)
        one = [next(values) if np.ndim(p) else p for p in params]
        total = total + counts[i] * np.asarray(predict(one))
    return total / counts.sum()


# -- the spend model: Gamma-Gamma with the scale depending on covariates ---------------------


def spend_log_likelihood(log_params, coef, x, m, X):
    """Gamma-Gamma log-likelihood with ``v_i = v exp(X coef)`` and its gradient.

    ``v_i`` scales the Gamma mixing distribution of the spend rate, so a customer's expected
    spend per order ``p v_i / (q - 1)`` is multiplied by ``exp(x_i . coef)``. Returns the total
    and the gradient in ``[log p, log q, log v, coef...]``.
    """
    p, q, v = np.exp(log_params)
    vi = v * np.exp(X @ coef)
    px = p * x
    log_xmv = np.log(x * m + vi)
    psi_pxq = digamma(px + q)
    ll = (
        gammaln(px + q) - gammaln(q) + q * np.log(vi) - gammaln(px)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_xmv
    )  # fmt: skip
    dv = (q / vi - (px + q) / (x * m + vi)) * vi  # d ll_i / d log v_i
    grad = np.concatenate(
        [
            [
                np.sum(x * (psi_pxq - digamma(px) + np.log(m) + np.log(x) - log_xmv)) * p,
                np.sum(psi_pxq - digamma(q) + np.log(vi) - log_xmv) * q,
                np.sum(dv),
            ],
            X.T @ dv,
        ]
    )
    return float(np.sum(ll)), grad


def fit_spend(x, m, X, names, start, penalizer, caller):
    """Fit Gamma-Gamma with covariates ``X`` (repeat customers x k) from ``start`` = (p, q, v).

    Returns ``(params, coef, coef_se, covariance, constant)`` on the covariates' own scale:
    ``params`` those of a customer whose covariates are all 0.
    """
    constant = X.min(axis=0) == X.max(axis=0)
    mean = np.where(constant, X[0], X.mean(axis=0))
    sd = np.where(constant, 1.0, X.std(axis=0))
    Z = np.where(constant, 0.0, (X - mean) / sd)
    scale = 10.0 / m.max()
    sm, n, k = m * scale, len(x), X.shape[1]

    def objective_for(pen):
        def objective(theta):
            ll, grad = spend_log_likelihood(theta[:3], theta[3:], x, sm, Z)
            base = np.exp(theta[:3])
            value = -ll / n + pen * (np.sum(base**2) + np.sum(theta[3:] ** 2))
            grad = -grad / n
            grad[:3] += 2 * pen * base**2
            grad[3:] += 2 * pen * theta[3:]
            return value, grad

        return objective

    theta0 = np.concatenate([np.log([start[0], start[1], start[2] * scale]), np.zeros(k)])
    result, ok, _ = _optimise.minimise_with_retry(
        objective_for,
        theta0,
        penalizer,
        lambda pen: f"{caller}: the covariate fit did not converge; refitted with penalizer={pen}",
    )
    if not ok:
        raise DataError(f"{caller}: the Gamma-Gamma likelihood with covariates has no maximum")
    theta = result.x.copy()
    theta[2] -= np.log(scale)
    with np.errstate(all="ignore"):
        hess = _optimise.hessian_from_gradient(
            lambda t: -spend_log_likelihood(t[:3], t[3:], x, m, Z)[1], theta
        )
        free = np.concatenate([np.ones(3, bool), ~constant])
        cov = np.full(hess.shape, np.nan)
        try:
            cov[np.ix_(free, free)] = np.linalg.inv(hess[np.ix_(free, free)])
        except np.linalg.LinAlgError:
            pass
    A = np.eye(3 + k)
    A[3:, 3:] = np.diag(1.0 / sd)
    A[2, 3:] = -mean / sd
    original, covariance = A @ theta, A @ cov @ A.T
    index = pd.Index(names, name="covariate")
    coef = pd.DataFrame({"spend": original[3:]}, index=index)
    coef_se = pd.DataFrame({"spend": np.sqrt(np.diag(covariance))[3:]}, index=index)
    return (
        np.exp(original[:3]),
        coef,
        coef_se,
        covariance,
        [n for n, c in zip(names, constant, strict=True) if c],
    )
