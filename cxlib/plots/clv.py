"""CLV figures: the RFM matrix, hold-out checks, tracking, Lorenz curve, retention."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cxlib.plots._base import _count_ticks, _get_ax, _labels, _money_axis

__all__ = [
    "plot_holdout_by_frequency",
    "plot_lorenz",
    "plot_retention_projection",
    "plot_rfm_matrix",
    "plot_segment_value",
    "plot_tracking",
]


def plot_rfm_matrix(matrix, *, title: str | None = None, cmap: str = "viridis", ax=None):
    """Draw ``cxlib.clv.rfm_matrix`` (P(alive) or expected purchases) as a heatmap.

    Frequency on the vertical axis (highest at the top), recency on the horizontal axis.
    """
    ax = _get_ax(ax)
    image = ax.imshow(
        matrix.to_numpy()[::-1],
        aspect="auto",
        cmap=cmap,
        extent=(
            -0.5,
            matrix.columns.max() + 0.5,
            matrix.index.min() - 0.5,
            matrix.index.max() + 0.5,
        ),
    )
    ax.figure.colorbar(image, ax=ax)
    ax.set(
        xlabel=f"Recency (periods since first purchase; T = {matrix.columns.max()})",
        ylabel="Frequency (repeat purchases)",
        title=title or "",
    )
    ax.grid(False)
    return ax


def plot_holdout_by_frequency(validation, *, ax=None):
    """Plot predicted versus actual mean holdout purchases by calibration frequency.

    ``validation`` is a ``cxlib.clv.HoldoutValidation``.
    """
    ax = _get_ax(ax)
    table = validation.by_frequency
    positions = range(len(table))
    ax.plot(positions, table["actual"], marker="o", label="Actual")
    ax.plot(
        positions,
        table["predicted"],
        marker="s",
        linestyle="--",
        label=f"Predicted ({validation.kind})",
    )
    ax.set_xticks(list(positions), table.index)
    ax.set(
        xlabel="Repeat purchases in the calibration period",
        ylabel="Mean purchases in the holdout",
        title="Holdout purchases by calibration frequency",
    )
    ax.legend()
    return ax


def plot_tracking(curve, *, cumulative: bool = True, ax=None):
    """Plot actual versus predicted repeat purchases per period (``cxlib.clv.tracking``)."""
    ax = _get_ax(ax)
    suffix = "_cumulative" if cumulative else ""
    ax.plot(curve["period_start"], curve["actual" + suffix], label="Actual")
    ax.plot(curve["period_start"], curve["predicted" + suffix], linestyle="--", label="Model")
    if curve["holdout"].any():
        ax.axvline(curve.loc[curve["holdout"], "period_start"].iloc[0], color="grey", linewidth=1)
        ax.annotate(
            "holdout →",
            (curve.loc[curve["holdout"], "period_start"].iloc[0], 0),
            xytext=(4, 4),
            textcoords="offset points",
            color="grey",
        )
    ax.set(
        xlabel="Period",
        ylabel=("Cumulative repeat purchases" if cumulative else "Repeat purchases"),
        title="Repeat purchases: model versus actual",
    )
    ax.yaxis.set_major_formatter(plt.FuncFormatter(_count_ticks))
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()
    return ax


def plot_lorenz(curve, *, highlight: float = 0.2, ax=None):
    """Plot the value concentration curve (``cxlib.clv.value_concentration``)."""
    import numpy as np

    ax = _get_ax(ax)
    ax.plot(curve["share_of_customers"], curve["share_of_value"], label="Customers ranked by value")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="Equal value")
    held = float(np.interp(highlight, curve["share_of_customers"], curve["share_of_value"]))
    ax.scatter([highlight], [held], zorder=3)
    ax.annotate(
        f"top {highlight:.0%} hold {held:.0%}",
        (highlight, held),
        xytext=(8, -14),
        textcoords="offset points",
    )
    ax.set(
        xlabel="Share of customers (most valuable first)",
        ylabel="Share of value",
        title="Who holds the value",
        xlim=(0, 1),
    )
    ax.legend(loc="lower right")
    return ax


def plot_segment_value(table, *, currency: str | None = None, ax=None):
    """Plot total value per segment with its interval (``cxlib.clv.segment_value``).

    ``currency`` names the money axis's unit.
    """
    import numpy as np

    ax = _get_ax(ax)
    ordered = table.sort_values("total")
    positions = np.arange(len(ordered))
    errors = np.vstack(
        [ordered["total"] - ordered["total_low"], ordered["total_high"] - ordered["total"]]
    )
    ax.barh(positions, ordered["total"], xerr=errors, capsize=3)
    ax.set_yticks(positions, _labels(ordered.index))
    ax.set(ylabel="", title="Customer value by segment")
    _money_axis(ax, "Total CLV (95% interval)", currency)
    return ax


def plot_retention_projection(curve, *, period: str = "month", ax=None):
    """Observed retention by period against the sBG projection (``cxlib.clv.retention_curve``).

    ``curve`` has ``observed_survival`` and ``projected_survival`` indexed by period; the
    projection is drawn beyond the observed periods when the curve is longer.
    """
    ax = _get_ax(ax)
    ax.plot(curve.index, curve["observed_survival"], marker="o", markersize=3, label="observed")
    if "projected_survival" in curve:
        ax.plot(curve.index, curve["projected_survival"], linestyle="--", label="sBG projection")
    ax.set(
        xlabel=f"{period.capitalize()}s as a customer",
        ylabel="Share of customers still subscribed",
        title="Retention: observed against the shifted-beta-geometric model",
        ylim=(0, 1.02),
    )
    ax.legend(title=None, fontsize="small")
    return ax
