"""The churn page of a subscription client, computed in one call: :func:`subscriber_churn`.

It chooses the attributes every model may use once (:func:`cxlib.churn.leakage.model_attributes`)
and runs, on those only: the churn rate against plan by the attribute that separates survival
most, the survival curves and short table (:func:`cxlib.churn.subscribers.survival_splits`),
the Cox drivers (:func:`cxlib.churn.subscribers.subscriber_drivers`) and the out-of-fold list
of active subscribers at risk (:func:`cxlib.churn.subscriber_risk.at_risk_subscribers`), with
the headline numbers the executive summary shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxlib.churn.contractual import CONTRACT_PERIODS
from cxlib.churn.cox import CoxResult
from cxlib.churn.leakage import model_attributes
from cxlib.churn.subscriber_risk import AtRisk, at_risk_subscribers, periodic_value
from cxlib.churn.subscribers import (
    SurvivalSplits,
    subscriber_churn_rate,
    subscriber_drivers,
    survival_splits,
    window_churn_rate,
)
from cxlib.settings import units
from cxlib.settings.headline import Headline

__all__ = ["SubscriberChurn", "subscriber_churn"]


@dataclass
class SubscriberChurn:
    """Everything the churn page shows for a subscription client (:func:`subscriber_churn`).

    Attributes
    ----------
    attributes : list of str
        The attributes every model used.
    left_out : DataFrame
        ``column``, ``reason``: attributes kept out of every model (functions of tenure,
        dates, identifiers).
    rate : DataFrame
        :func:`cxlib.churn.subscribers.subscriber_churn_rate` by the groups of the separating
        attribute, ``"total"`` last.
    rate_note : str
    splits : SurvivalSplits
    drivers : CoxResult
    at_risk : AtRisk or None
        None when no attribute can score (``at_risk_note`` says why).
    at_risk_note : str
    period : str
    unit : str
        ``"currency"`` when a payment per period is known, else ``"number"`` (periods).
    """

    attributes: list
    left_out: pd.DataFrame
    rate: pd.DataFrame
    rate_note: str
    splits: SurvivalSplits
    drivers: CoxResult
    at_risk: AtRisk | None
    at_risk_note: str
    period: str
    unit: str

    @property
    def attributes_note(self) -> str:
        """One sentence: the attributes the models use; the table of those left out follows."""
        used = ", ".join(self.attributes) or "none"
        text = f"{len(self.attributes)} attribute(s) used by every model: {used}."
        if self.left_out.empty:
            return text + " None left out: no attribute is a function of tenure, a date or an id."
        return text + " Left out:"

    @property
    def ranked(self) -> pd.DataFrame:
        """The list of active subscribers at risk (empty without one), without empty columns."""
        if self.at_risk is None:
            return pd.DataFrame(columns=["customer_id", "tenure", "churn_probability"])
        return self.at_risk.scores.dropna(axis=1, how="all")

    @property
    def headlines(self) -> list[Headline]:
        """The page's numbers for the executive summary (keys as the retail churn page's)."""
        total = self.rate.loc["total"]
        name = units.period_name(self.period, codes=CONTRACT_PERIODS)
        out = [
            Headline(
                "churn_rate",
                f"Churn per {name} (subscribers)",
                float(total["churn_rate"]),
                unit="percent",
                ci_low=float(total["churn_rate_low"]),
                ci_high=float(total["churn_rate_high"]),
                note=self.rate_note,
            )
        ]
        target = total["target_rate"]
        if pd.notna(target):
            out += [
                Headline("churn_target", f"Planned churn per {name}", float(target),
                         unit="percent"),
                Headline("churn_gap", "Churn above plan (points of rate)",
                         float(total["churn_rate"] - target), unit="percent"),
            ]  # fmt: skip
        if self.splits.best is not None:
            out.append(
                Headline("survival_split", "Attribute that separates survival most",
                         self.splits.best, unit="text", note=self.splits.note)
            )  # fmt: skip
        if self.at_risk is not None and self.unit == "currency":
            horizon = self.at_risk.metrics["horizon_periods"]
            out.append(
                Headline(
                    "revenue_at_risk",
                    "Revenue at risk (active subscribers, next "
                    f"{horizon} {units.period_name(self.period, horizon, codes=CONTRACT_PERIODS)})",
                    float(self.at_risk.scores["revenue_at_risk"].sum()),
                    unit="currency",
                    note="payment per period x expected periods lost over the horizon",
                )
            )
        if self.at_risk is not None:
            out.append(
                Headline("churn_model_concordance", "Risk model concordance (out of fold)",
                         float(self.at_risk.metrics["concordance"]), unit="number")
            )  # fmt: skip
        return out


def subscriber_churn(
    contracts: pd.DataFrame,
    *,
    value=None,
    target_churn_rate: float | None = None,
    seed: int = 0,
) -> SubscriberChurn:
    """Compute a subscription client's churn page from its contract history.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`cxlib.churn.contractual.contract_table` (``client.contracts``).
    value : str, float or None
        The config's ``contract_value``: a column with each subscriber's payment per period,
        one number for all, or None (the list then ranks by periods lost).
    target_churn_rate : float, optional
        The plan's churn rate per contract period.
    seed : int, default 0

    Returns
    -------
    SubscriberChurn
    """
    period = contracts.attrs.get("period", "M")
    attributes, left_out = model_attributes(contracts)
    splits = survival_splits(contracts, attributes)
    rate = subscriber_churn_rate(contracts, target_rate=target_churn_rate, groups=splits.groups)
    rate.index.name = splits.best or "group"  # the rows are the separating attribute's groups
    name = units.period_name(period, codes=CONTRACT_PERIODS)
    total = rate.loc["total"]
    rate_note = (
        f"{int(total['churned']):,} of {int(total['customers']):,} subscribers have left over "
        f"{total['exposure_periods']:,.0f} {units.period_name(period, 2, codes=CONTRACT_PERIODS)} "
        f"of subscription: {total['churn_rate']:.2%} per {name} (95% interval "
        f"{total['churn_rate_low']:.2%} to {total['churn_rate_high']:.2%})"
    )
    if target_churn_rate is None:
        rate_note += "; the config sets no plan (target_churn_rate), so there is no gap."
    else:
        word = "above" if total["churn_rate"] > target_churn_rate else "at or below"
        rate_note += f", {word} the plan of {target_churn_rate:.2%} per {name}."
    window = window_churn_rate(contracts)
    if window is not None:
        rate_note += (
            f" Over the last {window['days']} days of the export: {window['churned']:,} of the "
            f"{window['customers']:,} subscribers holding a contract on {window['start']:%d %b %Y} "
            f"had left by {window['end']:%d %b %Y} ({window['rate']:.1%}, 95% interval "
            f"{window['ci_low']:.1%} to {window['ci_high']:.1%})."
        )
    drivers = subscriber_drivers(contracts, attributes, seed=seed)
    per_period = periodic_value(contracts, value)
    try:
        at_risk = at_risk_subscribers(contracts, attributes, value=per_period, seed=seed)
        at_risk_note = at_risk.note
    except ValueError as error:  # DataError: no attribute, or no churner to learn from
        at_risk, at_risk_note = None, f"No list of subscribers at risk: {error}"
    unit = "currency" if per_period is not None else "number"
    return SubscriberChurn(
        attributes, left_out, rate, rate_note, splits, drivers, at_risk, at_risk_note, period, unit
    )
