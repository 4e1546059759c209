"""The churn model: who stops buying in the horizon after the cutoff, and why.

:func:`churn_model` works as follows.

* **Who is scored**: customers *active at the cutoff*, i.e. with a purchase in the
  ``active_days`` days up to and including it.
* **Label**: churned = *no purchase in the horizon*: no day with positive net spend in
  ``(cutoff, cutoff + horizon_days]``. This is the label by construction, whatever churn
  definition the client uses for its churn rate; ``definitions["churned"]`` says so.
* **Features**: only data dated on or before the cutoff (recency, frequency, spend,
  tenure, 90-day trends, category and channel mix, acquisition attributes, complaints,
  survey answers); the feature builder raises :class:`LeakageError` if anything later
  reaches it.
* **Models**: sklearn ``HistGradientBoostingClassifier`` against a logistic regression
  on the same features and a pure recency rule (score = days since last purchase).
* **Training sample**: the models are trained and explained on a stratified (by label),
  seeded sample of at most ``max_training_customers`` active customers
  (``DEFAULT_MAX_TRAINING_CUSTOMERS``, 100,000, so the cost of the fits stops growing with
  the client); smaller clients use every customer.
* **Evaluation**: a stratified ``test_size`` share of the sample is held out from
  training; with ``out_of_time`` and enough history, models are also trained at
  ``cutoff - horizon_days`` (labels ending on the cutoff, on a sample of the same size) and
  tested on the held-out customers at the cutoff.
* **Scores are out of sample for every customer**: the customers the model was trained on
  get their probability from a ``DEFAULT_CROSS_FIT_FOLDS``-fold cross-fit over the training
  rows (each from a model that did not see them); every other active customer (held out, or
  outside the sample) from the model trained on the sample. So the ranked list, and the AUC
  reported for it (``metrics["scores_roc_auc"]``), is never scored in-sample.
* **Value** of a customer: ``value`` when given, else net revenue in the 365 days up to
  the cutoff (refunds netted, floored at 0): the yearly revenue that leaves if the
  customer goes. ``revenue_at_risk = churn_probability x value``. A CLV from
  :mod:`cxlib.clv` can be passed as ``value``, but it already discounts for the chance of
  churning, so the product counts churn twice; prefer a value *given the customer stays*.
* **Main reasons**: for the ``n_reason_features`` most important features, how much the
  customer's churn probability drops when that feature is set to the median of active
  customers; the (up to) three largest drops above one percentage point are named. They are
  given for the ``max_explained_customers`` customers with the most revenue at risk (the top
  of the list a campaign contacts; everyone when ``None``): each costs one prediction per
  candidate feature, minutes of CPU for a million customers that no page reads.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib.churn._common import (
    DEFAULT_ACTIVE_DAYS,
    DEFAULT_MIN_HISTORY_DAYS,
    _as_timestamp,
    _observation_end,
)
from cxlib.churn.evaluation import (
    _comparison_rows,
    _curves,
    _fit_models,
    _gbm,
    _importances,
    _metrics,
    _summary_metrics,
)
from cxlib.churn.features import _feature_label, _Sources
from cxlib.settings.params import Interval, check_param, param_error
from cxlib.settings.validation import check_positive_int

#: Most active customers the churn model is trained (and its backtest trained) on: a stratified,
#: seeded sample above it. Every active customer is still scored. 70,000 training rows for a
#: model of about 40 features and 8-leaf trees, and 30,000 held-out customers, whose ROC AUC
#: then has a standard error of a few thousandths; the fits stop growing with the client.
DEFAULT_MAX_TRAINING_CUSTOMERS = 100_000
#: Folds of the cross-fit that scores the training customers out of sample.
DEFAULT_CROSS_FIT_FOLDS = 3
#: Shuffles per feature in the permutation importances (on at most ``max_importance_rows``).
DEFAULT_IMPORTANCE_REPEATS = 2
#: Customers at the top of a ranked list (most revenue at risk) whose main reasons are given.
#: Campaigns contact the top 10% (:func:`cxlib.report.actions.retention_action`), so 100,000 covers
#: every contacted customer of a client with up to a million active customers.
DEFAULT_MAX_EXPLAINED_CUSTOMERS = 100_000


def _single_threaded(function):
    """Run ``function`` with one OpenMP thread, whatever the data size.

    The fits see at most ``DEFAULT_MAX_TRAINING_CUSTOMERS`` rows, and the predictions (scores,
    permutation importances, reasons) run hundreds of short parallel regions per call, which
    stall whenever another job holds a core: on a shared 2-core machine one thread was several
    times faster than two.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        import sklearn.ensemble  # noqa: F401 (load the OpenMP runtime so the limit applies)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return function(*args, **kwargs)

    return wrapper


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
        ``churn_rate_active`` (all customers active at the cutoff), ``n_sample`` (the
        training sample: train + test), ``scores_roc_auc`` and ``scores_pr_auc`` (of the
        ranked list :attr:`scores`, over every active customer, all scored out of sample).
    comparison : DataFrame
        Rows ``(evaluation, model)`` for ``held_out`` and ``out_of_time`` x
        ``gradient_boosting``, ``logistic``, ``recency_rule``; columns as in ``metrics``.
    scores : DataFrame
        One row per customer active at the cutoff, highest revenue at risk first:
        ``customer_id``, ``churn_probability``, ``value``, ``revenue_at_risk``,
        ``main_reasons``, ``churned`` (what happened in the label window), ``held_out``
        (True when the customer was not used for training), ``scored_by`` (``"cross-fit"``
        for the training customers, ``"model"`` for the others): no score is in-sample.
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

    @_single_threaded
    def score(
        self,
        transactions: pd.DataFrame,
        *,
        as_of=None,
        customers: pd.DataFrame | None = None,
        surveys: pd.DataFrame | None = None,
        feedback: pd.DataFrame | None = None,
        value: pd.Series | None = None,
        max_explained_customers: int | None = DEFAULT_MAX_EXPLAINED_CUSTOMERS,
    ) -> pd.DataFrame:
        """Score the customers active at ``as_of`` (default: last transaction date) for action.

        Uses the fitted model on features built exactly as at training time. Returns the
        columns of :attr:`scores` without ``churned``, ``held_out`` and ``scored_by``;
        ``main_reasons`` is given for the ``max_explained_customers`` customers with the most
        revenue at risk (``None``: for everyone) and missing (``None``) for the others.
        """
        caller = "ChurnModelResult.score"
        sources = _Sources.checked(
            transactions, customers=customers, surveys=surveys, feedback=feedback, caller=caller
        )
        as_of = (
            _observation_end(sources.transactions, None)
            if as_of is None
            else _as_timestamp(as_of, "as_of", caller)
        )
        features = sources.features(as_of, self._spec, self.active_days)
        features = features.reindex(columns=self.features.columns)
        values = _customer_value(features, value)
        explained = _explained_count(max_explained_customers, caller)
        return _score_frame(self.model, features, values, self._reason_features, explained)


