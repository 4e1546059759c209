"""Revenue at risk by segment, retention-campaign economics, and the churn headlines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.settings.headline import Headline
from cxlib.settings.params import Interval, check_param, param_error
from cxlib.settings.validation import check_positive_int, validate_columns


def revenue_at_risk_by_segment(
    scores: pd.DataFrame, segments: pd.Series | None = None
) -> pd.DataFrame:
    """Sum the scored list by segment: customers, expected churners, value and revenue at risk.

    Parameters
    ----------
    scores : DataFrame
        ``customer_id``, ``churn_probability``, ``value``, ``revenue_at_risk`` (e.g.
        ``ChurnModelResult.scores``).
    segments : Series, optional
        Segment per ``customer_id``; missing -> ``"unknown"``.

    Returns
    -------
    DataFrame
        Indexed by ``segment``: ``customers``, ``expected_churners``, ``mean_churn_probability``,
        ``value``, ``revenue_at_risk``, ``share_of_risk``; highest revenue at risk first.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "churn_probability": [0.5, 0.1],
    ...                   "value": [100.0, 50.0], "revenue_at_risk": [50.0, 5.0]})
    >>> revenue_at_risk_by_segment(s)["revenue_at_risk"].tolist()
    [55.0]
    """
    validate_columns(
        scores,
        ["customer_id", "churn_probability", "value", "revenue_at_risk"],
        caller="revenue_at_risk_by_segment",
    )
    ids = scores["customer_id"].astype(str)
    if segments is None:
        group = pd.Series("all", index=scores.index)
    else:
        seg = segments.copy()
        seg.index = seg.index.astype(str)
        group = pd.Series(
            seg.reindex(ids).astype(object).fillna("unknown").astype(str).to_numpy(),
            index=scores.index,
        )
    out = (
        scores.assign(segment=group)
        .groupby("segment")
        .agg(
            customers=("customer_id", "size"),
            expected_churners=("churn_probability", "sum"),
            mean_churn_probability=("churn_probability", "mean"),
            value=("value", "sum"),
            revenue_at_risk=("revenue_at_risk", "sum"),
        )
    )
    total = out["revenue_at_risk"].sum()
    out["share_of_risk"] = out["revenue_at_risk"] / total if total > 0 else np.nan
    return out.sort_values("revenue_at_risk", ascending=False)


def retention_economics(
    scores: pd.DataFrame,
    *,
    margin: float,
    save_rate: float = 0.2,
    groups: int = 10,
) -> pd.DataFrame:
    """Compute what a retention contact may cost, per risk decile of the ranked churn list.

    Customers are ranked by churn probability (riskiest first; ties by ``customer_id``) and cut
    into ``groups`` groups of equal size. Per group, the **margin at risk** is the sum of
    churn probability x the customer's net revenue of the last 12 months x ``margin``: the
    annual gross margin that leaves if the predicted churners leave. If a contact saves
    ``save_rate`` of the churners it reaches, each contacted customer is worth
    ``save_rate x margin at risk / customers`` a year: the **break-even contact cost**, the
    most a contact (call, voucher, ...) may cost before the campaign loses money.

    Parameters
    ----------
    scores : DataFrame
        ``customer_id``, ``churn_probability`` and ``value`` (net revenue, last 12 months),
        e.g. ``ChurnModelResult.score(...)``.
    margin : float
        Gross margin on revenue, in (0, 1] (the client's ``margin``).
    save_rate : float
        Assumed share of would-be churners a contact keeps, in (0, 1]: an assumption to
        state, or to measure with a test campaign.
    groups : int
        Number of risk groups (10 = deciles).

    Returns
    -------
    DataFrame
        Indexed by ``risk_decile`` (1 = riskiest): ``customers``, ``mean_churn_probability``,
        ``revenue_12m``, ``revenue_at_risk`` (annual net revenue), ``margin_at_risk`` (annual
        gross margin), ``break_even_cost`` (per contacted customer, annual gross margin) and
        ``cumulative_margin_at_risk``. ``attrs["basis"]`` and ``attrs["save_rate"]`` state the
        assumptions.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": list("abcd"), "churn_probability": [0.9, 0.1, 0.5, 0.2],
    ...                   "value": [100.0, 100.0, 200.0, 50.0]})
    >>> table = retention_economics(s, margin=0.5, save_rate=0.2, groups=2)
    >>> table[["margin_at_risk", "break_even_cost"]].to_numpy().tolist()
    [[95.0, 9.5], [10.0, 1.0]]
    """
    caller = "retention_economics"
    validate_columns(scores, ["customer_id", "churn_probability", "value"], caller=caller)
    for name, number in (("margin", margin), ("save_rate", save_rate)):
        check_param(name, number, Interval(float, 0, 1, closed="right"), caller=caller)
    check_positive_int(groups, "groups", caller=caller)
    ranked = scores.assign(customer_id=scores["customer_id"].astype(str)).sort_values(
        ["churn_probability", "customer_id"], ascending=[False, True], kind="stable"
    )
    ranked["risk_decile"] = (np.arange(len(ranked)) * groups // max(len(ranked), 1)) + 1
    ranked["revenue_at_risk"] = ranked["churn_probability"] * ranked["value"]
    out = ranked.groupby("risk_decile").agg(
        customers=("customer_id", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        revenue_12m=("value", "sum"),
        revenue_at_risk=("revenue_at_risk", "sum"),
    )
    out["margin_at_risk"] = out["revenue_at_risk"] * margin
    out["break_even_cost"] = save_rate * out["margin_at_risk"] / out["customers"]
    out["cumulative_margin_at_risk"] = out["margin_at_risk"].cumsum()
    out.attrs["save_rate"] = save_rate
    out.attrs["basis"] = (
        f"annual gross margin ({margin:.0%} of the last 12 months' net revenue); break-even "
        f"cost per contacted customer if a contact keeps {save_rate:.0%} of would-be churners"
    )
    return out


def churn_headlines(
    rate,
    plan: pd.DataFrame | None,
    model,
    scores: pd.DataFrame,
    *,
    horizon_days: int,
    target_churn_rate: float | None,
) -> list[Headline]:
    """Compute the churn page's numbers for the executive summary.

    Parameters
    ----------
    rate : ChurnRate
        From :func:`churn_rate` over the horizon, under the client's churn definition.
    plan : DataFrame or None
        From :func:`churn_vs_target` on ``rate.table`` (its ``"total"`` row and segments).
    model : ChurnModelResult
        From :func:`churn_model`; its held-out ROC AUC is reported next to the baselines'.
    scores : DataFrame
        The ranked list to act on (:meth:`ChurnModelResult.score`), with ``revenue_at_risk``.
    horizon_days : int
        Length of the window the rate is measured over.
    target_churn_rate : float or None
        The plan's churn rate over the same window; None (no plan) leaves out the plan
        headlines (``churn_target``, ``churn_gap``, ``churn_gap_segment``).

    Returns
    -------
    list of Headline
        Keys ``churn_rate``, ``churn_target``, ``churn_gap`` (``rate.rate`` minus the plan, in
        points of rate), ``churn_gap_segment`` (the segment with the most churners above plan,
        only when churn is above plan), ``revenue_at_risk`` (sum over the ranked list),
        ``churn_model_auc``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from cxlib.churn import churn_vs_target
    >>> rate = SimpleNamespace(rate=0.5, ci_low=0.19, ci_high=0.81, description="...")
    >>> plan = churn_vs_target(pd.Series([True, True, False, False, True, False]),
    ...                        target_rate=0.25)
    >>> model = SimpleNamespace(metrics={"roc_auc": 0.8, "logistic_roc_auc": 0.78,
    ...                                  "recency_roc_auc": 0.7})
    >>> scores = pd.DataFrame({"revenue_at_risk": [10.0, 5.0]})
    >>> headlines = churn_headlines(rate, plan, model, scores, horizon_days=90,
    ...                             target_churn_rate=0.25)
    >>> {h.key: h.value for h in headlines}  # doctest: +NORMALIZE_WHITESPACE
    {'churn_rate': 0.5, 'churn_target': 0.25, 'churn_gap': 0.25, 'revenue_at_risk': 15.0,
     'churn_model_auc': 0.8}
    """
    metrics = model.metrics
    headlines = [
        Headline(
            "churn_rate",
            f"Churn over {horizon_days} days",
            float(rate.rate),
            unit="percent",
            ci_low=float(rate.ci_low),
            ci_high=float(rate.ci_high),
            note=rate.description,
        )
    ]
    if target_churn_rate is not None:
        headlines += _plan_headlines(plan, float(rate.rate), float(target_churn_rate))
    headlines += [
        Headline(
            "revenue_at_risk",
            "Revenue at risk (active customers)",
            float(scores["revenue_at_risk"].sum()),
            unit="currency",
            note="churn probability x the customer's value (net revenue in the last 12 months)",
        ),
        Headline(
            "churn_model_auc",
            "Churn model ROC AUC (held-out customers)",
            float(metrics["roc_auc"]),
            unit="number",
            note=(
                f"logistic {metrics['logistic_roc_auc']:.3f}, "
                f"recency rule {metrics['recency_roc_auc']:.3f}"
            ),
        ),
    ]
    return headlines


#: Fewer excess churners than this over the plan: no segment is headlined as making the gap.
MIN_EXCESS_CHURNERS = 30


def _plan_headlines(plan: pd.DataFrame, rate: float, target: float) -> list[Headline]:
    """Give the plan, the gap to it and, when above plan, the segment making most of it."""
    if plan is None:
        must = "a churn_vs_target table when target_churn_rate is given"
        raise param_error("plan", plan, must, caller="churn_headlines")
    gap = rate - target
    out = [
        Headline("churn_target", "Planned churn rate", target, unit="percent"),
        Headline("churn_gap", "Churn above plan (points of rate)", gap, unit="percent"),
    ]
    segments = plan.drop(index="total")
    excess = float(plan.loc["total", "excess_churners"])
    # a share of a handful of excess churners is noise (5 excess gave "1433% of the excess"):
    # name a segment only when the excess is large enough and its share is a real share
    share = float(segments["share_of_gap"].iloc[0]) if len(segments) else float("nan")
    if gap > 0 and excess >= MIN_EXCESS_CHURNERS and 0 < share <= 1:
        out.append(
            Headline(
                "churn_gap_segment",
                "Segment making most of the gap",
                str(segments.index[0]),
                unit="text",
                note=f"{segments['share_of_gap'].iloc[0]:.0%} of the excess churners",
            )
        )
    return out
