"""Figures: one function per figure, each taking a result and ``ax=None`` and returning the axes.

Plot functions never compute analyses, call ``plt.show()`` or save files. This is the only
cxlib module that imports matplotlib or seaborn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = [
    "plot_calibration",
    "plot_category_outcome",
    "plot_churn_importances",
    "plot_cluster_profiles",
    "plot_cohort_heatmap",
    "plot_cumulative_revenue",
    "plot_effect_intervals",
    "plot_gains",
    "plot_hazard_ratios",
    "plot_holdout_by_frequency",
    "plot_lorenz",
    "plot_nps_by_group",
    "plot_nps_over_time",
    "plot_retention_projection",
    "plot_revenue_at_risk",
    "plot_rfm_matrix",
    "plot_score_outcome",
    "plot_segment_map",
    "plot_segment_sizes_vs_value",
    "plot_segment_value",
    "plot_survival_curves",
    "plot_themes_at_stake",
    "plot_tracking",
    "plot_wallet_headroom",
    "set_theme",
]

# One palette for the whole report, so a segment keeps its colour from page to page.
PALETTE = "colorblind"


def set_theme() -> None:
    """Apply the report's figure theme (call once at the top of a notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _label(value) -> str:
    """Return a client's name as a figure shows it: one helper for every client label.

    Control and bidirectional control characters removed, at most ``limits.max_label_chars``
    characters (:func:`cxlib.settings.escape.safe_text`), and ``$`` escaped: two dollar signs would
    make matplotlib read the text between them as a formula.
    """
    from cxlib.settings import escape as _html

    return _html.safe_text(value, _html.MAX_LABEL_CHARS).replace("$", r"\$")


def _labels(values) -> list[str]:
    """Return client names as a figure shows them (:func:`_label`), distinct when they were.

    Two long names that differ only past the limit get " (2)", " (3)": a categorical axis
    would otherwise merge their bars.
    """
    shown: list[str] = []
    for value in values:
        label, n = _label(value), 2
        while label in shown:
            label, n = f"{_label(value)} ({n})", n + 1
        shown.append(label)
    return shown


def _get_ax(ax=None, **subplot_kw):
    """Return ``ax`` or a new figure's axes."""
    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def _nothing_to_draw(ax, text: str):
    """Say in one line why a figure is empty, on a strip-sized figure when none is given.

    A full-sized empty chart (axes from -0.04 to 0.04, or a blank square) reads as a broken
    figure; one line of text says what is missing and takes a line's height.
    """
    ax = _get_ax(ax, figsize=(9, 0.5))
    ax.text(
        0.5, 0.5, str(text).replace("$", r"\$"), ha="center", va="center", transform=ax.transAxes
    )
    ax.set_axis_off()
    return ax