def _customer_value(features: pd.DataFrame, value: pd.Series | None) -> pd.Series:
    """``value`` where given, else the customer's net revenue in the last 12 months (>= 0)."""
    trailing = features["revenue_365"].clip(lower=0)
    if value is None:
        return trailing
    given = pd.Series(value, dtype=float)
    given.index = given.index.astype(str)
    given = given.reindex(features.index)
    if given.isna().any():
        warnings.warn(
            f"churn_model: 'value' is missing for {int(given.isna().sum())} active customer(s); "
            "their trailing 12-month revenue is used instead",
            stacklevel=3,
        )
    return given.fillna(trailing)


def _reasons(
    model,
    features: pd.DataFrame,
    columns: list,
    top: int = 3,
    min_effect: float = 0.01,
    base: np.ndarray | None = None,
    medians: np.ndarray | None = None,
):
    """Per customer, the features that raise the churn probability most versus a typical value.

    For each candidate feature j: effect_j = p(x) - p(x with x_j set to its median). The top
    ``top`` positive effects above ``min_effect`` are named. ``base`` is ``p(x)`` when the
    caller has it; ``medians`` the typical values of ``columns`` (default: the medians over
    ``features``; pass those of every scored customer when explaining only some of them). The
    text is assembled column-wise (one formatted value per distinct feature value), not
    customer by customer.
    """
    if not columns or features.empty:
        return pd.Series("", index=features.index)
    X = features.to_numpy(dtype=float)
    if base is None:
        base = model.predict_proba(X)[:, 1]
    positions = [features.columns.get_loc(c) for c in columns]
    effects = np.empty((len(X), len(columns)))
    if medians is None:
        medians = np.nanmedian(X[:, positions], axis=0)
    Xj = X.copy()  # one buffer: each feature is set to its median, then restored
    for j, (pos, med) in enumerate(zip(positions, medians, strict=True)):
        Xj[:, pos] = med
        effects[:, j] = base - model.predict_proba(Xj)[:, 1]
        Xj[:, pos] = X[:, pos]
    order = np.argsort(-effects, axis=1, kind="stable")[:, :top]
    rows = np.arange(len(X))
    # "label: value" of every candidate feature, for every customer (object arrays)
    named = np.empty((len(X), len(columns)), dtype=object)
    for j, (column, pos) in enumerate(zip(columns, positions, strict=True)):
        named[:, j] = _feature_label(column) + ": " + _format_values(X[:, pos])
    text = np.full(len(X), "", dtype=object)
    for rank in range(order.shape[1]):
        chosen = order[:, rank]
        # effects are sorted, so once one is below min_effect the later ones are too
        shown = effects[rows, chosen] >= min_effect
        part = named[rows, chosen]
        joined = np.where(text == "", part, text + "; " + part)
        text = np.where(shown, joined, text)
    return pd.Series(text, index=features.index, dtype=object)


