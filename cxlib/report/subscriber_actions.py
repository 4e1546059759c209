"""Ranked actions of a subscription client, on the actions' one basis (annual gross margin).

:func:`subscriber_actions` turns the churn page's results
(:class:`cxlib.churn.SubscriberChurn`) into :class:`~cxlib.report.actions.Action` records:

* **Retain the at-risk top**: :func:`cxlib.report.actions.retention_action` on the active
  subscribers ranked by revenue at risk over the next year (payment per period x expected
  periods lost), so the same assumed save rate and the same basis as a retailer's campaign.
* **Test moving subscribers to the longer-lasting plan**: when a plan or contract-type
  attribute (its name says so: ``contract``, ``plan``, ``tariff``, ``subscription``,
  ``package``, ``tier``, ``term``) separates survival (Holm-significant log-rank) and its
  longest-lasting level churns at most two thirds as often per period as the others, a test
  offer to move a share of the other levels' active subscribers (an assumed take-up,
  :data:`DEFAULT_TAKE_UP`). Its value is the annual margin those customers would keep were
  they to churn at the longer plan's rate: an association seen in the data, which a
  randomised offer must confirm, so the action says *test*.

A client without a payment per period (``contract_value``) has no money to rank actions by:
none is recorded, and the page says so.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cxlib.churn.subscribers import subscriber_churn_rate
from cxlib.report.actions import Action, retention_action, to_annual_margin
from cxlib.settings import units

__all__ = ["DEFAULT_TAKE_UP", "PLAN_NAMES", "plan_move_action", "subscriber_actions"]

#: Assumed share of the other plans' active subscribers who take a move offer, and its range.
DEFAULT_TAKE_UP = (0.10, 0.05, 0.15)
#: Attribute names read as a plan or contract type (case-insensitive, anywhere in the name).
PLAN_NAMES = re.compile(r"contract|plan|tariff|subscription|package|tier|term", re.I)
#: The longer plan must churn at most this share of the others' rate per period.
MAX_RATE_RATIO = 2 / 3


def subscriber_actions(churn, analysis, *, contracts: pd.DataFrame | None = None) -> list:
    """Return the subscription client's actions (retention, plan-move test), None-free.

    Both are valued on the actions' one basis, net of their cost: the retention campaign pays
    ``analysis.retention_contact_cost`` per contacted subscriber and
    ``analysis.retention_incentive`` per saved one, as a retailer's does.

    Parameters
    ----------
    churn : SubscriberChurn
        From :func:`cxlib.churn.subscriber_churn`.
    analysis : AnalysisConfig
        The client's settings (``client.analysis``): ``margin`` and the retention costs.
    contracts : DataFrame, optional
        The contract history (``client.contracts``), for the plan-move test.
    """
    margin = analysis.margin
    if churn.at_risk is None or churn.unit != "currency":
        return []
    scores = churn.at_risk.scores
    horizon = churn.at_risk.metrics["horizon_periods"]
    per_year = units.periods_per_year(churn.period, codes=("D", "W", "M", "Q", "Y"))
    yearly = scores.assign(revenue_at_risk=scores["revenue_at_risk"] * per_year / horizon)
    groups = churn.splits.groups  # named with their attribute: "Age 18 to 32"
    named = None if groups is None else groups.astype(str).radd(f"{groups.name} ")
    actions = [
        retention_action(
            yearly,
            margin=margin,
            segments=named,
            contact_cost=analysis.retention_contact_cost,
            incentive=analysis.retention_incentive,
        )
    ]
    if contracts is not None:
        actions.append(
            plan_move_action(
                churn, contracts, margin=margin, contact_cost=analysis.retention_contact_cost
            )
        )
    return [a for a in actions if a is not None]


def _expected_paid(rate: float, periods: int) -> float:
    """Periods paid over ``periods`` at a constant churn ``rate`` (area under the curve)."""
    survival = (1 - rate) ** np.arange(periods + 1)
    return float(((survival[:-1] + survival[1:]) / 2).sum())


def plan_move_action(
    churn,
    contracts: pd.DataFrame,
    *,
    margin: float,
    take_up: tuple[float, float, float] = DEFAULT_TAKE_UP,
    contact_cost: float = 0.0,
) -> Action | None:
    """Value a test offer moving subscribers to the plan whose subscribers stay longest.

    None when no attribute reads as a plan, the plan does not separate survival
    (Holm-significant, in ``churn.splits.tests``), or its best level does not churn at most
    :data:`MAX_RATE_RATIO` as often as the others.

    ``value = take-up x active subscribers on the other plans x their payment per year x
    (year's periods paid at the longer plan's churn rate - at their own) / periods a year x
    margin - contact_cost x subscribers offered`` (the offer goes to every active subscriber on
    the other plans); the interval is the take-up's range. None when it does not pay.
    """
    tests = churn.splits.tests
    candidates = [
        name
        for name in tests.index
        if PLAN_NAMES.search(str(name)) and tests.loc[name, "significant"]
    ]
    if not candidates or churn.at_risk is None:
        return None
    plan = candidates[0]
    levels = contracts[plan].astype("string").fillna("missing")
    rates = subscriber_churn_rate(contracts, groups=levels).drop(index="total")
    rates = rates.loc[rates["customers"] >= 30]
    if len(rates) < 2:
        return None
    best = rates["churn_rate"].idxmin()
    others = rates.drop(index=best)
    other_rate = float(others["churned"].sum() / others["exposure_periods"].sum())
    best_rate = float(rates.loc[best, "churn_rate"])
    if not best_rate <= MAX_RATE_RATIO * other_rate:
        return None
    per_year = max(1, round(units.periods_per_year(churn.period, codes=("D", "W", "M", "Q", "Y"))))
    kept_periods = _expected_paid(best_rate, per_year) - _expected_paid(other_rate, per_year)
    scores = churn.at_risk.scores.set_index("customer_id")
    movable = levels.reindex(scores.index.astype(str)).ne(str(best)).to_numpy()
    pay = scores.loc[movable, "value_per_period"]
    yearly = to_annual_margin(float(pay.sum()) * kept_periods, margin)
    rate, low, high = take_up
    offered = int(movable.sum())
    value, value_low, value_high = (yearly * r - contact_cost * offered for r in take_up)
    if value <= 0:
        return None
    period = units.period_name(churn.period, codes=("D", "W", "M", "Q", "Y"))
    cost = (
        f"contact cost {contact_cost:,.2f} per offer" if contact_cost else "no contact cost given"
    )
    return Action(
        f"Test an offer moving subscribers to the '{best}' {plan} (its subscribers churn "
        f"{best_rate:.1%} per {period} against {other_rate:.1%} on the others: an association "
        f"to test with a randomised offer, not a promise; assumed take-up {rate:.0%}, range "
        f"{low:.0%} to {high:.0%})",
        f"active subscribers not on '{best}'",
        int(round(rate * offered)),
        value,
        value_low,
        value_high,
        kpi=f"churn per {period} of offered vs not-offered subscribers; net of {cost}",
        page="02_churn",
    )
