"""Planning a test and pricing its result (re-exported by :mod:`cxlib.experiments`).

:func:`plan` sizes the next test from the client's own variance, :func:`rollout_value` prices
a measured revenue effect as yearly gross margin net of the campaign's cost,
:func:`experiment_headlines` records the
page's numbers for the executive summary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.settings.config import AnalysisConfig, ExperimentCost
from cxlib.settings.dates import to_timestamp
from cxlib.settings.formats import p_value_text
from cxlib.settings.headline import INVEST_PREFIX, Headline
from cxlib.settings.i18n import gettext, ngettext, number, percent
from cxlib.settings.validation import DataError

__all__ = [
    "experiment_cost",
    "experiment_headlines",
    "experiment_verdict",
    "plan",
    "rollout_value",
]


def experiment_cost(analysis: AnalysisConfig, experiment: str) -> ExperimentCost:
    """Return the cost the client's config gives for ``experiment`` (zero: no cost given).

    Examples
    --------
    >>> analysis = AnalysisConfig(experiment_costs={"q3": {"cost_per_treated": 2.5}})
    >>> experiment_cost(analysis, "q3").cost_per_treated, experiment_cost(analysis, "q4").revenue
    (2.5, 'after_discount')
    """
    return analysis.experiment_costs.get(str(experiment), ExperimentCost())


def plan(
    transactions: pd.DataFrame,
    *,
    as_of=None,
    horizon_days: int,
    customers: Sequence[str] | pd.Index | None = None,
    metrics: Sequence[str] = ("revenue", "retention"),
    n_per_group: int | None = None,
    target_effect: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Size a two-group test from the client's own data, with and without CUPED.

    The last ``horizon_days`` before ``as_of`` stand in for the test window and the
    ``horizon_days`` before them for its pre-period: their per-customer variance ``sd**2``
    and correlation ``rho`` give the minimum detectable effect of a two-sided test at
    ``alpha`` with ``power``, ``MDE = (z(1 - alpha/2) + z(power)) * sd * sqrt(2 / n)``, and
    the customers per group needed for a target effect, ``n = 2 (z + z)**2 sd**2 / effect**2``;
    CUPED multiplies the variance by ``1 - rho**2``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    as_of : date-like, optional
        The day the test would start; default the day after the last transaction.
    horizon_days : int
        Length of the test window (and of its pre-period).
    customers : sequence of str, optional
        The target group; default the customers with a purchase in the 365 days before the
        stand-in window (:func:`cxlib.experiments.active_customers`).
    metrics : sequence of str, default ("revenue", "retention")
    n_per_group : int, optional
        Customers per group for the MDE; default half the target group.
    target_effect : float, default 0.05
        The effect to detect, relative to the baseline mean (0.05 = +5%).
    alpha, power : float
        Two-sided significance level and power.

    Returns
    -------
    DataFrame
        Indexed by metric: ``customers``, ``baseline`` (mean per customer), ``sd``,
        ``correlation`` (with the pre-period), ``variance_reduction`` (``rho**2``),
        ``n_per_group``, ``mde_plain``, ``mde_adjusted``, ``target_effect`` (absolute),
        ``n_needed_plain``, ``n_needed_adjusted`` (customers per group). ``attrs["method"]``
        states the assumptions.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ids = [f"c{i}" for i in range(300)]
    >>> tx = pd.DataFrame({"customer_id": ids * 3, "amount": rng.gamma(2, 20, 900),
    ...     "date": pd.to_datetime(["2025-01-10"] * 300 + ["2025-02-10"] * 300
    ...                            + ["2025-03-10"] * 300)})
    >>> table = plan(tx, as_of="2025-03-15", horizon_days=30, customers=ids)
    >>> bool(table.loc["revenue", "mde_adjusted"] <= table.loc["revenue", "mde_plain"])
    True
    """
    from cxlib.experiments.measure import _outcomes, active_customers
    from cxlib.settings.validation import check_transactions

    tx = check_transactions(transactions, caller="plan")
    as_of = (
        tx["date"].max().normalize() + pd.Timedelta(days=1)
        if as_of is None
        else to_timestamp(as_of, "as_of", "plan")
    )
    window_start = as_of - pd.Timedelta(days=horizon_days)
    if customers is None:
        customers = active_customers(tx, as_of=window_start)
    ids = pd.Index(customers).astype(str).unique()
    if len(ids) < 4:
        raise ValueError(f"plan needs at least 4 customers in the target group; got {len(ids)}")
    table = pd.DataFrame({"customer_id": ids, "start": window_start})
    values = _outcomes(tx, table, horizon_days, None, 9, 6)
    n = int(n_per_group) if n_per_group is not None else len(ids) // 2
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    rows = {}
    for metric in metrics:
        y, x = values[metric].to_numpy(float), values[f"pre_{metric}"].to_numpy(float)
        sd = float(np.std(y, ddof=1))
        rho = float(np.corrcoef(x, y)[0, 1]) if np.std(x) > 0 and sd > 0 else 0.0
        shrink = math.sqrt(1 - rho**2)
        target = target_effect * float(np.mean(y))
        needed = (2 * z**2 * sd**2 / target**2) if target else math.inf
        rows[metric] = dict(
            customers=len(ids),
            baseline=float(np.mean(y)),
            sd=sd,
            correlation=rho,
            variance_reduction=rho**2,
            n_per_group=n,
            mde_plain=z * sd * math.sqrt(2 / n),
            mde_adjusted=z * sd * shrink * math.sqrt(2 / n),
            target_effect=target,
            n_needed_plain=math.ceil(needed),
            n_needed_adjusted=math.ceil(needed * (1 - rho**2)),
        )
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")
    out.attrs["method"] = (
        f"Two equal groups, two-sided test at {alpha:.0%} with {power:.0%} power; variance from "
        f"the {horizon_days} days before {as_of:%Y-%m-%d} ({len(ids):,} customers), CUPED "
        f"correlation with the {horizon_days} days before those; target effect "
        f"{target_effect:+.0%} of the baseline."
    )
    return out


