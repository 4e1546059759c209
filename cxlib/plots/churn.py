"""Churn figures: cohorts, survival curves, model quality, revenue at risk, hazards."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from cxlib.plots._base import PALETTE, _get_ax, _label, _labels, _money_axis
from cxlib.settings.i18n import localise

__all__ = [
    "plot_calibration",
    "plot_churn_importances",
    "plot_cohort_heatmap",
    "plot_gains",
    "plot_hazard_ratios",
    "plot_revenue_at_risk",
    "plot_survival_curves",
    "plot_survival_separation",
]


def plot_cohort_heatmap(cohorts, *, kind: str = "rates", max_periods: int = 24, ax=None):
    """Heatmap of cohort retention (``cxlib.churn.cohort_retention`` result).

    ``kind`` is ``"rates"`` (share of the cohort buying), ``"revenue_retention"`` or ``"counts"``.
    """
    matrix = getattr(cohorts, kind).iloc[:, :max_periods]
    # each cohort with its size: a row of two customers is not read as a collapse in retention
    sizes = cohorts.table.groupby("cohort")["cohort_size"].first()
    matrix = matrix.set_axis([f"{c} ({sizes.get(c, 0):,.0f})" for c in matrix.index], axis=0)
    import numpy as np

    ax = _get_ax(ax, figsize=(10, 6))
    percent = kind != "counts"
    # period 0 is 100% by construction: scale the colours on the later periods
    later = matrix.iloc[:, 1:] if matrix.shape[1] > 1 else matrix
    vmax = float(np.nanquantile(later.to_numpy(dtype=float), 0.99)) if later.size else None
    sns.heatmap(
        matrix,
        ax=ax,
        cmap="viridis",
        vmin=0,
        vmax=vmax,
        cbar_kws={
            "label": ("share of cohort (period 0 off the scale)" if percent else "customers")
        },
        xticklabels=2,
        yticklabels=max(len(matrix) // 18, 1),
    )
    ax.grid(False)
    label = {
        "rates": "Customer retention",
        "revenue_retention": "Revenue retention",
        "counts": "Active customers",
    }[kind]
    unit = {"M": "Months", "Q": "Quarters", "W": "Weeks"}.get(cohorts.freq, "Periods")
    ax.set(
        xlabel=f"{unit} since first purchase",
        ylabel="Acquisition cohort (customers)",
        title=f"{label} by acquisition cohort",
    )
    return ax


def plot_survival_curves(survival, *, by: str | None = "segment", ax=None):
    """Kaplan-Meier curves with confidence bands (``cxlib.churn.survival_by_segment`` result).

    ``by`` names the grouping in the title (e.g. ``"acquisition_channel"``); None: no split.
    """
    ax = _get_ax(ax)
    colours = sns.color_palette(PALETTE, n_colors=max(survival.curves["segment"].nunique(), 1))
    for colour, (name, curve) in zip(
        colours, survival.curves.groupby("segment", sort=True), strict=False
    ):
        ax.step(curve["days"], curve["survival"], where="post", color=colour, label=_label(name))
        ax.fill_between(
            curve["days"],
            curve["ci_lower"],
            curve["ci_upper"],
            step="post",
            color=colour,
            alpha=0.2,
            linewidth=0,
        )
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(
        xlabel="Days since first purchase",
        ylabel="Share of customers still active",
        title="Customer survival" + (f" by {_label(by.replace('_', ' '))}" if by else ""),
        ylim=(0, 1.02),
    )
    ax.legend(title=None, fontsize="small")
    return ax


def plot_gains(model, *, ax=None):
    """Cumulative gains of the churn model versus the baselines (``ChurnModelResult``)."""
    ax = _get_ax(ax)
    for name, gains in model.gains.groupby("model", sort=False):
        ax.plot(
            gains["share_targeted"], gains["share_churners_captured"], label=name.replace("_", " ")
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.set(
        xlabel="Share of active customers contacted (highest risk first)",
        ylabel="Share of churners reached",
        title="Gains on held-out customers",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend(fontsize="small")
    return ax


def plot_calibration(model, *, ax=None):
    """Predicted versus observed churn rate by probability bin (``ChurnModelResult``)."""
    ax = _get_ax(ax, figsize=(5.5, 5))
    for name, bins in model.calibration.groupby("model", sort=False):
        ax.plot(
            bins["mean_predicted"], bins["observed_rate"], marker="o", label=name.replace("_", " ")
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    ax.set(
        xlabel="Predicted churn probability",
        ylabel="Observed churn rate",
        title="Calibration on held-out customers",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(fontsize="small")
    return ax


def plot_churn_importances(model, *, top: int = 12, ax=None):
    """Permutation importances of the churn model, in plain names (``ChurnModelResult``)."""
    table = model.importances.head(top).iloc[::-1]
    ax = _get_ax(ax, figsize=(8, 0.35 * len(table) + 1.5))
    positions = range(len(table))
    ax.barh(
        positions,
        table["importance"],
        xerr=table["importance_std"],
        color=sns.color_palette(PALETTE)[0],
    )
    ax.set_yticks(positions, _labels(table["name"]))
    ax.set(
        xlabel="Drop in held-out ROC AUC when the feature is shuffled",
        ylabel=None,
        title="What drives the churn prediction",
    )
    return ax


def plot_revenue_at_risk(table, *, currency: str | None = None, ax=None):
    """Revenue at risk by segment (``cxlib.churn.revenue_at_risk_by_segment`` output).

    ``currency`` names the money axis's unit.
    """
    data = table.reset_index().sort_values("revenue_at_risk")
    ax = _get_ax(ax)
    positions = range(len(data))
    ax.barh(positions, data["revenue_at_risk"], color=sns.color_palette(PALETTE)[3])
    ax.set_yticks(positions, _labels(data["segment"]))
    ax.set(ylabel=None, title="Where the money at risk is")
    _money_axis(ax, "Expected revenue at risk (churn probability x customer value)", currency)
    return ax


def plot_hazard_ratios(cox, *, ax=None):
    """Hazard ratios with 95% intervals (``cxlib.churn.cox_drivers`` result), log scale.

    A result without a model (its ``note`` says why) draws nothing: ``ax`` is returned as
    given, and without one no figure is made (None).
    """
    if cox.hazard_ratios.empty:
        return ax
    table = cox.hazard_ratios.iloc[::-1]
    ax = _get_ax(ax, figsize=(8, 0.35 * len(table) + 1.5))
    positions = range(len(table))
    ax.errorbar(
        table["hazard_ratio"],
        positions,
        xerr=[table["hazard_ratio"] - table["ci_lower"], table["ci_upper"] - table["hazard_ratio"]],
        fmt="o",
        color=sns.color_palette(PALETTE)[0],
    )
    ax.set_yticks(positions, _labels(table["name"]))
    ax.axvline(1, color="grey", linestyle=":")
    ax.set_xscale("log")
    # Plain ratios (0.9, 1, 1.1) on the log axis, not powers of ten.
    ratio = plt.FuncFormatter(lambda v, _: localise(f"{v:.2f}".rstrip("0").rstrip(".")))
    ax.xaxis.set_major_formatter(ratio)
    ax.xaxis.set_minor_formatter(ratio)
    ax.set(
        xlabel="Hazard ratio (above 1 = leaves sooner)",
        ylabel=None,
        title="Drivers of churn (Cox model)",
    )
    return ax


def plot_survival_separation(tests, *, ax=None):
    """How strongly each attribute separates survival (``cxlib.churn.survival_splits`` tests).

    One bar per attribute: the log-rank chi-square statistic per degree of freedom, dark when
    the Holm-corrected p-value is under 5%, light otherwise; the attribute drawn as curves is
    the first dark one. An empty table draws nothing.
    """
    data = tests.dropna(subset=["statistic"])
    if data.empty:
        return ax
    data = data.iloc[::-1]
    ax = _get_ax(ax, figsize=(8, 0.35 * len(data) + 1.5))
    per_df = data["statistic"] / data["degrees_of_freedom"].clip(lower=1)
    palette = sns.color_palette(PALETTE)
    colours = [palette[0] if flag else "lightgrey" for flag in data["significant"]]
    positions = range(len(data))
    ax.barh(positions, per_df, color=colours)
    ax.set_yticks(positions, _labels(data.index))
    ax.set(
        xlabel="Log-rank statistic per degree of freedom (grey: not significant after Holm)",
        ylabel=None,
        title="Which attributes separate how long subscribers stay",
    )
    return ax
