"""Experiment figures: effects with their intervals, cumulative revenue, the uplift curve."""

from __future__ import annotations

from cxlib.plots._base import _get_ax, _label, _labels, _money_axis

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
        label = "adjusted (CUPED)" if row.adjusted else "difference in means"
        ax.errorbar(row.effect, y, xerr=[[row.effect - row.ci_low], [row.ci_high - row.effect]],
                    fmt="o", color=colour, capsize=5, linewidth=2,
                    label=label if y == 0 else None)  # fmt: skip
        if other is not None and row.group in other.index:
            plain = other.loc[row.group]
            ax.errorbar(plain["effect"], y - 0.25,
                        xerr=[[plain["effect"] - plain["ci_low"]],
                              [plain["ci_high"] - plain["effect"]]],
                        fmt="s", color="#999999", capsize=4,
                        label=("adjusted (CUPED)" if plain["adjusted"] else "difference in means")
                        if y == 0 else None)  # fmt: skip
    ax.axvline(0, color="#333333", linewidth=1)
    ax.set_yticks(range(len(rows)), _labels(rows["group"]))
    ax.set_ylim(-0.6, len(rows) - 0.5)
    unit = {
        "revenue": "revenue per customer",
        "retention": "share of customers buying",
        "score": "survey score",
        "nps": "NPS points",
    }.get(metric, metric)
    ax.set(xlabel=f"Effect on {unit} vs control (95% interval)", ylabel="",
           title=f"What the action did: {unit}")  # fmt: skip
    if metric == "revenue":
        _money_axis(ax, f"Effect on {unit} vs control (95% interval)", currency)
    ax.legend(loc="best")
    return ax


def plot_cumulative_revenue(curve, *, currency: str | None = None, ax=None):
    """Cumulative revenue per customer by group (``cxlib.experiments.cumulative_revenue``).

    Day 0 is the start: before it the groups should run together (the pre-period), after it
    the gap between the lines is the effect building up.
    """
    ax = _get_ax(ax)
    for group in curve.columns:
        ax.plot(curve.index, curve[group], label=_label(group),
                linewidth=2 if group != "control" else 2.5,
                color="#333333" if group == "control" else None)  # fmt: skip
    ax.axvline(0, color="#999999", linestyle="--", linewidth=1)
    ax.annotate(" start", (0, ax.get_ylim()[1]), va="top", color="#666666")
    ax.set(xlabel="Days from the start (negative: the pre-period)",
           title="Revenue per customer by group")  # fmt: skip
    _money_axis(ax, "Cumulative revenue per customer", currency, axis="y")
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
            label=f"highest predicted effect first ({result.learner})")  # fmt: skip
    ax.plot(share, qini["net_random"], color="#999999", linestyle="--", linewidth=1.5,
            label="picked at random")  # fmt: skip
    picked = int(result.picked.sum())
    chosen = " (recommended)" if result.policy == "targeted" else ""
    ax.plot(
        100 * picked / max(n, 1),
        qini["net_value"].iloc[picked],
        "o",
        color="#009e73",
        markersize=9,
        label=f"margin x uplift > cost: treat {picked:,} of {n:,}{chosen}",
    )
    chosen = " (recommended)" if result.policy == "everyone" else ""
    ax.plot(100, qini["net_value"].iloc[-1], "s", color="#d55e00", markersize=8,
            label=f"treat everyone{chosen}")  # fmt: skip
    ax.axhline(0, color="#333333", linewidth=1)
    ax.set(xlabel="Share of tested customers treated (%)",
           title="Whom to treat: net value as more customers are treated")  # fmt: skip
    _money_axis(ax, "Net value over the test's horizon", currency, axis="y")
    ax.legend(loc="best")
    return ax