def rollout_value(
    result: pd.DataFrame,
    *,
    customers: int,
    margin: float,
    campaigns_per_year: float = 1.0,
    metric: str = "revenue",
    cost_per_treated: float = 0.0,
    revenue: str = "after_discount",
) -> pd.DataFrame:
    """Yearly gross margin, net of the campaign's cost, of rolling each treatment out.

    ``gross = revenue effect per customer x customers x campaigns_per_year x margin`` (the
    effect as measured over the test's horizon, for each campaign of the same kind run in a
    year, one by default) and ``margin per year = gross - cost_per_treated x customers x
    campaigns_per_year``: the executive summary's money basis (gross margin net of campaign
    cost, undiscounted). The interval carries the effect's interval; the cost is taken as known.

    Parameters
    ----------
    result : DataFrame
        :func:`cxlib.experiments.measure`'s result.
    customers : int
        Customers the roll-out would treat.
    margin : float
        The client's gross margin.
    campaigns_per_year : float, default 1
    metric : str, default "revenue"
    cost_per_treated : float, default 0 (no cost given)
        Cost per treated customer per campaign (``analysis.experiment_costs``,
        :class:`cxlib.settings.config.ExperimentCost`).
    revenue : {"after_discount", "before_discount"}
        Whether the measured revenue is after the discount (the discount is in the effect) or
        before it (the discount is in ``cost_per_treated``); stated in ``basis``.

    Returns
    -------
    DataFrame
        Indexed by treatment group: ``effect`` (per customer), ``ci_low``, ``ci_high``,
        ``customers``, ``revenue_per_year``, ``gross_margin_per_year``, ``cost_per_year``,
        ``margin_per_year`` (net), ``margin_low``, ``margin_high``, ``significant``,
        ``basis`` (the sentence above with the numbers).

    Examples
    --------
    >>> result = pd.DataFrame({"group": ["coupon"], "effect": [10.0], "ci_low": [4.0],
    ...     "ci_high": [16.0], "significant": [True]}, index=pd.Index(["revenue"], name="metric"))
    >>> result.attrs["horizon_days"] = 90
    >>> rollout_value(result, customers=1_000, margin=0.3).loc["coupon", "margin_per_year"]
    np.float64(3000.0)
    >>> rollout_value(result, customers=1_000, margin=0.3,
    ...               cost_per_treated=1.0).loc["coupon", "margin_per_year"]
    np.float64(2000.0)
    """
    if not math.isfinite(cost_per_treated) or cost_per_treated < 0:
        raise DataError(f"rollout_value: cost_per_treated must be >= 0, got {cost_per_treated!r}")
    if revenue not in ("after_discount", "before_discount"):
        raise DataError(
            f"rollout_value: revenue must be 'after_discount' or 'before_discount', got {revenue!r}"
        )
    rows = result.loc[[metric]].set_index("group")
    scale = customers * campaigns_per_year
    cost = cost_per_treated * scale
    out = pd.DataFrame(
        {
            "effect": rows["effect"],
            "ci_low": rows["ci_low"],
            "ci_high": rows["ci_high"],
            "customers": int(customers),
            "revenue_per_year": rows["effect"] * scale,
            "gross_margin_per_year": rows["effect"] * scale * margin,
            "cost_per_year": float(cost),
            "margin_per_year": rows["effect"] * scale * margin - cost,
            "margin_low": rows["ci_low"] * scale * margin - cost,
            "margin_high": rows["ci_high"] * scale * margin - cost,
            "significant": rows["significant"].astype(bool),
        }
    )
    horizon = result.attrs.get("horizon_days")
    discount = (
        gettext("measured revenue after the discount")
        if revenue == "after_discount"
        else gettext("measured revenue before the discount, which is in the cost")
    )
    costs = (
        gettext("minus %(cost)s per treated customer (%(discount)s)")
        % {"cost": number(cost_per_treated, ",.2f"), "discount": discount}
        if cost_per_treated
        else gettext("no campaign cost given (%(discount)s)") % {"discount": discount}
    )
    out["basis"] = ngettext(
        "gross margin (%(margin)s of revenue) per year net of campaign cost, undiscounted: "
        "revenue effect per customer over %(days)s days x %(customers)s customers x "
        "%(campaigns)s campaign(s) a year x margin, %(costs)s",
        "gross margin (%(margin)s of revenue) per year net of campaign cost, undiscounted: "
        "revenue effect per customer over %(days)s days x %(customers)s customers x "
        "%(campaigns)s campaign(s) a year x margin, %(costs)s",
        campaigns_per_year,
    ) % {
        "margin": percent(margin, 0),
        "days": horizon,
        "customers": number(customers, ","),
        "campaigns": number(campaigns_per_year, "g"),
        "costs": costs,
    }
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "treatment"