def _format_values(values: np.ndarray) -> np.ndarray:
    """Format numbers as ``1,234.5`` (at most 2 decimals, no trailing zeros; ``n/a`` for NaN)."""
    distinct, inverse = np.unique(values, return_inverse=True)  # NaNs sort last, kept apart
    shown = np.array(
        ["n/a" if np.isnan(v) else f"{v:,.2f}".rstrip("0").rstrip(".") for v in distinct],
        dtype=object,
    )
    return shown[inverse.reshape(-1)]


def _explained_count(max_explained_customers: int | None, caller: str) -> int | None:
    if max_explained_customers is not None:
        check_positive_int(max_explained_customers, "max_explained_customers", caller=caller)
    return max_explained_customers


def _score_frame(
    model, features, values, reason_features, explained=None, out_of_fold=None
) -> pd.DataFrame:
    """Rank customers by revenue at risk, with probability, value and main reasons.

    ``out_of_fold`` = (row positions, probabilities) replaces the model's probability of those
    rows (the customers it was trained on). Reasons always explain the model's own prediction,
    for the first ``explained`` customers of the ranking (all when ``None``), against the
    medians of every scored customer.
    """
    X = features.to_numpy(dtype=float)
    predicted = model.predict_proba(X)[:, 1] if len(features) else np.array([])
    probability = predicted.copy()
    if out_of_fold is not None:
        probability[out_of_fold[0]] = out_of_fold[1]
    scores = pd.DataFrame(
        {
            "customer_id": features.index.to_numpy(),
            "churn_probability": probability,
            "value": values.reindex(features.index).to_numpy(dtype=float),
        }
    )
    scores["revenue_at_risk"] = scores["churn_probability"] * scores["value"]
    ranked = scores.sort_values(
        ["revenue_at_risk", "churn_probability", "customer_id"], ascending=[False, False, True]
    ).index.to_numpy()
    rows = ranked if explained is None else ranked[:explained]
    reasons = np.full(len(scores), None, dtype=object)
    if len(rows):
        typical = features[reason_features].to_numpy(dtype=float)
        medians = np.nanmedian(typical, axis=0) if reason_features else None
        reasons[rows] = _reasons(
            model, features.iloc[rows], reason_features, base=predicted[rows], medians=medians
        ).to_numpy()
    scores["main_reasons"] = reasons
    return scores.iloc[ranked].reset_index(drop=True)


