"""The churn model: who stops buying in the horizon after the cutoff, and why."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib._validation import DataError, check_positive_int, check_transactions
from cxlib.churn._common import (
    DEFAULT_ACTIVE_DAYS,
    DEFAULT_GBM_PARAMS,
    DEFAULT_MAX_LEVELS,
    DEFAULT_MIN_HISTORY_DAYS,
    _as_timestamp,
    _observation_end,
    _thread_limited,
)
from cxlib.churn.features import (
    _build_features,
    _feature_label,
    _labels,
    _make_spec,
    _prepare_side,
)


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


@dataclass
class ChurnModelResult:
    """Everything :func:`churn_model` measured and fitted.

    Attributes
    ----------
    metrics : dict
        Held-out metrics of the gradient-boosting model: ``roc_auc``, ``pr_auc``,
        ``top_decile_lift``, ``brier``, ``n`` (test customers), ``churn_rate`` (in the test
        set); plus ``logistic_roc_auc``, ``logistic_pr_auc``, ``recency_roc_auc``,
        ``out_of_time_roc_auc`` (NaN when the history is too short), ``n_train``,
        ``churn_rate_active`` (all customers active at the cutoff).
    comparison : DataFrame
        Rows ``(evaluation, model)`` for ``held_out`` and ``out_of_time`` x
        ``gradient_boosting``, ``logistic``, ``recency_rule``; columns as in ``metrics``.
    scores : DataFrame
        One row per customer active at the cutoff, highest revenue at risk first:
        ``customer_id``, ``churn_probability``, ``value``, ``revenue_at_risk``,
        ``main_reasons``, ``churned`` (what happened in the label window), ``held_out``
        (True when the customer was not used for training).
    importances : DataFrame
        ``feature``, ``name`` (plain language), ``importance`` (mean drop in held-out ROC AUC
        when the feature is shuffled), ``importance_std``; highest first.
    gains, calibration : DataFrame
        Cumulative gains (``model``, ``share_targeted``, ``share_churners_captured``,
        ``lift``) and calibration bins (``model``, ``bin``, ``mean_predicted``,
        ``observed_rate``, ``customers``) on the held-out customers.
    features : DataFrame
        The feature matrix at the cutoff (active customers).
    cutoff, horizon_days, active_days
        The setting.
    definitions : dict
        Plain-language ``active``, ``churned``, ``value``, ``main_reasons`` definitions.
    model, baseline
        The fitted gradient-boosting and logistic pipelines.
    """

    metrics: dict
    comparison: pd.DataFrame
    scores: pd.DataFrame
    importances: pd.DataFrame
    gains: pd.DataFrame
    calibration: pd.DataFrame
    features: pd.DataFrame
    cutoff: pd.Timestamp
    horizon_days: int
    active_days: int
    definitions: dict
    model: Any = field(repr=False)
    baseline: Any = field(repr=False)
    _spec: Any = field(repr=False, default=None)
    _reason_features: list = field(repr=False, default_factory=list)

    @_thread_limited
    def score(
        self,
        transactions: pd.DataFrame,
        *,
        as_of=None,
        customers: pd.DataFrame | None = None,
        surveys: pd.DataFrame | None = None,
        feedback: pd.DataFrame | None = None,
        value: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Score the customers active at ``as_of`` (default: last transaction date) for action.

        Uses the fitted model on features built exactly as at training time. Returns the
        columns of :attr:`scores` without ``churned`` and ``held_out``.
        """
        caller = "ChurnModelResult.score"
        transactions = check_transactions(transactions, caller=caller)
        as_of = (
            _observation_end(transactions, None)
            if as_of is None
            else _as_timestamp(as_of, "as_of", caller)
        )
        history = transactions.loc[transactions["date"] <= as_of]
        surveys = _prepare_side(surveys, as_of, ["customer_id", "date", "score"], caller, "surveys")
        feedback = _prepare_side(feedback, as_of, ["customer_id", "date"], caller, "feedback")
        features = _build_features(
            history,
            as_of,
            self._spec,
            customers=customers,
            surveys=surveys,
            feedback=feedback,
            active_days=self.active_days,
        )
        features = features.reindex(columns=self.features.columns)
        values = _customer_value(history, as_of, features.index, value)
        return _score_frame(self.model, features, values, self._reason_features)


def _customer_value(history, cutoff, ids, value):
    year = history.loc[history["date"] > cutoff - pd.Timedelta(days=365)]
    trailing = year.groupby(year["customer_id"].astype(str))["amount"].sum().clip(lower=0)
    trailing = trailing.reindex(ids).fillna(0.0)
    if value is None:
        return trailing
    given = pd.Series(value, dtype=float)
    given.index = given.index.astype(str)
    given = given.reindex(ids)
    if given.isna().any():
        warnings.warn(
            f"churn_model: 'value' is missing for {int(given.isna().sum())} active customer(s); "
            "their trailing 12-month revenue is used instead",
            stacklevel=3,
        )
    return given.fillna(trailing)


