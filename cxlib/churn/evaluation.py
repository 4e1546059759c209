"""How the churn model is judged: held-out and out-of-time metrics against two baselines."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from cxlib.churn._common import DEFAULT_GBM_PARAMS
from cxlib.churn.features import _feature_label

#: The metrics reported for each (evaluation, model) row of the comparison table.
METRIC_KEYS = ("roc_auc", "pr_auc", "top_decile_lift", "brier", "n", "churn_rate")


def _signed_log(x):
    return np.sign(x) * np.log1p(np.abs(x))


def _logistic(seed: int):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        FunctionTransformer(_signed_log),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=2000),
    )


def _gbm(seed: int, params: dict | None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    options = {**DEFAULT_GBM_PARAMS, **(params or {})}
    return HistGradientBoostingClassifier(random_state=seed, **options)


def _top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    n_top = max(int(math.ceil(0.1 * len(y))), 1)
    order = np.argsort(-score, kind="stable")
    base = y.mean()
    return float(y[order[:n_top]].mean() / base) if base > 0 else float("nan")


def _metrics(y: np.ndarray, score: np.ndarray, probability: bool = True) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    out = {
        "roc_auc": float("nan"),
        "pr_auc": float("nan"),
        "top_decile_lift": float("nan"),
        "brier": float("nan"),
        "n": int(len(y)),
        "churn_rate": float(np.mean(y)) if len(y) else float("nan"),
    }
    if len(np.unique(y)) == 2:
        out["roc_auc"] = float(roc_auc_score(y, score))
        out["pr_auc"] = float(average_precision_score(y, score))
        out["top_decile_lift"] = _top_decile_lift(y, score)
        if probability:
            out["brier"] = float(brier_score_loss(y, score))
    return out


def _gains(y: np.ndarray, score: np.ndarray, model: str, n_points: int = 50) -> pd.DataFrame:
    order = np.argsort(-score, kind="stable")
    captured = np.cumsum(y[order]) / max(y.sum(), 1)
    share = np.arange(1, len(y) + 1) / len(y)
    idx = np.unique(np.linspace(0, len(y) - 1, min(n_points, len(y))).round().astype(int))
    return pd.DataFrame(
        {
            "model": model,
            "share_targeted": share[idx],
            "share_churners_captured": captured[idx],
            "lift": captured[idx] / share[idx],
        }
    )


def _calibration(y: np.ndarray, p: np.ndarray, model: str, n_bins: int = 10) -> pd.DataFrame:
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": bins, "p": p, "y": y})
    out = (
        frame.groupby("bin")
        .agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), customers=("y", "size"))
        .reset_index()
    )
    out.insert(0, "model", model)
    return out


def _fit_models(X: np.ndarray, y: np.ndarray, *, seed: int, gbm_params: dict | None):
    """Fit the gradient-boosting model and its logistic baseline on the same rows."""
    gbm = _gbm(seed, gbm_params).fit(X, y)
    with warnings.catch_warnings():  # the signed log of wide columns overflows harmlessly
        warnings.simplefilter("ignore", category=RuntimeWarning)
        logistic = _logistic(seed).fit(X, y)
    return gbm, logistic


def _comparison_rows(evaluation: str, y: np.ndarray, p_gbm, p_log, recency) -> list[dict]:
    """One metrics row per model (boosting, logistic, the recency rule) for one evaluation."""
    return [
        {"evaluation": evaluation, "model": "gradient_boosting", **_metrics(y, p_gbm)},
        {"evaluation": evaluation, "model": "logistic", **_metrics(y, p_log)},
        {"evaluation": evaluation, "model": "recency_rule", **_metrics(y, recency, False)},
    ]


def _summary_metrics(comparison: pd.DataFrame, *, n_train: int, y: np.ndarray) -> dict:
    """Flatten the comparison into ``metrics``: boosting's held-out figures and the others'."""
    held = comparison.loc["held_out"]
    oot = "out_of_time" in comparison.index.get_level_values("evaluation")
    nan = float("nan")
    metrics = {k: held.loc["gradient_boosting", k] for k in METRIC_KEYS}
    metrics.update(
        logistic_roc_auc=held.loc["logistic", "roc_auc"],
        logistic_pr_auc=held.loc["logistic", "pr_auc"],
        logistic_top_decile_lift=held.loc["logistic", "top_decile_lift"],
        recency_roc_auc=held.loc["recency_rule", "roc_auc"],
        recency_pr_auc=held.loc["recency_rule", "pr_auc"],
        out_of_time_roc_auc=(
            comparison.loc[("out_of_time", "gradient_boosting"), "roc_auc"] if oot else nan
        ),
        out_of_time_logistic_roc_auc=(
            comparison.loc[("out_of_time", "logistic"), "roc_auc"] if oot else nan
        ),
        n_train=n_train,
        n_active=len(y),
        churn_rate_active=float(y.mean()),
    )
    counts = ("n", "n_train", "n_active")
    return {k: (int(v) if k in counts else float(v)) for k, v in metrics.items()}


def _importances(
    gbm, X, y, rows, columns, *, seed: int, max_rows: int, n_repeats: int = 3
) -> pd.DataFrame:
    """Permutation importances (drop in ROC AUC) on at most ``max_rows`` of the given rows."""
    from sklearn.inspection import permutation_importance

    rng = np.random.default_rng(seed)
    sample = rows if len(rows) <= max_rows else np.sort(rng.choice(rows, max_rows, replace=False))
    perm = permutation_importance(
        gbm, X[sample], y[sample], scoring="roc_auc", n_repeats=n_repeats, random_state=seed
    )
    return pd.DataFrame(
        {
            "feature": columns,
            "name": [_feature_label(c) for c in columns],
            "importance": perm.importances_mean,
            "importance_std": perm.importances_std,
        }
    ).sort_values("importance", ascending=False, ignore_index=True)


def _curves(y: np.ndarray, p_gbm, p_log, recency) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cumulative gains of the three models and calibration bins of the two probability models."""
    gains = pd.concat(
        [
            _gains(y, p_gbm, "gradient_boosting"),
            _gains(y, p_log, "logistic"),
            _gains(y, recency.astype(float), "recency_rule"),
        ],
        ignore_index=True,
    )
    calibration = pd.concat(
        [_calibration(y, p_gbm, "gradient_boosting"), _calibration(y, p_log, "logistic")],
        ignore_index=True,
    )
    return gains, calibration