def _training_sample(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Row positions of a stratified (by label), seeded sample of at most ``size`` customers."""
    from sklearn.model_selection import train_test_split

    if len(y) <= size:
        return np.arange(len(y))
    sample, _ = train_test_split(np.arange(len(y)), train_size=size, stratify=y, random_state=seed)
    return np.sort(sample)


def _cross_fit(X, y, rows, *, folds: int, seed: int, gbm_params) -> np.ndarray:
    """Out-of-fold probabilities of ``rows``: each from a model fitted on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    out = np.empty(len(rows))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit, predict in splitter.split(rows, y[rows]):
        model = _gbm(seed, gbm_params).fit(X[rows[fit]], y[rows[fit]])
        out[predict] = model.predict_proba(X[rows[predict]])[:, 1]
    return out


@_single_threaded
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
    max_training_customers: int = DEFAULT_MAX_TRAINING_CUSTOMERS,
    max_explained_customers: int | None = DEFAULT_MAX_EXPLAINED_CUSTOMERS,
    seed: int = 0,
) -> ChurnModelResult:
    """Predict who stops buying in the ``horizon_days`` after ``cutoff``, and why.

    How it works is in :mod:`cxlib.churn.model`: who is scored, the label (*no purchase in
    the horizon*), the features, the models, the evaluation, the value and the main reasons.

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
    max_training_customers : int, default ``DEFAULT_MAX_TRAINING_CUSTOMERS`` (100,000)
        Above this many active customers the models are trained and evaluated on a
        stratified, seeded sample of this size; every active customer is still scored.
    max_explained_customers : int or None, default ``DEFAULT_MAX_EXPLAINED_CUSTOMERS`` (100,000)
        ``main_reasons`` are given for this many customers at the top of the ranked list
        (``None``: everyone); the others' are missing.
    seed : int, default 0

    Returns
    -------
    ChurnModelResult

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = churn_model(demo.transactions, cutoff="2025-10-02", horizon_days=90)
    >>> 0.8 < result.metrics["roc_auc"] < 0.9  # held-out customers
    True
    >>> result.scores.columns[:4].tolist()
    ['customer_id', 'churn_probability', 'value', 'revenue_at_risk']
    """
    from sklearn.model_selection import train_test_split

    caller = "churn_model"
    sources = _Sources.checked(
        transactions, customers=customers, surveys=surveys, feedback=feedback, caller=caller
    )
    cutoff = _check_label_window(sources.transactions, cutoff, horizon_days, test_size, caller)
    spec = sources.spec(cutoff)
    features = sources.features(cutoff, spec, active_days)
    labels = sources.labels(features.index, cutoff, horizon_days)
    X, y = features.to_numpy(dtype=float), labels.to_numpy()
    check_positive_int(max_training_customers, "max_training_customers", caller=caller)
    explained = _explained_count(max_explained_customers, caller)
    sample = _training_sample(y, max_training_customers, seed)
    train, test = train_test_split(
        sample, test_size=test_size, stratify=y[sample], random_state=seed
    )
    gbm, logistic = _fit_models(X[train], y[train], seed=seed, gbm_params=gbm_params)
    p_gbm, p_log = gbm.predict_proba(X[test])[:, 1], logistic.predict_proba(X[test])[:, 1]
    recency = features["recency_days"].to_numpy()[test]
    rows = _comparison_rows("held_out", y[test], p_gbm, p_log, recency)
    if out_of_time:
        rows += _out_of_time_rows(
            sources, spec, features.columns, cutoff, horizon_days, X[test], y[test], recency,
            active_days=active_days, seed=seed, gbm_params=gbm_params,
            max_rows=max_training_customers,
        )  # fmt: skip
    comparison = pd.DataFrame(rows).set_index(["evaluation", "model"])
    metrics = _summary_metrics(comparison, n_train=len(train), y=y)
    _warn_if_leaky(metrics["roc_auc"], caller)
    importances = _importances(
        gbm, X, y, test, features.columns, seed=seed, max_rows=max_importance_rows,
        n_repeats=DEFAULT_IMPORTANCE_REPEATS,
    )  # fmt: skip
    reasons = importances.loc[importances["importance"] > 0, "feature"].head(n_reason_features)
    # out of sample for everyone: the model's score for customers it did not see, a cross-fit
    # score for those it did
    cross_fit = _cross_fit(
        X, y, train, folds=DEFAULT_CROSS_FIT_FOLDS, seed=seed, gbm_params=gbm_params
    )
    scores = _score_frame(
        gbm, features, _customer_value(features, value), reasons.tolist(), explained,
        (train, cross_fit),
    )  # fmt: skip
    scores["churned"] = labels.reindex(scores["customer_id"]).to_numpy().astype(bool)
    trained = pd.Index(features.index[train])
    scores["held_out"] = ~scores["customer_id"].isin(trained).to_numpy()
    scores["scored_by"] = np.where(scores["held_out"], "model", "cross-fit")
    listed = _metrics(scores["churned"].to_numpy(dtype=int), scores["churn_probability"].to_numpy())
    metrics.update(
        n_sample=len(sample), scores_roc_auc=listed["roc_auc"], scores_pr_auc=listed["pr_auc"]
    )
    gains, calibration = _curves(y[test], p_gbm, p_log, recency)
    definitions = _definitions(
        cutoff, horizon_days, active_days, value_given=value is not None,
        n_active=len(y), n_sample=len(sample), n_train=len(train), n_explained=explained,
    )  # fmt: skip
    return ChurnModelResult(
        metrics, comparison, scores, importances, gains, calibration, features, cutoff,
        int(horizon_days), int(active_days), definitions, gbm, logistic, spec, reasons.tolist(),
    )  # fmt: skip