def _reasons(model, features: pd.DataFrame, columns: list, top: int = 3, min_effect: float = 0.01):
    """Per customer, the features that raise the churn probability most versus a typical value.

    For each candidate feature j: effect_j = p(x) - p(x with x_j set to the median over the
    scored customers). The top ``top`` positive effects above ``min_effect`` are named.
    """
    if not columns or features.empty:
        return pd.Series("", index=features.index)
    X = features.to_numpy(dtype=float)
    base = model.predict_proba(X)[:, 1]
    positions = [features.columns.get_loc(c) for c in columns]
    effects = np.empty((len(X), len(columns)))
    medians = np.nanmedian(X[:, positions], axis=0) if len(X) else np.zeros(len(columns))
    Xj = X.copy()  # one buffer: each feature is set to its median, then restored
    for j, (pos, med) in enumerate(zip(positions, medians, strict=True)):
        original = X[:, pos].copy()
        Xj[:, pos] = med
        effects[:, j] = base - model.predict_proba(Xj)[:, 1]
        Xj[:, pos] = original
    order = np.argsort(-effects, axis=1)[:, :top]
    labels = [_feature_label(c) for c in columns]
    text = []
    for i in range(len(X)):
        parts = []
        for j in order[i]:
            if effects[i, j] < min_effect:
                break
            value = X[i, positions[j]]
            shown = "n/a" if np.isnan(value) else f"{value:,.2f}".rstrip("0").rstrip(".")
            parts.append(f"{labels[j]}: {shown}")
        text.append("; ".join(parts))
    return pd.Series(text, index=features.index)


def _score_frame(model, features, values, reason_features) -> pd.DataFrame:
    probability = (
        model.predict_proba(features.to_numpy(dtype=float))[:, 1] if len(features) else np.array([])
    )
    scores = pd.DataFrame(
        {
            "customer_id": features.index.to_numpy(),
            "churn_probability": probability,
            "value": values.reindex(features.index).to_numpy(dtype=float),
        }
    )
    scores["revenue_at_risk"] = scores["churn_probability"] * scores["value"]
    scores["main_reasons"] = _reasons(model, features, reason_features).to_numpy()
    return scores.sort_values(
        ["revenue_at_risk", "churn_probability", "customer_id"],
        ascending=[False, False, True],
        ignore_index=True,
    )


