"""Executive summary figures: the revenue bridge, active customers, ranked actions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from cxlib.plots._base import PALETTE, _count_ticks, _get_ax, _money_ticks, _nothing_to_draw
from cxlib.settings.i18n import N_, scaled
from cxlib.settings.i18n import gettext as _

__all__ = [
    "plot_actions",
    "plot_active_customers",
    "plot_revenue_bridge",
]

_NO_TREND = N_("No revenue trend")
#: The bridge's steps as the axis shows them (one line break each, to fit).
_STEPS = {
    "previous 12 months": N_("previous\n12 months"),
    "new customers": N_("new\ncustomers"),
    "reactivated customers": N_("reactivated\ncustomers"),
    "lost customers": N_("lost\ncustomers"),
    "expansion": N_("expansion"),
    "contraction": N_("contraction"),
    "last 12 months": N_("last\n12 months"),
}


def plot_revenue_bridge(bridge, *, currency: str | None = None, ax=None):
    """Waterfall from the previous 12 months' revenue to the last 12 months'.

    ``bridge`` is :func:`cxlib.segmentation.trend.revenue_bridge`'s table (first and last rows are
    totals,
    the rows between signed steps); ``currency`` names the money axis's unit.
    """
    if bridge.empty:  # no transactions table, or under two years of data
        return _nothing_to_draw(ax, _(bridge.attrs.get("note", _NO_TREND)))
    ax = _get_ax(ax, figsize=(9, 4.5))
    colours = sns.color_palette(PALETTE)
    labels = [_(_STEPS.get(str(step), str(step))) for step in bridge.index]
    values = bridge["revenue"].to_numpy(float)
    running, extents = 0.0, [0.0]
    for i, value in enumerate(values):
        if i in (0, len(values) - 1):
            bottom, height, colour = 0.0, value, colours[7]
            running = value
        else:
            bottom, height = running, value
            colour = colours[2] if value >= 0 else colours[3]
            running += value
        ax.bar(i, height, bottom=bottom, color=colour, width=0.65)
        extents += [bottom, bottom + height]
        ax.annotate(
            scaled(f"{value / 1e3:+,.0f}" if 0 < i < len(values) - 1 else f"{value / 1e3:,.0f}", 3),
            (i, bottom + max(height, 0)),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_xticks(range(len(values)), labels, fontsize=9)
    unit = f" ({currency})" if currency else ""
    top, low = max(extents), min(extents)
    ax.set_ylim(low * 1.1, top * 1.12 if top > 0 else None)  # room for the labels
    millions = top >= 1e6
    ax.yaxis.set_major_formatter(
        plt.FuncFormatter(
            lambda v, _: scaled(f"{v / 1e6:,.1f}", 6) if millions else scaled(f"{v / 1e3:,.0f}", 3)
        )
    )
    ax.set(ylabel=_("Net revenue") + unit, title=_("How last year's revenue became this year's"))
    return ax


def plot_active_customers(periods, nps=None, *, ax=None):
    """Plot customers buying per period, with the NPS per period on a second axis when given.

    ``periods`` is :func:`cxlib.segmentation.trend.active_customers_over_time`'s table; ``nps`` is
    :func:`cxlib.nps.nps_by` with ``freq`` (``period``, ``score``, ``ci_low``, ``ci_high``).
    """
    ax = _get_ax(ax, figsize=(9, 4))
    colours = sns.color_palette(PALETTE)
    ax.plot(
        periods["period"],
        periods["active_customers"],
        marker="o",
        color=colours[0],
        label=_("customers buying"),
    )
    with_nps = nps is not None and len(nps) > 0
    ax.set(
        ylabel=_("Customers buying in the period"),
        xlabel=None,
        ylim=(0, None),
        title=_("Active customers and NPS over time")
        if with_nps
        else _("Active customers over time"),
    )
    ax.yaxis.set_major_formatter(plt.FuncFormatter(_count_ticks))
    if with_nps:
        twin = ax.twinx()
        when = nps["period"]
        when = when.dt.start_time if hasattr(when.dt, "start_time") else when
        twin.plot(when, nps["score"], marker="s", color=colours[1], label="NPS")
        twin.fill_between(when, nps["ci_low"], nps["ci_high"], color=colours[1], alpha=0.15)
        twin.axhline(0, color="grey", lw=0.8)
        twin.set_ylabel(_("NPS (points, 95% interval)"))
        twin.grid(False)
        lines = ax.get_lines()[:1] + twin.get_lines()[:1]
        ax.legend(lines, [line.get_label() for line in lines], loc="lower right")
    return ax


def plot_actions(actions, *, currency: str | None = None, ax=None):
    """Ranked actions with their intervals (:func:`cxlib.report.actions.load_actions` output)."""
    import textwrap

    from cxlib.settings import escape as _html

    if actions.empty:
        return _nothing_to_draw(ax, _("No ranked action to chart"))
    data = actions.iloc[::-1]
    ax = _get_ax(ax, figsize=(10, 0.9 * len(data) + 1.5))
    # Numbered like the summary's list; wrapped so long client names stay readable.
    labels = [
        f"{len(data) - i}. "
        + textwrap.shorten(_html.safe_text(text), 70, placeholder="...").replace("$", r"\$")
        for i, text in enumerate(data["action"])
    ]
    labels = [textwrap.fill(text, 38) for text in labels]
    ax.barh(labels, data["value"], color=sns.color_palette(PALETTE)[2])
    ax.errorbar(
        data["value"],
        labels,
        fmt="none",
        ecolor="black",
        capsize=4,
        xerr=[data["value"] - data["value_low"], data["value_high"] - data["value"]],
    )
    basis = _(data["basis"].iloc[0] if len(data) else "annual gross margin")
    unit = f" ({currency})" if currency else ""
    ax.set(
        xlabel=_("%(basis)s a year%(unit)s, with interval")
        % {"basis": basis[:1].upper() + basis[1:], "unit": unit},
        ylabel=None,
        title=_("Where to invest, ranked by money"),
    )
    ax.xaxis.set_major_formatter(plt.FuncFormatter(_money_ticks))
    return ax