def _by_group(result: pd.DataFrame, metric: str) -> pd.DataFrame:
    return result.loc[[metric]].set_index("group")


def experiment_verdict(result: pd.DataFrame, rollout: pd.DataFrame, *, currency: str) -> str:
    """One plain-language sentence per treatment: does it pay, and how much a year.

    Money is named only for a positive, significant revenue effect (from
    :func:`rollout_value`); a significant negative effect says not to roll out; anything else
    says no effect was measurable, with the interval.

    Examples
    --------
    >>> result = pd.DataFrame({"group": ["sms"], "effect": [1.0], "ci_low": [-2.0],
    ...     "ci_high": [4.0], "significant": [False]}, index=pd.Index(["revenue"], name="metric"))
    >>> result.attrs["horizon_days"] = 60
    >>> experiment_verdict(result, rollout_value(result, customers=10, margin=0.3),
    ...                    currency="EUR")
    'sms: no measurable revenue effect (EUR +1.00 per customer over 60 days, 95% interval -2.00 \
to +4.00).'
    """
    revenue = _by_group(result, "revenue")
    horizon = result.attrs.get("horizon_days")
    sentences = []
    for group, money in rollout.iterrows():
        sentences.append(_group_verdict(group, revenue.loc[group], money, horizon, currency))
    return "; ".join(sentences) + "."


def _group_verdict(group, row: pd.Series, money: pd.Series, horizon, currency: str) -> str:
    """Say whether one treatment pays, in the run's language (see :func:`experiment_verdict`)."""
    words = {
        "group": group,
        "effect": gettext("%(currency)s %(effect)s per customer over %(days)s days")
        % {"currency": currency, "effect": number(row["effect"], "+,.2f"), "days": horizon},
        "low": number(row["ci_low"], "+,.2f"),
        "high": number(row["ci_high"], "+,.2f"),
        "customers": number(money["customers"], ","),
        "currency": currency,
    }
    cost = float(money.get("cost_per_year", 0.0))
    if row["significant"] and row["effect"] > 0 and money["margin_per_year"] > 0:
        return gettext(
            "%(group)s pays: %(effect)s (95%% interval %(low)s to %(high)s); rolled out to "
            "%(customers)s customers it is worth %(currency)s %(value)s of gross margin a year "
            "%(net)s (%(value_low)s to %(value_high)s)"
        ) % {
            **words,
            "value": number(money["margin_per_year"], ",.0f"),
            "net": gettext("net of its cost") if cost else gettext("with no campaign cost given"),
            "value_low": number(money["margin_low"], ",.0f"),
            "value_high": number(money["margin_high"], ",.0f"),
        }
    if row["significant"] and row["effect"] > 0:
        return gettext(
            "%(group)s raises revenue (%(effect)s) but does not pay for itself: rolled out to "
            "%(customers)s customers its gross margin of %(currency)s %(margin)s a year is below "
            "its cost of %(currency)s %(cost)s: do not roll it out to everyone"
        ) % {
            **words,
            "margin": number(money["gross_margin_per_year"], ",.0f"),
            "cost": number(cost, ",.0f"),
        }
    if row["significant"]:
        return gettext("%(group)s lowers revenue (%(effect)s): do not roll it out") % words
    return (
        gettext(
            "%(group)s: no measurable revenue effect (%(effect)s, 95%% interval %(low)s to "
            "%(high)s)"
        )
        % words
    )