def _money_ticks(value: float, _position=None) -> str:
    """Tick label for money: 1,250 / 12.5k / 1.25M (the axis label names the currency)."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}".rstrip("0").rstrip(".") + "M"
    if magnitude >= 1e4:
        return f"{value / 1e3:,.1f}".rstrip("0").rstrip(".") + "k"
    return f"{value:,.0f}" if magnitude >= 10 or value == int(value) else f"{value:,.2f}"


def _money_axis(ax, label: str, currency: str | None, *, axis: str = "x") -> None:
    """Label a money axis with its currency and give it readable money ticks."""
    unit = f" ({currency})" if currency else ""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(plt.FuncFormatter(_money_ticks))
    target.set_label_text(f"{label}{unit}")


# === clv ===================================================================================


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
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
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


# === segmentation and wallet ===============================================================


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
        ax.text(row.fm_score, row.r_score, f"{row.share:.0%}", ha="center", va="center", fontsize=9)
    ax.imshow(image, origin="lower", extent=(0.5, 5.5, 0.5, 5.5), alpha=0.85)
    ax.grid(False)
    ax.set_xticks(range(1, 6))
    ax.set_yticks(range(1, 6))
    ax.legend(
        handles=[Patch(color=lookup[n], label=_label(n)) for n in names],
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        frameon=False,
        fontsize=9,
    )
    ax.set(
        xlabel="Frequency-monetary score (5 = buys most)",
        ylabel="Recency score (5 = bought most recently)",
        title="RFM segment map (share of customers per cell)",
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
    ax.barh(positions + 0.2, table["customer_share"], height=0.4, label="Share of customers")
    ax.barh(positions - 0.2, table["revenue_share"], height=0.4, label="Share of revenue")
    ax.set_yticks(positions, _labels(table.index))
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right")
    ax.set(xlabel="Share", ylabel="", title="Segment size versus value")
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
        cbar_kws={"label": "standard deviations from all customers"},
        ax=ax,
    )
    ax.set(xlabel="", ylabel="", title="Cluster profiles (standardised)")
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
    ax.barh(positions, spend, label="Current spend")
    ax.barh(positions, table[f"headroom{suffix}"], left=spend, label="Headroom", alpha=0.6)
    for pos, share, total in zip(
        positions, table["share_of_wallet"], table[f"wallet{suffix}"], strict=True
    ):
        ax.text(total, pos, f"  {share:.0%} of wallet", va="center", fontsize=9)
    ax.set_yticks(positions, _labels(table.index))
    ax.legend(loc="lower right")
    what = "per customer" if per_customer else "total"
    ax.set(ylabel="", title="Share of wallet and headroom by segment")
    _money_axis(ax, f"Annual spend and wallet ({what})", currency)
    return ax


# === churn =================================================================================


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
    ratio = plt.FuncFormatter(lambda v, _: f"{v:.2f}".rstrip("0").rstrip("."))
    ax.xaxis.set_major_formatter(ratio)
    ax.xaxis.set_minor_formatter(ratio)
    ax.set(
        xlabel="Hazard ratio (above 1 = leaves sooner)",
        ylabel=None,
        title="Drivers of churn (Cox model)",
    )
    return ax


# === nps and feedback ======================================================================

_CATEGORY_COLOURS = {"detractor": "#d55e00", "passive": "#999999", "promoter": "#009e73"}
_MONEY_METRICS = frozenset({"revenue", "aov", "clv", "prior_spend", "subsequent_spend"})
_METRIC_LABELS = {
    "revenue": "Revenue per customer",
    "orders": "Orders per customer",
    "aov": "Average order value",
    "tenure_years": "Tenure (years)",
    "clv": "CLV per customer",
    "prior_spend": "Spend before the answer",
    "subsequent_spend": "Spend after the answer",
    "churned": "Share stopped buying",
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
    ax.set(xlabel="NPS (points, 95% interval)", ylabel="", title=f"NPS by {_label(by)}")
    return ax


def plot_nps_over_time(table, *, ax=None):
    """NPS per period with its interval band (a :func:`cxlib.nps.nps_by` table with ``freq``).

    Periods whose change from the previous one is significant are marked with a ring.
    """
    ax = _get_ax(ax)
    ax.fill_between(table["period"], table["ci_low"], table["ci_high"], alpha=0.25, color="#0072b2")
    ax.plot(table["period"], table["score"], marker="o", color="#0072b2", label="NPS")
    if "change_significant" in table:
        changed = table[table["change_significant"]]
        ax.scatter(changed["period"], changed["score"], s=150, facecolors="none",
                   edgecolors="#d55e00", label="significant change")  # fmt: skip
        ax.legend(loc="best")
    ax.axhline(0, color="#bbbbbb", linewidth=1)
    ax.set(xlabel="", ylabel="NPS (points, 95% interval)", title="NPS over time")
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
        raise ValueError(
            f"The 'metric' parameter of plot_category_outcome must be one of "
            f"{sorted(result.by_category['metric'].unique())}. Got {metric!r} instead."
        )
    colours = [_CATEGORY_COLOURS[c] for c in data["category"]]
    errors = [data["mean"] - data["ci_low"], data["ci_high"] - data["mean"]]
    ax.bar(data["category"], data["mean"], color=colours, yerr=errors, capsize=4)
    label = _METRIC_LABELS.get(metric, metric)
    ax.set(xlabel="", ylabel=label, title=f"{label} by NPS category")
    if metric in _MONEY_METRICS:
        _money_axis(ax, label, currency, axis="y")
    elif metric == "churned":
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
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
    if metric not in ("subsequent_spend", "churned"):
        raise ValueError(
            "The 'metric' parameter of plot_score_outcome must be 'subsequent_spend' or "
            f"'churned'. Got {metric!r} instead."
        )
    prefix = "spend" if metric == "subsequent_spend" else "churned"
    data = result.by_score[result.by_score["n"] >= min_n]
    ax.fill_between(data["score"], data[f"{prefix}_ci_low"], data[f"{prefix}_ci_high"],
                    alpha=0.25, color="#0072b2")  # fmt: skip
    ax.plot(data["score"], data[metric], marker="o", color="#0072b2")
    months = result.summary.get("follow_up_months")
    label = _METRIC_LABELS[metric] + (f" ({months} months)" if metric == "subsequent_spend" else "")
    ax.set(xlabel="Likelihood-to-recommend score", ylabel=label, xticks=range(0, 11),
           title=f"{_METRIC_LABELS[metric]} by score")  # fmt: skip
    if metric == "subsequent_spend":
        _money_axis(ax, label, currency, axis="y")
    else:
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    return ax


def plot_themes_at_stake(impact, *, top: int = 10, currency: str | None = None, ax=None):
    """Themes ranked by revenue at stake (a :func:`cxlib.feedback.theme_impact` table).

    The label of each bar gives the number of customers raising the theme, so volume and
    money can be read side by side; ``currency`` names the money axis's unit.
    """
    if impact.empty:
        return _nothing_to_draw(ax, "No complaint themes (no feedback table)")
    ax = _get_ax(ax)
    data = impact.head(top).iloc[::-1]
    ax.barh(range(len(data)), data["revenue_at_stake"], color="#cc79a7")
    ax.set_yticks(range(len(data)), _labels(data["name"]))
    pairs = zip(data["revenue_at_stake"], data["customers"], strict=True)
    for y, (value, customers) in enumerate(pairs):
        ax.annotate(f" {customers:,} customers", (value, y), va="center", fontsize=9)
    unit = f" ({currency})" if currency else ""
    ax.set(xlabel=f"Revenue at stake per year{unit} (revenue x excess churn)", ylabel="",
           title="Complaint themes ranked by money at stake")  # fmt: skip
    return ax


# === experiments ===========================================================================


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


# --- executive summary ------------------------------------------------------------------------
# Appended after the topic figures (other developers edit the list above); names added here.
__all__ = sorted([*__all__, "plot_actions", "plot_active_customers", "plot_revenue_bridge"])


def plot_revenue_bridge(bridge, *, currency: str | None = None, ax=None):
    """Waterfall from the previous 12 months' revenue to the last 12 months'.

    ``bridge`` is :func:`cxlib.segmentation.trend.revenue_bridge`'s table (first and last rows are
    totals,
    the rows between signed steps); ``currency`` names the money axis's unit.
    """
    if bridge.empty:  # no transactions table, or under two years of data
        return _nothing_to_draw(ax, bridge.attrs.get("note", "No revenue trend"))
    ax = _get_ax(ax, figsize=(9, 4.5))
    colours = sns.color_palette(PALETTE)
    labels = [
        str(step).replace(" customers", "\ncustomers").replace(" 12 months", "\n12 months")
        for step in bridge.index
    ]
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
            f"{value / 1e3:+,.0f}k" if 0 < i < len(values) - 1 else f"{value / 1e3:,.0f}k",
            (i, bottom + max(height, 0)),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_xticks(range(len(values)), labels, fontsize=9)
    unit = f" ({currency})" if currency else ""
    top, low = max(extents), min(extents)
    ax.set_ylim(low * 1.1, top * 1.12 if top > 0 else None)  # room for the labels
    ax.yaxis.set_major_formatter(
        plt.FuncFormatter(lambda v, _: f"{v / 1e6:,.1f}M" if top >= 1e6 else f"{v / 1e3:,.0f}k")
    )
    ax.set(ylabel=f"Net revenue{unit}", title="How last year's revenue became this year's")
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
        label="customers buying",
    )
    with_nps = nps is not None and len(nps) > 0
    ax.set(
        ylabel="Customers buying in the period",
        xlabel=None,
        ylim=(0, None),
        title="Active customers and NPS over time" if with_nps else "Active customers over time",
    )
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:,.0f}"))
    if with_nps:
        twin = ax.twinx()
        when = nps["period"]
        when = when.dt.start_time if hasattr(when.dt, "start_time") else when
        twin.plot(when, nps["score"], marker="s", color=colours[1], label="NPS")
        twin.fill_between(when, nps["ci_low"], nps["ci_high"], color=colours[1], alpha=0.15)
        twin.axhline(0, color="grey", lw=0.8)
        twin.set_ylabel("NPS (points, 95% interval)")
        twin.grid(False)
        lines = ax.get_lines()[:1] + twin.get_lines()[:1]
        ax.legend(lines, [line.get_label() for line in lines], loc="lower right")
    return ax


def plot_actions(actions, *, currency: str | None = None, ax=None):
    """Ranked actions with their intervals (:func:`cxlib.report.actions.load_actions` output)."""
    import textwrap

    from cxlib.settings import escape as _html

    if actions.empty:
        return _nothing_to_draw(ax, "No ranked action to chart")
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
    basis = data["basis"].iloc[0] if len(data) else "annual gross margin"
    unit = f" ({currency})" if currency else ""
    ax.set(
        xlabel=f"{basis.capitalize()} a year{unit}, with interval",
        ylabel=None,
        title="Where to invest, ranked by money",
    )
    ax.xaxis.set_major_formatter(plt.FuncFormatter(_money_ticks))
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
