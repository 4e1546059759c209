"""Contractual (subscription) customers: who has left, after how long, and who will leave next.

A subscription business sees churn: each customer either still holds a contract or has
cancelled. Its export is a customers table with each customer's tenure in whole periods and a
churned flag, or with a start (``signup_date``) and an end (``contract_end``) date.
:func:`contract_table` turns either shape into one row per customer with ``tenure`` (whole
periods: for a churner the period at whose end they left, 1 = left after the first; for an
active customer the periods completed) and ``churned`` (bool), the frame
:class:`cxlib.clv.RetentionModel` fits. :func:`contract_survival` gives Kaplan-Meier curves
from it (lifelines, through :func:`cxlib.churn.survival_by_segment`), and
:func:`contractual_churn_model` a classifier of who has churned from the customer's
attributes, judged on customers it was not trained on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib.churn.evaluation import _fit_models, _metrics
from cxlib.churn.leakage import model_attributes
from cxlib.churn.survival import SurvivalResult, survival_by_segment
from cxlib.settings import units
from cxlib.settings.validation import DataError, format_offenders, validate_columns

__all__ = [
    "CONTRACT_PERIODS",
    "ContractualChurnModel",
    "contract_columns",
    "contract_quality",
    "contract_survival",
    "contract_table",
    "contractual_churn_model",
]

#: The contract periods a client can have (``contract_period`` in the config); their lengths in
#: days are the one period table's (:data:`cxlib.settings.units.PERIODS`).
CONTRACT_PERIODS = ("D", "W", "M", "Q", "Y")

#: Texts read as a churned flag (compared trimmed and case-insensitively).
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "churned"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "active"}

#: Customers-table columns never used as classifier features: ids, the outcome, and columns
#: set together with it (a churner's tenure and end date stop when they leave).
_NOT_FEATURES = {"customer_id", "tenure", "churned", "signup_date", "contract_end"}


def contract_columns(
    customers: pd.DataFrame | None, *, tenure: str = "tenure", churned: str = "churned"
) -> str | None:
    """Return how ``customers`` describes contracts: ``"tenure"``, ``"dates"`` or None.

    ``"tenure"`` when it has the ``tenure`` and ``churned`` columns; ``"dates"`` when it has
    ``signup_date`` and a ``contract_end`` column with at least one date (an end date is what
    makes a customers table a contract history); otherwise None (not a contractual client).

    Examples
    --------
    >>> contract_columns(pd.DataFrame({"customer_id": ["a"], "tenure": [3], "churned": [True]}))
    'tenure'
    >>> contract_columns(pd.DataFrame({"customer_id": ["a"], "region": ["north"]})) is None
    True
    """
    if customers is None:
        return None
    if tenure in customers.columns and churned in customers.columns:
        return "tenure"
    if {"signup_date", "contract_end"} <= set(customers.columns):
        if customers["contract_end"].notna().any():
            return "dates"
    return None


def contract_table(
    customers: pd.DataFrame,
    *,
    tenure: str = "tenure",
    churned: str = "churned",
    period: str = "M",
    as_of=None,
) -> pd.DataFrame:
    """One row per contract customer: ``tenure`` (whole periods), ``churned``, attributes.

    Parameters
    ----------
    customers : DataFrame
        The canonical customers table, with the ``tenure`` and ``churned`` columns, or with
        ``signup_date`` and ``contract_end`` (an empty end: still a customer; an end on or
        before ``as_of``: left then).
    tenure, churned : str
        The columns holding each customer's tenure in whole periods and their churned flag
        (``true``/``false``, ``yes``/``no``, ``1``/``0``). A churner with tenure 0 left
        during their first period (a bank counts completed years): they are counted as lost
        after period 1 (tenure 1), and ``attrs["flagged"]`` counts them. A customer whose
        tenure or flag is missing (``?``, ``NA``, empty: read as missing by
        :func:`cxlib.data.load_customers`) is set aside and counted in ``attrs["set_aside"]``
        (:func:`contract_quality` turns both into data-quality records).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        The contract period, used to count whole periods between dates.
    as_of : date-like, optional
        The date the export describes (dates only); default the latest signup or end date.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``tenure`` (int), ``churned`` (bool), then the other
        columns of ``customers`` (the attributes).

    Raises
    ------
    DataError
        When the table has neither shape, or for a negative or fractional tenure, an
        unreadable churned flag, or an end before its start, naming a few offending rows.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "b"], "tenure": [3, 5],
    ...                       "churned": ["yes", "no"], "plan": ["basic", "pro"]})
    >>> contract_table(frame).reset_index().to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'customer_id': 'a', 'tenure': 3, 'churned': True, 'plan': 'basic'},
     {'customer_id': 'b', 'tenure': 5, 'churned': False, 'plan': 'pro'}]
    """
    caller = "contract_table"
    units.period(period, codes=CONTRACT_PERIODS, name="period", caller=caller)
    shape = contract_columns(customers, tenure=tenure, churned=churned)
    if shape is None:
        raise DataError(
            f"{caller}: the customers table has no contract history: it needs the columns "
            f"'{tenure}' and '{churned}' (set contract_tenure and contract_churned in the "
            "config's analysis section), or 'signup_date' and 'contract_end'"
        )
    validate_columns(customers, ["customer_id"], caller=caller)
    if shape == "tenure":
        periods, left, aside, flagged = _from_tenure(customers, tenure, churned, caller)
        attributes = customers.drop(columns=[tenure, churned])
    else:
        periods, left, as_of = _from_dates(customers, period, as_of, caller)
        attributes, aside, flagged = customers, {}, {}
    table = pd.DataFrame(
        {"tenure": periods, "churned": left}, index=pd.Index(customers["customer_id"])
    )
    extra = attributes.drop(
        columns=[c for c in ("customer_id", "tenure", "churned") if c in attributes]
    )
    table = table.join(extra.set_axis(table.index))
    keep = ~np.logical_or.reduce([np.zeros(len(table), dtype=bool), *aside.values()])
    if not keep.all():
        table = table.loc[keep]
    table.attrs["contract_shape"] = shape
    table.attrs["period"] = period
    table.attrs["set_aside"] = {reason: int(rows.sum()) for reason, rows in aside.items()}
    table.attrs["flagged"] = flagged
    if shape == "dates":  # the date the export describes, for churn over a calendar window
        table.attrs["as_of"] = as_of.strftime("%Y-%m-%d")
    return table


def contract_quality(contracts: pd.DataFrame, *, rows_read: int, source: str) -> list[dict]:
    """Data-quality records of a contract history (:func:`cxlib.data.quality_report`'s form).

    One record per reason a customer was set aside from the contract history (no tenure, no
    churned flag) and per kept row a reader should know about (a churner with tenure 0),
    under the table name ``"contracts"``: rows read are the customers table's rows.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "b", "c"], "tenure": [0, None, 4],
    ...                     "churned": [1, 0, 0]})
    >>> records = contract_quality(contract_table(raw), rows_read=3, source="c.csv")
    >>> [(r["reason"], r["rows_set_aside"], r["rows_flagged"]) for r in records]
    ... # doctest: +NORMALIZE_WHITESPACE
    [("no tenure ('tenure' missing)", 1, 0),
     ("kept: left during the first period ('tenure' 0), counted as lost after period 1", 0, 1)]
    """
    base = {"table": "contracts", "source": source, "rows_read": rows_read}
    base["rows_kept"] = len(contracts)
    aside = {k: n for k, n in contracts.attrs.get("set_aside", {}).items() if n}
    flagged = {k: n for k, n in contracts.attrs.get("flagged", {}).items() if n}
    records = [
        {**base, "rows_set_aside": n, "reason": k, "rows_flagged": 0} for k, n in aside.items()
    ] or [{**base, "rows_set_aside": 0, "reason": "none", "rows_flagged": 0}]
    records += [
        {**base, "rows_set_aside": 0, "reason": k, "rows_flagged": n} for k, n in flagged.items()
    ]
    return records


def _from_tenure(customers, tenure, churned, caller):
    """Tenure and churned flag per customer, and which rows miss either (set aside).

    A churner with tenure 0 (a bank counts completed years: they left during their first)
    is counted as lost after the first period, tenure 1: the shifted-beta-geometric model's
    earliest loss, and a Kaplan-Meier event at the first period's end.
    """
    periods = pd.to_numeric(customers[tenure], errors="coerce").to_numpy(dtype=float)
    flag = customers[churned]
    if flag.dtype == bool:
        left = flag.to_numpy()
        readable = np.ones(len(flag), dtype=bool)
        no_flag = np.zeros(len(flag), dtype=bool)
    else:
        no_flag = flag.isna().to_numpy()
        text = flag.astype(str).str.strip().str.lower()
        left = text.isin(_TRUE).to_numpy()
        readable = (text.isin(_TRUE) | text.isin(_FALSE)).to_numpy() | no_flag
    no_tenure = customers[tenure].isna().to_numpy()
    bad = ~no_tenure & (~np.isfinite(periods) | (periods < 0) | (periods != np.round(periods)))
    if bad.any():
        raise DataError(
            f"{caller}: column '{tenure}' needs whole periods >= 0; "
            f"{int(bad.sum())} row(s) do not: " + format_offenders(customers[tenure][bad])
        )
    if not readable.all():
        raise DataError(
            f"{caller}: column '{churned}' needs true/false (or yes/no, 1/0); "
            f"{int((~readable).sum())} row(s) do not: "
            + format_offenders(customers[churned][~readable])
        )
    first = left & (periods == 0) & ~no_flag
    periods = np.where(first, 1.0, np.nan_to_num(periods))
    aside = {
        f"no tenure ('{tenure}' missing)": no_tenure,
        f"no churned flag ('{churned}' missing)": no_flag & ~no_tenure,
    }
    flagged = {
        f"kept: left during the first period ('{tenure}' 0), counted as lost after period 1": (
            int(first.sum())
        )
    }
    return periods.astype(np.int64), left.astype(bool), aside, flagged


def _from_dates(customers, period, as_of, caller):
    start = pd.to_datetime(customers["signup_date"])
    end = pd.to_datetime(customers["contract_end"])
    if as_of is None:
        as_of = max(start.max(), end.max())
    as_of = pd.Timestamp(as_of)
    left = (end.notna() & (end <= as_of)).to_numpy()
    stop = end.where(left, as_of)
    days = (stop - start).dt.days.to_numpy(dtype=float)
    bad = start.isna().to_numpy() | ~(days >= 0)
    if bad.any():
        raise DataError(
            f"{caller}: {int(bad.sum())} customer(s) have no signup_date, or a contract_end or "
            f"as_of ({as_of:%Y-%m-%d}) before it: "
            + format_offenders(customers["customer_id"][bad])
        )
    length = days / units.days(period)
    # a churner paid for every period they started (at least one); an active customer has
    # completed the whole periods so far
    periods = np.where(left, np.maximum(np.ceil(length - 1e-9), 1), np.floor(length + 1e-9))
    return periods.astype(np.int64), left, as_of


def contract_survival(
    contracts: pd.DataFrame, *, by: str | None = None, min_group_size: int | None = None
) -> SurvivalResult:
    """Kaplan-Meier survival of contract customers (lifelines), split by an attribute.

    Tenure in periods is turned into days (:func:`cxlib.settings.units.days` of the table's
    period), so the curves, the median lifetimes and the one-year survival read like the
    transaction-based survival of :func:`cxlib.churn.survival_table`. Churners are events at
    their tenure; active customers are censored at theirs.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`contract_table`.
    by : str, optional
        An attribute to split the curves by (None: one curve).
    min_group_size : int, optional
        As in :func:`cxlib.churn.survival_by_segment`.

    Examples
    --------
    >>> contracts = pd.DataFrame({"tenure": [1, 2, 2, 3], "churned": [True, True, False, True]})
    >>> contract_survival(contracts).curves["survival"].round(3).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    validate_columns(contracts, ["tenure", "churned"], caller="contract_survival")
    days = units.days(contracts.attrs.get("period", "M"), codes=CONTRACT_PERIODS)
    table = pd.DataFrame(
        {
            "duration_days": contracts["tenure"].to_numpy(dtype=float) * days,
            "event": contracts["churned"].to_numpy(dtype=bool),
        },
        index=contracts.index,
    )
    if by is not None:
        validate_columns(contracts, [by], caller="contract_survival")
        table[by] = contracts[by].astype("string").fillna("missing").astype(object).to_numpy()
    options = {} if min_group_size is None else {"min_group_size": min_group_size}
    return survival_by_segment(table, segment=by, **options)