def experiment_headlines(
    result: pd.DataFrame,
    rollout: pd.DataFrame,
    *,
    experiment: str,
    currency: str,
    targeting=None,
) -> list[Headline]:
    """Return the experiments page's headline numbers, with a verdict in money.

    Per treatment: the revenue and retention effects with their intervals; a recommendation
    ``invest_<group>_rollout`` (yearly gross margin of the roll-out net of its cost, with its
    interval) only when the revenue effect is positive and significant and the roll-out pays
    for its cost; then ``experiment_verdict`` (:func:`experiment_verdict`), with ``targeting``
    (:func:`cxlib.experiments.target`'s result) ``experiment_targeting`` (whom to treat, its
    verdict), and ``experiment_checks``.

    Examples
    --------
    >>> result = pd.DataFrame({"group": ["coupon", "coupon"], "effect": [10.0, 0.02],
    ...     "ci_low": [4.0, 0.0], "ci_high": [16.0, 0.04], "p_value": [0.001, 0.06],
    ...     "significant": [True, False], "adjusted": [True, True]},
    ...     index=pd.Index(["revenue", "retention"], name="metric"))
    >>> result.attrs.update(horizon_days=90, checks=[{"ok": True}])
    >>> rollout = rollout_value(result, customers=1_000, margin=0.3)
    >>> [h.key for h in experiment_headlines(result, rollout, experiment="q3", currency="EUR")]
    ['experiment_coupon_revenue_effect', 'experiment_coupon_retention_effect', \
'invest_coupon_rollout', 'experiment_verdict', 'experiment_checks']
    """
    horizon = result.attrs.get("horizon_days")
    revenue = _by_group(result, "revenue")
    headlines = []
    for group, money in rollout.iterrows():
        row = revenue.loc[group]
        method = gettext("CUPED-adjusted") if row["adjusted"] else gettext("plain difference")
        headlines.append(
            Headline(
                f"experiment_{_slug(group)}_revenue_effect",
                gettext(
                    "%(experiment)s: revenue per customer, %(group)s vs control (%(days)s days)"
                )
                % {"experiment": experiment, "group": group, "days": horizon},
                float(row["effect"]),
                unit="currency",
                ci_low=float(row["ci_low"]),
                ci_high=float(row["ci_high"]),
                note=f"{method}; {p_value_text(row['p_value'])}",
            )
        )
        if "retention" in result.index:
            kept = _by_group(result, "retention").loc[group]
            headlines.append(
                Headline(
                    f"experiment_{_slug(group)}_retention_effect",
                    gettext("%(experiment)s: share of customers buying, %(group)s vs control")
                    % {"experiment": experiment, "group": group},
                    float(kept["effect"]),
                    unit="percent",
                    ci_low=float(kept["ci_low"]),
                    ci_high=float(kept["ci_high"]),
                    note=p_value_text(kept["p_value"]),
                )
            )
        if row["significant"] and row["effect"] > 0 and money["margin_per_year"] > 0:
            headlines.append(
                Headline(
                    f"{INVEST_PREFIX}{_slug(group)}_rollout",
                    gettext(
                        "Roll out %(group)s (%(experiment)s) to %(n)s customers: yearly gross "
                        "margin net of campaign cost"
                    )
                    % {
                        "group": group,
                        "experiment": experiment,
                        "n": number(money["customers"], ","),
                    },
                    float(money["margin_per_year"]),
                    unit="currency",
                    ci_low=float(money["margin_low"]),
                    ci_high=float(money["margin_high"]),
                    note=money["basis"],
                )
            )
    headlines.append(
        Headline(
            "experiment_verdict",
            gettext("%(experiment)s: verdict") % {"experiment": experiment},
            experiment_verdict(result, rollout, currency=currency),
            unit="text",
        )
    )
    if targeting is not None:
        headlines.append(
            Headline(
                "experiment_targeting",
                gettext("%(experiment)s: whom to treat (%(treatment)s)")
                % {"experiment": experiment, "treatment": targeting.treatment},
                targeting.verdict,
                unit="text",
            )
        )
    problems = [
        c.get("detail", c.get("check", ""))
        for c in result.attrs.get("checks", [])
        if not c.get("ok", True)
    ]
    checks = (
        gettext("sample ratio and pre-period balance OK")
        if not problems
        else gettext("CHECK FAILED: ") + "; ".join(problems)
    )
    label = gettext("%(experiment)s: design checks") % {"experiment": experiment}
    headlines.append(Headline("experiment_checks", label, checks, unit="text"))
    return headlines
