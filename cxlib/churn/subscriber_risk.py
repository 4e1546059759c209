"""Active subscribers at risk, scored out of fold, with the revenue their churn would take.

:func:`at_risk_subscribers` fits a Cox model of tenure on the attributes every model may use
(:func:`cxlib.churn.leakage.model_attributes`) in ``n_folds`` folds and scores each customer
with the model fitted on the other folds: no customer's score comes from a model that saw
them. For an active subscriber with tenure ``t``, the model's survival conditional on having
lasted ``t`` periods gives the chance of leaving within the horizon and the expected number
of the horizon's periods they will not pay (the horizon minus the area under that survival
curve: a customer who leaves mid-period stops paying then, on average); times their value per
period (``contract_value``) that is the revenue at risk.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn.contractual import CONTRACT_PERIODS
from cxlib.churn.subscribers import _is_number, _number
from cxlib.settings import units
from cxlib.settings.validation import DataError, validate_columns

__all__ = ["AtRisk", "at_risk_subscribers", "cox_design", "periodic_value"]


@dataclass
class AtRisk:
    """Active subscribers ranked by revenue at risk (:func:`at_risk_subscribers`).

    Attributes
    ----------
    scores : DataFrame
        One row per active subscriber, most at risk first: ``customer_id``, ``tenure``,
        ``churn_probability`` (of leaving within the horizon), ``expected_periods_lost`` (of
        the horizon's periods), ``value_per_period`` and ``revenue_at_risk`` (their product;
        NaN without a value), plus ``risk_group`` when groups are given.
    metrics : dict
        ``concordance`` (Harrell's C of the out-of-fold scores over every customer, churners
        included: 0.5 is chance), ``n_folds``, ``horizon_periods``, ``n_active``.
    note : str
        What was scored, how, and on what horizon, for the page.
    """

    scores: pd.DataFrame
    metrics: dict
    note: str


def periodic_value(contracts: pd.DataFrame, setting) -> pd.Series | None:
    """Each subscriber's payment per period: a column, one number, or None (``contract_value``).

    Examples
    --------
    >>> periodic_value(pd.DataFrame({"fee": [9.5, 20.0]}), "fee").tolist()
    [9.5, 20.0]
    >>> periodic_value(pd.DataFrame({"fee": [9.5, 20.0]}), 12.0).tolist()
    [12.0, 12.0]
    """
    if setting is None:
        return None
    if isinstance(setting, str):
        validate_columns(contracts, [setting], caller="periodic_value (contract_value)")
        return pd.to_numeric(contracts[setting], errors="coerce").rename("value_per_period")
    return pd.Series(float(setting), index=contracts.index, name="value_per_period")


def cox_design(contracts: pd.DataFrame, attributes: list[str], max_levels: int = 8):
    """Return a numeric design: numbers standardised, text one-hot (but the most common level).

    Missing numbers take the median; missing text is its own level ``"missing"``; text
    levels beyond ``max_levels`` are pooled. The same columns for every fold.
    """
    columns = {}
    for name in attributes:
        values = contracts[name]
        numbers = pd.to_numeric(values, errors="coerce")
        if _is_number(values, numbers):
            filled = numbers.fillna(numbers.median())
            spread = filled.std()
            if spread > 0:
                columns[name] = ((filled - filled.mean()) / spread).to_numpy(dtype=float)
            continue
        text = values.astype("string").fillna("missing").astype(object)
        if pd.api.types.is_numeric_dtype(values):  # a count with few values: its levels
            text = numbers.map(_number, na_action="ignore").fillna("missing").astype(object)
        counts = text.value_counts()
        for level in counts.index[1 : max_levels + 1]:
            columns[f"{name}={level}"] = (text == level).to_numpy(dtype=float)
    return pd.DataFrame(columns, index=contracts.index)


def at_risk_subscribers(
    contracts: pd.DataFrame,
    attributes: list[str],
    *,
    value: pd.Series | None = None,
    horizon_periods: int | None = None,
    n_folds: int = 5,
    seed: int = 0,
    penalizer: float = 0.01,
) -> AtRisk:
    """Rank active subscribers by revenue at risk over a horizon, scored out of fold.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`cxlib.churn.contractual.contract_table`.
    attributes : list of str
        The attributes the model may use (:func:`cxlib.churn.leakage.model_attributes`).
    value : Series, optional
        Payment per period per customer (:func:`periodic_value`); without it the list ranks by
        expected periods lost and ``revenue_at_risk`` is NaN.
    horizon_periods : int, optional
        Periods ahead; default one year of the contract period (12 months, 1 year).
    n_folds : int, default 5
    seed : int, default 0
    penalizer : float, default 0.01
        L2 penalty of :class:`lifelines.CoxPHFitter`.

    Raises
    ------
    DataError
        No attribute to learn from, or no churner (no event to fit).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> plan = rng.choice(["monthly", "yearly"], 400)
    >>> tenure = np.where(plan == "monthly", rng.geometric(0.2, 400), rng.geometric(0.03, 400))
    >>> contracts = pd.DataFrame({"tenure": tenure, "churned": rng.random(400) < 0.7,
    ...                           "plan": plan}, index=[f"c{i}" for i in range(400)])
    >>> contracts.attrs["period"] = "M"
    >>> risk = at_risk_subscribers(contracts, ["plan"], value=pd.Series(10.0, contracts.index))
    >>> bool(risk.metrics["concordance"] > 0.6), risk.metrics["horizon_periods"]
    (True, 12)
    >>> top = risk.scores.iloc[0]
    >>> bool(np.isclose(top["revenue_at_risk"], 10.0 * top["expected_periods_lost"]))
    True
    """
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index
    from sklearn.model_selection import StratifiedKFold

    caller = "at_risk_subscribers"
    validate_columns(contracts, ["tenure", "churned", *attributes], caller=caller)
    period = contracts.attrs.get("period", "M")
    if horizon_periods is None:
        horizon_periods = max(1, round(units.periods_per_year(period, codes=CONTRACT_PERIODS)))
    design = cox_design(contracts, attributes)
    if design.shape[1] == 0:
        raise DataError(f"{caller}: no attribute varies, so there is nothing to score from")
    y = contracts["churned"].to_numpy(dtype=bool)
    smaller = int(min(y.sum(), (~y).sum()))
    if smaller < 2:
        raise DataError(f"{caller}: {smaller} customer(s) in the smaller class; need at least 2")
    tenure = contracts["tenure"].to_numpy(dtype=float)
    folds = StratifiedKFold(n_splits=min(n_folds, smaller), shuffle=True, random_state=seed)
    hazard = np.empty(len(y))
    paid = np.zeros(len(y))
    horizon_kept = np.ones(len(y))
    times = np.arange(0, horizon_periods + 1, dtype=float)
    for train, test in folds.split(design.to_numpy(), y):
        frame = design.iloc[train].assign(_t=tenure[train] + 0.5, _e=y[train])
        frame = frame.loc[:, (frame.std() > 0) | frame.columns.isin(["_t", "_e"])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter(penalizer=penalizer).fit(frame, "_t", "_e")
        held = design.iloc[test][[c for c in frame.columns if c not in ("_t", "_e")]]
        hazard[test] = cph.predict_partial_hazard(held).to_numpy()
        # survival over the next periods, given the tenure already lasted (+0.5 as fitted)
        curve = cph.predict_survival_function(
            held, times=times, conditional_after=tenure[test] + 0.5
        ).to_numpy()  # (times, customers)
        curve = np.clip(curve, 0.0, 1.0)
        # periods paid: the area under the survival curve (payments run through a period)
        paid[test] = ((curve[:-1] + curve[1:]) / 2).sum(axis=0)
        horizon_kept[test] = curve[-1]
    concordance = float(concordance_index(tenure, -hazard, y))
    active = ~y
    scores = pd.DataFrame(
        {
            "customer_id": contracts.index[active].astype(str),
            "tenure": contracts["tenure"].to_numpy()[active],
            "churn_probability": 1 - horizon_kept[active],
            "expected_periods_lost": horizon_periods - paid[active],
        }
    )
    if value is not None:
        scores["value_per_period"] = value.reindex(contracts.index).to_numpy(dtype=float)[active]
        scores["revenue_at_risk"] = scores["value_per_period"] * scores["expected_periods_lost"]
        key = "revenue_at_risk"
    else:
        scores["value_per_period"] = np.nan
        scores["revenue_at_risk"] = np.nan
        key = "expected_periods_lost"
    scores = scores.sort_values([key, "customer_id"], ascending=[False, True], kind="stable")
    scores = scores.reset_index(drop=True)
    name = units.period_name(period, horizon_periods, codes=CONTRACT_PERIODS)
    metrics = {
        "concordance": concordance,
        "n_folds": folds.get_n_splits(),
        "horizon_periods": int(horizon_periods),
        "n_active": int(active.sum()),
    }
    note = (
        f"{int(active.sum()):,} active subscribers scored by a Cox model of tenure on "
        f"{len(attributes)} attribute(s), each by the model fitted on the other "
        f"{folds.get_n_splits() - 1} of {folds.get_n_splits()} folds (out of fold); the risk is "
        f"of leaving within the next {horizon_periods} {name}, given the tenure already "
        f"reached. Out-of-fold concordance {concordance:.3f} (0.5 is chance)."
    )
    beyond = int((scores["tenure"] >= tenure.max()).sum())
    if beyond:
        note += (
            f" {beyond:,} active subscriber(s) have reached the longest tenure observed "
            f"({int(tenure.max())} {units.period_name(period, 2, codes=CONTRACT_PERIODS)}): "
            "no churn was seen beyond it, so the model cannot score their risk above zero."
        )
    if value is None:
        note += (
            " The export has no payment per period (contract_value), so the list ranks by "
            "expected periods lost, not money."
        )
    return AtRisk(scores, metrics, note)