@dataclass
class ContractualChurnModel:
    """Who has churned, from the customer's attributes (:func:`contractual_churn_model`).

    Attributes
    ----------
    metrics : dict
        Of the gradient-boosting model on customers it was not trained on (out-of-fold):
        ``roc_auc``, ``pr_auc``, ``top_decile_lift``, ``brier``, ``n``, ``churn_rate``; plus
        ``logistic_roc_auc`` and ``n_folds``.
    comparison : DataFrame
        One row per model (``gradient_boosting``, ``logistic``), the metrics as columns.
    scores : DataFrame
        One row per customer, riskiest first: ``churn_probability`` (out-of-fold: from a model
        that never saw the customer), ``churned``.
    features : list of str
        The attribute columns used (one-hot columns named ``column=level``).
    excluded : list of str
        Columns left out, with why in :attr:`definition`.
    definition : str
        One sentence on what is predicted and from what.
    model : object
        The gradient-boosting model refitted on every customer.
    """

    metrics: dict
    comparison: pd.DataFrame
    scores: pd.DataFrame
    features: list
    excluded: list
    definition: str
    model: Any = field(repr=False, default=None)


def _design(contracts: pd.DataFrame, max_levels: int) -> tuple[pd.DataFrame, list]:
    """Numeric attributes as they are, text attributes one-hot (top ``max_levels`` levels).

    Functions of tenure, dates and identifiers are left out
    (:func:`cxlib.churn.leakage.model_attributes`).
    """
    used, left_out = model_attributes(contracts)
    columns, excluded = {}, list(left_out["column"])
    for name in used:
        if name in _NOT_FEATURES:
            continue
        values = contracts[name]
        numeric = pd.to_numeric(values, errors="coerce")
        if pd.api.types.is_datetime64_any_dtype(values):
            excluded.append(name)
        elif numeric.notna().sum() >= 0.9 * values.notna().sum() and values.notna().any():
            columns[name] = numeric.to_numpy(dtype=float)
        elif 2 <= values.nunique() <= 200:
            for level in values.value_counts().index[:max_levels]:
                columns[f"{name}={level}"] = (values == level).to_numpy(dtype=float)
        else:
            excluded.append(name)
    return pd.DataFrame(columns, index=contracts.index), excluded


