"""Experiment figures: effects with their intervals, cumulative revenue, the uplift curve."""

from __future__ import annotations

from cxlib.plots._base import _get_ax, _label, _labels, _money_axis
from cxlib.settings.i18n import N_, number
from cxlib.settings.i18n import gettext as _

__all__ = ["plot_cumulative_revenue", "plot_effect_intervals", "plot_qini"]


def plot_effect_intervals(
    result, *, metric: str = "revenue", compare=None, currency: str | None = None, ax=None
):
    """Each treatment's effect on one metric with its 95% interval (a ``measure`` result).

    ``compare``, another :func:`cxlib.experiments.measure` result on the same test (e.g. the
    plain difference, ``adjust=False``), is drawn below each interval in grey, so the gain in
    precision from the adjustment shows.
    """
    ax = _get_ax(ax)
    rows = result.loc[[metric]].reset_index()
    other = None if compare is None else compare.loc[[metric]].set_index("group")
    for y, row in enumerate(rows.itertuples(index=False)):
        colour = (
            "#009e73"
            if row.significant and row.effect > 0
            else ("#d55e00" if row.significant else "#0072b2")
        )
        label = _("adjusted (CUPED)") if row.adjusted else _("difference in means")
        ax.errorbar(row.effect, y, xerr=[[row.effect - row.ci_low], [row.ci_high - row.effect]],
                    fmt="o", color=colour, capsize=5, linewidth=2,
                    label=label if y == 0 else None)  # fmt: skip
        if other is not None and row.group in other.index:
            plain = other.loc[row.group]
            ax.errorbar(plain["effect"], y - 0.25,
                        xerr=[[plain["effect"] - plain["ci_low"]],
                              [plain["ci_high"] - plain["effect"]]],
                        fmt="s", color="#999999", capsize=4,
                        label=(_("adjusted (CUPED)") if plain["adjusted"]
                               else _("difference in means")) if y == 0 else None)  # fmt: skip
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(range(len(rows)), _labels(rows["group"]))
    ax.set_ylim(-0.6, len(rows) - 0.5)
    unit = _(
        {
            "revenue": N_("revenue per customer"),
            "retention": N_("share of customers buying"),
            "score": N_("survey score"),
            "nps": N_("NPS points"),
        }.get(metric, metric)
    )
    xlabel = _("Effect on %(unit)s vs control (95%% interval)") % {"unit": unit}
    ax.set(xlabel=xlabel, ylabel="",
           title=_("What the action did: %(unit)s") % {"unit": unit})  # fmt: skip
    if metric == "revenue":
        _money_axis(ax, xlabel, currency)
    ax.legend(loc="best")
    return ax


def plot_cumulative_revenue(curve, *, currency: str | None = None, ax=None):
    """Cumulative revenue per customer by group (``cxlib.experiments.cumulative_revenue``).

    Day 0 is the start: before it the groups should run together (the pre-period), after it
    the gap between the lines is the effect building up.
    """
    ax = _get_ax(ax)
    for group in curve.columns:
        ax.plot(curve.index, curve[group], label=_label(_(group) if group == "control" else group),
                linewidth=2 if group != "control" else 2.5,
                color="#333333" if group == "control" else None)  # fmt: skip
    ax.axvline(0, color="#999999", linestyle="--", linewidth=1)
    ax.annotate(_(" start"), (0, ax.get_ylim()[1]), va="top", color="#666666")
    ax.set(xlabel=_("Days from the start (negative: the pre-period)"),
           title=_("Revenue per customer by group"))  # fmt: skip
    _money_axis(ax, _("Cumulative revenue per customer"), currency, axis="y")
    ax.legend(loc="upper left")
    return ax


def plot_qini(result, *, currency: str | None = None, ax=None):
    """Draw a targeting result's uplift (Qini) curve, in money net of the campaign's cost.

    ``result`` is :func:`cxlib.experiments.target`'s. The line is the net value of treating the
    tested customers with the highest predicted effect first, as more are treated (out of
    fold, doubly robust); the dashed line is picking them at random, which ends, as the curve
    does, at treating everyone. The round point is where the scores say to stop (margin x uplift
    above the cost), the square treating everyone; the one :func:`~cxlib.experiments.target`
    recommends says so in the legend.
    """
    ax = _get_ax(ax)
    qini = result.qini
    n = int(qini["customers"].iloc[-1])
    share = 100 * qini["share"]
    ax.plot(share, qini["net_value"], color="#0072b2", linewidth=2,
            label=_("highest predicted effect first (%(learner)s)")
            % {"learner": result.learner})  # fmt: skip
    ax.plot(share, qini["net_random"], color="#999999", linestyle="--", linewidth=1.5,
            label=_("picked at random"))  # fmt: skip
    picked = int(result.picked.sum())
    chosen = _(" (recommended)") if result.policy == "targeted" else ""
    ax.plot(
        100 * picked / max(n, 1),
        qini["net_value"].iloc[picked],
        "o",
        color="#009e73",
        markersize=9,
        label=_("margin x uplift > cost: treat %(picked)s of %(n)s%(chosen)s")
        % {"picked": number(picked, ","), "n": number(n, ","), "chosen": chosen},
    )
    chosen = _(" (recommended)") if result.policy == "everyone" else ""
    ax.plot(100, qini["net_value"].iloc[-1], "s", color="#d55e00", markersize=8,
            label=_("treat everyone%(chosen)s") % {"chosen": chosen})  # fmt: skip
    ax.axhline(0, color="#333333", linewidth=1)
    ax.set(xlabel=_("Share of tested customers treated (%)"),
           title=_("Whom to treat: net value as more customers are treated"))  # fmt: skip
    _money_axis(ax, _("Net value over the test's horizon"), currency, axis="y")
    ax.legend(loc="best")
    return ax