@_thread_limited
def churn_model(
    transactions: pd.DataFrame,
    *,
    cutoff,
    horizon_days: int,
    customers: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    value: pd.Series | None = None,
    active_days: int = DEFAULT_ACTIVE_DAYS,
    test_size: float = 0.3,
    out_of_time: bool = True,
    gbm_params: dict | None = None,
    max_importance_rows: int = 5_000,
    n_reason_features: int = 6,
    seed: int = 0,
) -> ChurnModelResult:
    """Predict who stops buying in the ``horizon_days`` after ``cutoff``, and why.

    * **Who is scored**: customers *active at the cutoff*, i.e. with a purchase in the
      ``active_days`` days up to and including it.
    * **Label**: churned = no purchase (positive amount) in ``(cutoff, cutoff + horizon_days]``.
    * **Features**: only data dated on or before the cutoff (recency, frequency, spend,
      tenure, 90-day trends, category and channel mix, acquisition attributes, complaints,
      survey answers); the feature builder raises :class:`LeakageError` if anything later
      reaches it.
    * **Models**: sklearn ``HistGradientBoostingClassifier`` against a logistic regression
      on the same features and a pure recency rule (score = days since last purchase).
    * **Evaluation**: a stratified ``test_size`` share of customers is held out from
      training; with ``out_of_time`` and enough history, models are also trained at
      ``cutoff - horizon_days`` (labels ending on the cutoff) and tested on the held-out
      customers at the cutoff.
    * **Value** of a customer: ``value`` when given, else net revenue in the 365 days up to
      the cutoff (refunds netted, floored at 0): the yearly revenue that leaves if the
      customer goes. ``revenue_at_risk = churn_probability x value``. A CLV from
      :mod:`cxlib.clv` can be passed as ``value``, but it already discounts for the chance of
      churning, so the product counts churn twice; prefer a value *given the customer stays*.
    * **Main reasons**: for the ``n_reason_features`` most important features, how much the
      customer's churn probability drops when that feature is set to the median of active
      customers; the (up to) three largest drops above one percentage point are named.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions covering at least ``cutoff + horizon_days``.
    cutoff : date-like
        Last day of the feature history (see :func:`default_cutoff`).
    horizon_days : int
        Length of the label window.
    customers, surveys, feedback : DataFrame, optional
        Extra features (see :func:`churn_features`).
    value : Series, optional
        Value per ``customer_id``.
    active_days : int, default 365
    test_size : float, default 0.3
    out_of_time : bool, default True
    gbm_params : dict, optional
        Overrides of ``DEFAULT_GBM_PARAMS``.
    max_importance_rows : int, default 5000
        Permutation importances use at most this many held-out customers.
    n_reason_features : int, default 6
    seed : int, default 0

    Returns
    -------
    ChurnModelResult

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = churn_model(demo.transactions, cutoff="2025-10-02", horizon_days=90)
    >>> round(result.metrics["roc_auc"], 2)
    0.83
    >>> result.scores.columns[:4].tolist()
    ['customer_id', 'churn_probability', 'value', 'revenue_at_risk']
    """
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    caller = "churn_model"
    transactions = check_transactions(transactions, caller=caller)
    cutoff = _as_timestamp(cutoff, "cutoff", caller)
    check_positive_int(horizon_days, "horizon_days", caller=caller)
    if not 0 < test_size < 1:
        raise ValueError(
            f"The 'test_size' parameter of {caller} must be in (0, 1). Got {test_size!r} instead."
        )
    end = _observation_end(transactions, None)
    window_end = cutoff + pd.Timedelta(days=int(horizon_days))
    if window_end > end:
        raise ValueError(
            f"The 'cutoff' parameter of {caller} must leave {horizon_days} days of data after it "
            f"(the data end on {end.date()}; latest possible cutoff "
            f"{(end - pd.Timedelta(days=int(horizon_days))).date()}). Got {cutoff.date()} instead."
        )
    tx = transactions
    history = tx.loc[tx["date"] <= cutoff]
    sv = _prepare_side(surveys, cutoff, ["customer_id", "date", "score"], caller, "surveys")
    fb = _prepare_side(feedback, cutoff, ["customer_id", "date"], caller, "feedback")
    spec = _make_spec(history, customers, sv, fb, DEFAULT_MAX_LEVELS)
    features = _build_features(
        history, cutoff, spec, customers=customers, surveys=sv, feedback=fb, active_days=active_days
    )
    labels = _labels(tx, features.index, cutoff, horizon_days)
    if labels.nunique() < 2 or labels.value_counts().min() < 10:
        raise DataError(
            f"{caller}: need at least 10 churned and 10 retained customers at cutoff "
            f"{cutoff.date()}; got {labels.value_counts().to_dict()}"
        )
    X = features.to_numpy(dtype=float)
    y = labels.to_numpy()
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed
    )
    gbm = _gbm(seed, gbm_params).fit(X[idx_train], y[idx_train])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        logistic = _logistic(seed).fit(X[idx_train], y[idx_train])
    p_gbm = gbm.predict_proba(X[idx_test])[:, 1]
    p_log = logistic.predict_proba(X[idx_test])[:, 1]
    recency = features["recency_days"].to_numpy()[idx_test]
    y_test = y[idx_test]
    rows = [
        {"evaluation": "held_out", "model": "gradient_boosting", **_metrics(y_test, p_gbm)},
        {"evaluation": "held_out", "model": "logistic", **_metrics(y_test, p_log)},
        {"evaluation": "held_out", "model": "recency_rule", **_metrics(y_test, recency, False)},
    ]
    # out of time: train one horizon earlier, test on the held-out customers at the cutoff
    earlier = cutoff - pd.Timedelta(days=int(horizon_days))
    first_day = pd.Timestamp(tx["date"].min())
    oot_possible = out_of_time and earlier - first_day >= pd.Timedelta(
        days=DEFAULT_MIN_HISTORY_DAYS
    )
    if oot_possible:
        history0 = tx.loc[tx["date"] <= earlier]
        sv0 = None if sv is None else sv.loc[sv["date"] <= earlier]
        fb0 = None if fb is None else fb.loc[fb["date"] <= earlier]
        f0 = _build_features(
            history0,
            earlier,
            spec,
            customers=customers,
            surveys=sv0,
            feedback=fb0,
            active_days=active_days,
        )
        f0 = f0.reindex(columns=features.columns)
        y0 = _labels(history, f0.index, earlier, horizon_days).to_numpy()
        if len(np.unique(y0)) == 2:
            gbm0 = _gbm(seed, gbm_params).fit(f0.to_numpy(dtype=float), y0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=RuntimeWarning)
                log0 = _logistic(seed).fit(f0.to_numpy(dtype=float), y0)
            rows += [
                {
                    "evaluation": "out_of_time",
                    "model": "gradient_boosting",
                    **_metrics(y_test, gbm0.predict_proba(X[idx_test])[:, 1]),
                },
                {
                    "evaluation": "out_of_time",
                    "model": "logistic",
                    **_metrics(y_test, log0.predict_proba(X[idx_test])[:, 1]),
                },
                {
                    "evaluation": "out_of_time",
                    "model": "recency_rule",
                    **_metrics(y_test, recency, False),
                },
            ]
        else:
            oot_possible = False
    comparison = pd.DataFrame(rows).set_index(["evaluation", "model"])
    held = comparison.loc["held_out"]
    metrics = {
        k: held.loc["gradient_boosting", k]
        for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "n", "churn_rate")
    }
    metrics.update(
        logistic_roc_auc=held.loc["logistic", "roc_auc"],
        logistic_pr_auc=held.loc["logistic", "pr_auc"],
        logistic_top_decile_lift=held.loc["logistic", "top_decile_lift"],
        recency_roc_auc=held.loc["recency_rule", "roc_auc"],
        recency_pr_auc=held.loc["recency_rule", "pr_auc"],
        out_of_time_roc_auc=(
            comparison.loc[("out_of_time", "gradient_boosting"), "roc_auc"]
            if oot_possible
            else float("nan")
        ),
        out_of_time_logistic_roc_auc=(
            comparison.loc[("out_of_time", "logistic"), "roc_auc"] if oot_possible else float("nan")
        ),
        n_train=len(idx_train),
        n_active=len(y),
        churn_rate_active=float(y.mean()),
    )
    counts = ("n", "n_train", "n_active")
    metrics = {k: (int(v) if k in counts else float(v)) for k, v in metrics.items()}
    if metrics["roc_auc"] > 0.99:
        warnings.warn(
            f"{caller}: held-out ROC AUC is {metrics['roc_auc']:.3f}, suspiciously close to 1; "
            "check that no customer attribute encodes the outcome (leakage)",
            stacklevel=2,
        )
    # permutation importances on (a sample of) the held-out customers
    rng = np.random.default_rng(seed)
    sample = (
        idx_test
        if len(idx_test) <= max_importance_rows
        else np.sort(rng.choice(idx_test, max_importance_rows, replace=False))
    )
    perm = permutation_importance(
        gbm, X[sample], y[sample], scoring="roc_auc", n_repeats=3, random_state=seed
    )
    importances = pd.DataFrame(
        {
            "feature": features.columns,
            "name": [_feature_label(c) for c in features.columns],
            "importance": perm.importances_mean,
            "importance_std": perm.importances_std,
        }
    ).sort_values("importance", ascending=False, ignore_index=True)
    reason_features = (
        importances.loc[importances["importance"] > 0, "feature"].head(n_reason_features).tolist()
    )
    gains = pd.concat(
        [
            _gains(y_test, p_gbm, "gradient_boosting"),
            _gains(y_test, p_log, "logistic"),
            _gains(y_test, recency.astype(float), "recency_rule"),
        ],
        ignore_index=True,
    )
    calibration = pd.concat(
        [_calibration(y_test, p_gbm, "gradient_boosting"), _calibration(y_test, p_log, "logistic")],
        ignore_index=True,
    )
    values = _customer_value(history, cutoff, features.index, value)
    scores = _score_frame(gbm, features, values, reason_features)
    held_out = pd.Series(False, index=features.index)
    held_out.iloc[idx_test] = True
    scores["churned"] = labels.reindex(scores["customer_id"]).to_numpy().astype(bool)
    scores["held_out"] = held_out.reindex(scores["customer_id"]).to_numpy()
    definitions = {
        "active": f"bought at least once in the {active_days} days up to {cutoff.date()}",
        "churned": (
            f"no purchase between {(cutoff + pd.Timedelta(days=1)).date()} and "
            f"{window_end.date()} ({horizon_days} days)"
        ),
        "value": (
            "the value given by the caller (e.g. CLV)"
            if value is not None
            else f"net revenue in the 365 days up to {cutoff.date()}"
        ),
        "main_reasons": (
            "features that raise this customer's churn probability most compared "
            "with a typical (median) active customer, with the customer's value"
        ),
    }
    return ChurnModelResult(
        metrics,
        comparison,
        scores,
        importances,
        gains,
        calibration,
        features,
        cutoff,
        int(horizon_days),
        int(active_days),
        definitions,
        gbm,
        logistic,
        spec,
        reason_features,
    )


