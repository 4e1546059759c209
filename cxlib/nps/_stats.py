"""Small statistics behind :func:`cxlib.nps.nps_vs_revenue`: means, Welch tests, regressions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def _mean_ci(values: np.ndarray, z: float) -> tuple[float, float, float]:
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(values.mean())
    if n < 2:
        return (mean, math.nan, math.nan)
    half = z * float(values.std(ddof=1)) / math.sqrt(n)
    return (mean, mean - half, mean + half)


def _welch(a: np.ndarray, b: np.ndarray, z: float) -> tuple[float, float, float, float]:
    """Difference of means a - b, its interval and Welch p-value."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return (math.nan,) * 4
    diff = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    if se == 0:
        return (diff, diff, diff, 1.0 if diff == 0 else 0.0)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch-Satterthwaite
    p_value = float(2 * stats.t.sf(abs(diff) / se, dof))
    return (diff, diff - z * se, diff + z * se, p_value)


def _within_segment_effect(frame: pd.DataFrame, metric: str, z: float) -> tuple:
    """Pool the promoter-minus-detractor difference within segments.

    Cochran-Mantel-Haenszel weights ``n_pro * n_det / (n_pro + n_det)``; the variance is the
    sum of squared weights times the within-segment variances.
    """
    num = den = var = 0.0
    pro_means, det_means, weights = [], [], []
    for _, part in frame.groupby("segment", observed=True):
        pro = part.loc[part["category"] == "promoter", metric].to_numpy(float)
        det = part.loc[part["category"] == "detractor", metric].to_numpy(float)
        if len(pro) < 2 or len(det) < 2:
            continue
        w = len(pro) * len(det) / (len(pro) + len(det))
        num += w * (pro.mean() - det.mean())
        var += w**2 * (pro.var(ddof=1) / len(pro) + det.var(ddof=1) / len(det))
        den += w
        pro_means.append(pro.mean())
        det_means.append(det.mean())
        weights.append(w)
    name = f"{metric}_within_segment"
    if den == 0:
        return (name, *(math.nan,) * 7)
    diff, se = num / den, math.sqrt(var) / den
    pro_mean = float(np.average(pro_means, weights=weights))
    det_mean = float(np.average(det_means, weights=weights))
    p_value = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else math.nan
    relative = diff / det_mean if det_mean else math.nan
    return (name, pro_mean, det_mean, diff, diff - z * se, diff + z * se, relative, p_value)


def _detrended(values: pd.Series) -> pd.Series:
    """Residuals of a straight-line fit on position: removes a shared time trend."""
    ok = values.notna().to_numpy()
    out = pd.Series(np.nan, index=values.index)
    if ok.sum() >= 3:
        t = np.arange(len(values), dtype=float)[ok]
        y = values.to_numpy(float)[ok]
        slope, intercept = np.polyfit(t, y, 1)
        out[ok] = y - (intercept + slope * t)
    return out


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS coefficients, HC1 (heteroskedasticity-robust) standard errors and R^2."""
    n, k = x.shape
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    meat = (x * resid[:, None] ** 2).T @ x
    cov = xtx_inv @ meat @ xtx_inv * n / max(n - k, 1)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (resid**2).sum() / total if total > 0 else math.nan
    return beta, np.sqrt(np.clip(np.diag(cov), 0, None)), float(r2)


def _logit(
    y: np.ndarray, x: np.ndarray, *, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray, float]:
    """Unpenalised logistic regression by Newton-Raphson: coefficients, SEs, log-likelihood."""
    beta = np.zeros(x.shape[1])
    ridge = 1e-8 * np.eye(x.shape[1])  # keeps the Hessian invertible under (quasi-)separation
    for _ in range(max_iter):
        eta = np.clip(x @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        hessian = (x * w[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, x.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    eta = np.clip(x @ beta, -30, 30)
    p = 1 / (1 + np.exp(-eta))
    hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
    se = np.sqrt(np.clip(np.diag(np.linalg.inv(hessian)), 0, None))
    loglik = float(
        np.sum(y * np.log(np.clip(p, 1e-12, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-12, 1)))
    )
    return beta, se, loglik


def _cv_auc(y: np.ndarray, x: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of the logistic model (out-of-fold predictions)."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2 or len(y) < 2 * folds:
        return math.nan
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    pred = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        beta, _, _ = _logit(y[~test], x[~test])
        pred[test] = x[test] @ beta
    return float(roc_auc_score(y, pred))


def _design(
    frame: pd.DataFrame, *, with_score: bool, horizon: bool = False, segment: bool = True
) -> tuple[np.ndarray, list[str]]:
    columns = {"intercept": np.ones(len(frame))}
    if with_score:
        columns["score"] = frame["score"].to_numpy(float)
    columns["log_prior_spend"] = np.log1p(frame["prior_spend"].clip(lower=0).to_numpy(float))
    columns["log_prior_orders"] = np.log1p(frame["prior_orders"].to_numpy(float))
    columns["tenure_years"] = frame["tenure_years"].to_numpy(float)
    if horizon:
        columns["years_to_end"] = frame["years_to_end"].to_numpy(float)
    if segment and frame["segment"].nunique() > 1:
        dummies = pd.get_dummies(frame["segment"].astype(str), prefix="segment", drop_first=True)
        for name in dummies.columns:
            columns[name] = dummies[name].to_numpy(float)
    names = list(columns)
    return np.column_stack([columns[c] for c in names]), names


def _spearman(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    """Spearman rank correlation, its p-value and the number of complete pairs."""
    ok = a.notna() & b.notna()
    if ok.sum() < 3:
        return (math.nan, math.nan, int(ok.sum()))
    rho, p_value = stats.spearmanr(a[ok], b[ok])
    return (float(rho), float(p_value), int(ok.sum()))
