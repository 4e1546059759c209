"""NPS and feedback figures: NPS by group and over time, outcomes, themes at stake."""

from __future__ import annotations

from cxlib.plots._base import (
    _get_ax,
    _label,
    _labels,
    _money_axis,
    _nothing_to_draw,
    _percent_ticks,
)
from cxlib.settings.i18n import N_, ngettext, number
from cxlib.settings.i18n import gettext as _
from cxlib.settings.params import Options, check_param, param_error

__all__ = [
    "plot_category_outcome",
    "plot_nps_by_group",
    "plot_nps_over_time",
    "plot_score_outcome",
    "plot_themes_at_stake",
]

_CATEGORY_COLOURS = {"detractor": "#d55e00", "passive": "#999999", "promoter": "#009e73"}
_CATEGORY_NAMES = {
    "detractor": N_("detractor"),
    "passive": N_("passive"),
    "promoter": N_("promoter"),
}
_MONEY_METRICS = frozenset({"revenue", "aov", "clv", "prior_spend", "subsequent_spend"})
_METRIC_LABELS = {
    "revenue": N_("Revenue per customer"),
    "orders": N_("Orders per customer"),
    "aov": N_("Average order value"),
    "tenure_years": N_("Tenure (years)"),
    "clv": N_("CLV per customer"),
    "prior_spend": N_("Spend before the answer"),
    "subsequent_spend": N_("Spend after the answer"),
    "churned": N_("Share stopped buying"),
}


def plot_nps_by_group(table, *, by: str = "segment", ax=None):
    """NPS per group with its interval (a :func:`cxlib.nps.nps_by` table with ``by`` column).

    Groups with fewer answers than reliable are drawn hollow.
    """
    ax = _get_ax(ax)
    data = table.sort_values("score").reset_index(drop=True)
    positions = range(len(data))
    ax.errorbar(
        data["score"], positions,
        xerr=[data["score"] - data["ci_low"], data["ci_high"] - data["score"]],
        fmt="none", ecolor="#555555", capsize=3,
    )  # fmt: skip
    reliable = data["reliable"] if "reliable" in data else [True] * len(data)
    for y, (score, ok) in enumerate(zip(data["score"], reliable, strict=True)):
        ax.plot(score, y, "o", color="#0072b2", markerfacecolor="#0072b2" if ok else "white")
    ax.axvline(0, color="#bbbbbb", linewidth=1)
    ax.set_yticks(list(positions), _labels(data[by]))
    ax.set(
        xlabel=_("NPS (points, 95% interval)"),
        ylabel="",
        title=_("NPS by %(group)s") % {"group": _(_label(by))},
    )
    return ax


def plot_nps_over_time(table, *, ax=None):
    """NPS per period with its interval band (a :func:`cxlib.nps.nps_by` table with ``freq``).

    Periods whose change from the previous one is significant are marked with a ring.
    """
    ax = _get_ax(ax)
    ax.fill_between(table["period"], table["ci_low"], table["ci_high"], alpha=0.25, color="#0072b2")
    ax.plot(table["period"], table["score"], marker="o", color="#0072b2", label=_("NPS"))
    if "change_significant" in table:
        changed = table[table["change_significant"]]
        ax.scatter(changed["period"], changed["score"], s=150, facecolors="none",
                   edgecolors="#d55e00", label=_("significant change"))  # fmt: skip
        ax.legend(loc="best")
    ax.axhline(0, color="#bbbbbb", linewidth=1)
    ax.set(xlabel="", ylabel=_("NPS (points, 95% interval)"), title=_("NPS over time"))
    return ax


def plot_category_outcome(
    result, *, metric: str = "subsequent_spend", currency: str | None = None, ax=None
):
    """Mean of one outcome for detractors, passives and promoters with 95% intervals.

    ``result`` is a :class:`cxlib.nps.NPSRevenueResult`; ``metric`` one of its
    ``by_category`` metrics (``revenue``, ``subsequent_spend``, ``churned``, ...).
    """
    ax = _get_ax(ax)
    data = result.by_category[result.by_category["metric"] == metric]
    if data.empty:
        known = Options(sorted(result.by_category["metric"].unique()))
        raise param_error("metric", metric, known, caller="plot_category_outcome")
    colours = [_CATEGORY_COLOURS[c] for c in data["category"]]
    errors = [data["mean"] - data["ci_low"], data["ci_high"] - data["mean"]]
    names = [_(_CATEGORY_NAMES.get(c, c)) for c in data["category"]]
    ax.bar(names, data["mean"], color=colours, yerr=errors, capsize=4)
    label = _(_METRIC_LABELS.get(metric, metric))
    ax.set(xlabel="", ylabel=label, title=_("%(label)s by NPS category") % {"label": label})
    if metric in _MONEY_METRICS:
        _money_axis(ax, label, currency, axis="y")
    elif metric == "churned":
        ax.yaxis.set_major_formatter(_percent_ticks())
    return ax


def plot_score_outcome(
    result,
    *,
    metric: str = "subsequent_spend",
    min_n: int = 20,
    currency: str | None = None,
    ax=None,
):
    """Plot an outcome (``subsequent_spend`` or ``churned``) per score point, with intervals.

    Score points with fewer than ``min_n`` answers are left out (their intervals are too wide).
    """
    ax = _get_ax(ax)
    check_param(
        "metric", metric, Options(("subsequent_spend", "churned")), caller="plot_score_outcome"
    )
    prefix = "spend" if metric == "subsequent_spend" else "churned"
    data = result.by_score[result.by_score["n"] >= min_n]
    ax.fill_between(data["score"], data[f"{prefix}_ci_low"], data[f"{prefix}_ci_high"],
                    alpha=0.25, color="#0072b2")  # fmt: skip
    ax.plot(data["score"], data[metric], marker="o", color="#0072b2")
    months = result.summary.get("follow_up_months")
    name = _(_METRIC_LABELS[metric])
    label = name + (
        _(" (%(months)s months)") % {"months": months} if metric == "subsequent_spend" else ""
    )
    ax.set(xlabel=_("Likelihood-to-recommend score"), ylabel=label, xticks=range(0, 11),
           title=_("%(label)s by score") % {"label": name})  # fmt: skip
    if metric == "subsequent_spend":
        _money_axis(ax, label, currency, axis="y")
    else:
        ax.yaxis.set_major_formatter(_percent_ticks())
    return ax


def plot_themes_at_stake(impact, *, top: int = 10, currency: str | None = None, ax=None):
    """Themes ranked by revenue at stake (a :func:`cxlib.feedback.theme_impact` table).

    The label of each bar gives the number of customers raising the theme, so volume and
    money can be read side by side; ``currency`` names the money axis's unit.
    """
    if impact.empty:
        return _nothing_to_draw(ax, _("No complaint themes (no feedback table)"))
    ax = _get_ax(ax)
    data = impact.head(top).iloc[::-1]
    ax.barh(range(len(data)), data["revenue_at_stake"], color="#cc79a7")
    ax.set_yticks(range(len(data)), _labels(data["name"]))
    pairs = zip(data["revenue_at_stake"], data["customers"], strict=True)
    for y, (value, customers) in enumerate(pairs):
        said = ngettext(" %(n)s customers", " %(n)s customers", customers)
        ax.annotate(said % {"n": number(customers, ",")}, (value, y), va="center", fontsize=9)
    unit = f" ({currency})" if currency else ""
    ax.set(xlabel=_("Revenue at stake per year%(unit)s (revenue x excess churn)") % {"unit": unit},
           ylabel="", title=_("Complaint themes ranked by money at stake"))  # fmt: skip
    return ax