def contractual_churn_model(
    contracts: pd.DataFrame, *, seed: int = 0, n_folds: int = 5, max_levels: int = 8
) -> ContractualChurnModel:
    """Classify who has churned from the customers' attributes, judged out of fold.

    Every customer is scored by a model trained on the other folds (stratified ``n_folds``
    folds), so the metrics are measured on customers held out from training and the ranked
    list never scores a customer in-sample. Models: sklearn's gradient boosting (the settings
    of :func:`cxlib.churn.churn_model`) against a logistic regression on the same features.
    Tenure and the dates are not features: a churner's tenure stops when they leave, so it
    describes the outcome rather than predicting it (the retention model uses it instead); nor
    is any attribute computed from tenure (a total charge, a count that grows with time:
    :func:`cxlib.churn.leakage.tenure_leakage`) or an identifier; :attr:`excluded` lists them.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`contract_table`; needs at least one attribute column.
    seed : int, default 0
    n_folds : int, default 5
        Reduced to the size of the smaller class when that is smaller.
    max_levels : int, default 8
        Levels of a text attribute kept as one-hot columns.

    Raises
    ------
    DataError
        No attribute to learn from, or fewer than two customers in either class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> plan = rng.choice(["monthly", "yearly"], 400)
    >>> churned = rng.random(400) < np.where(plan == "monthly", 0.6, 0.1)
    >>> contracts = pd.DataFrame({"tenure": 5, "churned": churned, "plan": plan})
    >>> model = contractual_churn_model(contracts)
    >>> bool(model.metrics["roc_auc"] > 0.7)
    True
    """
    caller = "contractual_churn_model"
    validate_columns(contracts, ["tenure", "churned"], caller=caller)
    X, excluded = _design(contracts, max_levels)
    if X.shape[1] == 0:
        raise DataError(
            f"{caller}: the customers table has no attribute to learn from (only "
            f"{sorted(set(contracts.columns) & _NOT_FEATURES) or 'the outcome'})"
        )
    y = contracts["churned"].to_numpy(dtype=bool).astype(int)
    smaller = int(min(y.sum(), len(y) - y.sum()))
    if smaller < 2:
        raise DataError(f"{caller}: {smaller} customer(s) in the smaller class; need at least 2")
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=min(n_folds, smaller), shuffle=True, random_state=seed)
    p_gbm, p_log = np.empty(len(y)), np.empty(len(y))
    values = X.to_numpy()
    for train, test in folds.split(values, y):
        gbm, logistic = _fit_models(values[train], y[train], seed=seed, gbm_params=None)
        p_gbm[test] = gbm.predict_proba(values[test])[:, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            p_log[test] = logistic.predict_proba(values[test])[:, 1]
    comparison = pd.DataFrame(
        [_metrics(y, p_gbm), _metrics(y, p_log)],
        index=pd.Index(["gradient_boosting", "logistic"], name="model"),
    )
    metrics = {k: float(v) for k, v in comparison.loc["gradient_boosting"].items()}
    metrics.update(
        logistic_roc_auc=float(comparison.loc["logistic", "roc_auc"]),
        n_folds=folds.get_n_splits(),
        n=int(len(y)),
    )
    scores = pd.DataFrame(
        {"churn_probability": p_gbm, "churned": y.astype(bool)}, index=contracts.index
    ).sort_values("churn_probability", ascending=False, kind="stable")
    model = _fit_models(values, y, seed=seed, gbm_params=None)[0]
    definition = (
        f"Predicts whether a customer has cancelled from {X.shape[1]} attribute column(s); "
        f"every customer is scored by a model trained on the other {folds.get_n_splits() - 1} "
        "of the folds (out-of-fold), and the metrics are measured on those scores. Tenure, "
        "contract dates and attributes computed from tenure are not used: they end or grow "
        "with the customer's stay."
    )
    return ContractualChurnModel(
        metrics, comparison, scores, list(X.columns), excluded, definition, model
    )