def _check_label_window(transactions, cutoff, horizon_days, test_size, caller) -> pd.Timestamp:
    """Check the settings and that a whole label window follows the cutoff; return the cutoff."""
    cutoff = _as_timestamp(cutoff, "cutoff", caller)
    check_positive_int(horizon_days, "horizon_days", caller=caller)
    check_param("test_size", test_size, Interval(float, 0, 1, closed="neither"), caller=caller)
    end = _observation_end(transactions, None)
    if cutoff + pd.Timedelta(days=int(horizon_days)) > end:
        latest = (end - pd.Timedelta(days=int(horizon_days))).date()
        must = (
            f"a date leaving {horizon_days} days of data after it (the data end on {end.date()}; "
            f"latest possible cutoff {latest})"
        )
        raise param_error("cutoff", cutoff, must, caller=caller, got=str(cutoff.date()))
    return cutoff


def _out_of_time_rows(
    sources, spec, columns, cutoff, horizon_days, X_test, y_test, recency, **options
) -> list[dict]:
    """Train the models one horizon earlier (labels ending on the cutoff); test them at it.

    No rows when the history before the earlier cutoff is shorter than
    ``DEFAULT_MIN_HISTORY_DAYS`` or its labels have a single class.
    """
    earlier = cutoff - pd.Timedelta(days=int(horizon_days))
    first_day = pd.Timestamp(sources.transactions["date"].min())
    if earlier - first_day < pd.Timedelta(days=DEFAULT_MIN_HISTORY_DAYS):
        return []
    features = sources.features(earlier, spec, options["active_days"]).reindex(columns=columns)
    y = sources.labels(features.index, earlier, horizon_days).to_numpy()
    if len(np.unique(y)) < 2:
        return []
    sample = _training_sample(y, options["max_rows"], options["seed"])
    gbm, logistic = _fit_models(
        features.to_numpy(dtype=float)[sample],
        y[sample],
        seed=options["seed"],
        gbm_params=options["gbm_params"],
    )
    p_gbm, p_log = gbm.predict_proba(X_test)[:, 1], logistic.predict_proba(X_test)[:, 1]
    return _comparison_rows("out_of_time", y_test, p_gbm, p_log, recency)


def _warn_if_leaky(roc_auc: float, caller: str) -> None:
    if roc_auc > 0.99:
        warnings.warn(
            f"{caller}: held-out ROC AUC is {roc_auc:.3f}, suspiciously close to 1; "
            "check that no customer attribute encodes the outcome (leakage)",
            stacklevel=3,
        )


def _definitions(
    cutoff,
    horizon_days,
    active_days,
    *,
    value_given: bool,
    n_active=None,
    n_sample=None,
    n_train=None,
    n_explained=None,
) -> dict:
    """Say in plain language what the model's terms mean, for the report."""
    window_end = cutoff + pd.Timedelta(days=int(horizon_days))
    return {
        "active": f"bought at least once in the {active_days} days up to {cutoff.date()}",
        "churned": (
            f"no purchase in the horizon: no day with positive net spend between "
            f"{(cutoff + pd.Timedelta(days=1)).date()} and {window_end.date()} "
            f"({horizon_days} days). By construction this is the model's label, whichever churn "
            "definition the churn rate uses"
        ),
        "value": (
            "the value given by the caller (e.g. CLV)"
            if value_given
            else f"net revenue in the 365 days up to {cutoff.date()}"
        ),
        "main_reasons": (
            "features that raise this customer's churn probability most compared "
            "with a typical (median) active customer, with the customer's value"
            + (
                f"; given for the {n_explained:,} customers with the most revenue at risk "
                "(the top of the list), not for the others"
                if n_explained is not None and n_active is not None and n_explained < n_active
                else ""
            )
        ),
        "scores": _scores_definition(n_active, n_sample, n_train),
    }


def _scores_definition(n_active, n_sample, n_train) -> str:
    """How the ranked list was scored: out of sample for every customer, and on what sample."""
    if n_active is None:
        return "out of sample for every customer"
    sample = (
        f"trained on {n_train:,} of a stratified sample of {n_sample:,} of the {n_active:,} "
        "active customers"
        if n_sample < n_active
        else f"trained on {n_train:,} of the {n_active:,} active customers"
    )
    return (
        f"out of sample for every customer: the model was {sample}; those {n_train:,} get "
        f"their probability from a {DEFAULT_CROSS_FIT_FOLDS}-fold cross-fit (a model that did "
        "not see them), every other customer from the model"
    )
