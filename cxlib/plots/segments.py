"""Segmentation and wallet figures: segment value, map, sizes, clusters, headroom."""

from __future__ import annotations

import seaborn as sns

from cxlib.plots._base import _get_ax, _label, _labels, _money_axis, _percent_ticks
from cxlib.settings.i18n import gettext as _
from cxlib.settings.i18n import percent

__all__ = [
    "plot_cluster_profiles",
    "plot_segment_map",
    "plot_segment_sizes_vs_value",
    "plot_wallet_headroom",
]


def plot_segment_map(grid, *, ax=None):
    """Draw the RFM segment map: recency x frequency-monetary cells coloured by segment.

    ``grid`` is :func:`cxlib.segmentation.rfm_grid` output; each cell shows its segment's
    colour and the share of customers in it.
    """
    import numpy as np
    from matplotlib.patches import Patch

    ax = _get_ax(ax, figsize=(8, 5.5))
    names = list(
        dict.fromkeys(grid.sort_values(["r_score", "fm_score"], ascending=False)["segment"])
    )
    colours = sns.color_palette("tab20", len(names))
    lookup = dict(zip(names, colours, strict=True))
    image = np.zeros((5, 5, 3))
    for row in grid.itertuples(index=False):
        image[int(row.r_score) - 1, int(row.fm_score) - 1] = lookup[row.segment]
        ax.text(row.fm_score, row.r_score, percent(row.share, 0), ha="center", va="center",
                fontsize=9)  # fmt: skip
    ax.imshow(image, origin="lower", extent=(0.5, 5.5, 0.5, 5.5), alpha=0.85)
    ax.grid(False)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.legend(
        handles=[Patch(color=lookup[n], label=_label(_(n))) for n in names],
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        frameon=False,
        fontsize=9,
    )
    ax.set(
        xlabel=_("Frequency-monetary score (5 = buys most)"),
        ylabel=_("Recency score (5 = bought most recently)"),
        title=_("RFM segment map (share of customers per cell)"),
    )
    return ax


def plot_segment_sizes_vs_value(profiles, *, top: int | None = None, ax=None):
    """Bars of each segment's share of customers next to its share of revenue.

    ``profiles`` is :func:`cxlib.segmentation.segment_profiles` output (``customer_share``,
    ``revenue_share``), in the order to show (top first).
    """
    import numpy as np

    table = profiles if top is None else profiles.head(top)
    ax = _get_ax(ax, figsize=(8, 0.45 * len(table) + 1.5))
    positions = np.arange(len(table))[::-1]
    ax.barh(positions + 0.2, table["customer_share"], height=0.4, label=_("Share of customers"))
    ax.barh(positions - 0.2, table["revenue_share"], height=0.4, label=_("Share of revenue"))
    ax.set_yticks(positions, _labels(_(str(name)) for name in table.index))
    ax.xaxis.set_major_formatter(_percent_ticks())
    ax.legend(loc="lower right")
    ax.set(xlabel=_("Share"), ylabel="", title=_("Segment size versus value"))
    return ax


def plot_cluster_profiles(standardised, *, ax=None):
    """Heatmap of clusters' standardised feature means (0 = the whole customer base).

    ``standardised`` is ``cluster_customers(...).standardised`` (rows = cluster names).
    """
    ax = _get_ax(
        ax, figsize=(max(8, 0.55 * standardised.shape[1] + 3), 0.5 * len(standardised) + 2)
    )
    limit = max(1.0, float(abs(standardised.to_numpy()).max()))
    labels = _labels(
        c.replace("category_", "cat: ").replace("channel_", "via: ").replace("_", " ")
        for c in standardised.columns
    )
    sns.heatmap(
        standardised.set_axis(labels, axis=1).set_axis(_labels(standardised.index), axis=0),
        cmap="RdBu_r",
        center=0,
        vmin=-limit,
        vmax=limit,
        annot=True,
        fmt=".1f",
        annot_kws={"fontsize": 8},
        linewidths=0.5,
        cbar_kws={"label": _("standard deviations from all customers")},
        ax=ax,
    )
    ax.set(xlabel="", ylabel="", title=_("Cluster profiles (standardised)"))
    return ax


def plot_wallet_headroom(
    table, *, per_customer: bool = False, currency: str | None = None, ax=None
):
    """Stacked bars per segment: current spend plus headroom make the estimated wallet.

    ``table`` is :func:`cxlib.segmentation.wallet.wallet_by_segment` output, in the order to show;
    ``currency`` names the money axis's unit.
    """
    import numpy as np

    suffix = "_per_customer" if per_customer else ""
    ax = _get_ax(ax, figsize=(8, 0.45 * len(table) + 1.5))
    positions = np.arange(len(table))[::-1]
    spend = table[f"spend{suffix}"].clip(lower=0)
    ax.barh(positions, spend, label=_("Current spend"))
    ax.barh(positions, table[f"headroom{suffix}"], left=spend, label=_("Headroom"), alpha=0.6)
    for pos, share, total in zip(
        positions, table["share_of_wallet"], table[f"wallet{suffix}"], strict=True
    ):
        said = _("  %(share)s of wallet") % {"share": percent(share, 0)}
        ax.text(total, pos, said, va="center", fontsize=9)
    ax.set_yticks(positions, _labels(_(str(name)) for name in table.index))
    ax.legend(loc="lower right")
    ax.set(ylabel="", title=_("Share of wallet and headroom by segment"))
    label = (
        _("Annual spend and wallet (per customer)")
        if per_customer
        else _("Annual spend and wallet (total)")
    )
    _money_axis(ax, label, currency)
    return ax
