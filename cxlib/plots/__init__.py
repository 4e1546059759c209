"""Figures: one function per figure, each taking a result and ``ax=None`` and returning the axes.

Plot functions never compute analyses, call ``plt.show()`` or save files. This package is the
only part of cxlib that imports matplotlib or seaborn; its modules group the figures by the
analysis they show (:mod:`~cxlib.plots.clv`, :mod:`~cxlib.plots.segments`,
:mod:`~cxlib.plots.churn`, :mod:`~cxlib.plots.nps`, :mod:`~cxlib.plots.experiments`,
:mod:`~cxlib.plots.summary`), and every figure is reached as ``cxlib.plots.plot_<name>``.
"""

from __future__ import annotations

from cxlib.plots._base import PALETTE, _money_ticks, set_theme  # noqa: F401 - _money_ticks: tests
from cxlib.plots.churn import (
    plot_calibration,
    plot_churn_importances,
    plot_cohort_heatmap,
    plot_gains,
    plot_hazard_ratios,
    plot_revenue_at_risk,
    plot_survival_curves,
    plot_survival_separation,
)
from cxlib.plots.clv import (
    plot_holdout_by_frequency,
    plot_lorenz,
    plot_retention_projection,
    plot_rfm_matrix,
    plot_segment_value,
    plot_tracking,
)
from cxlib.plots.experiments import (
    plot_cumulative_revenue,
    plot_effect_intervals,
    plot_qini,
)
from cxlib.plots.nps import (
    plot_category_outcome,
    plot_nps_by_group,
    plot_nps_over_time,
    plot_score_outcome,
    plot_themes_at_stake,
)
from cxlib.plots.segments import (
    plot_cluster_profiles,
    plot_segment_map,
    plot_segment_sizes_vs_value,
    plot_wallet_headroom,
)
from cxlib.plots.summary import (
    plot_actions,
    plot_active_customers,
    plot_revenue_bridge,
)

__all__ = [
    "plot_actions",
    "plot_active_customers",
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
    "plot_qini",
    "plot_retention_projection",
    "plot_revenue_at_risk",
    "plot_revenue_bridge",
    "plot_rfm_matrix",
    "plot_score_outcome",
    "plot_segment_map",
    "plot_segment_sizes_vs_value",
    "plot_segment_value",
    "plot_survival_curves",
    "plot_survival_separation",
    "plot_themes_at_stake",
    "plot_tracking",
    "plot_wallet_headroom",
    "set_theme",
]

# Each figure is documented and pickled as cxlib.plots.<name>, wherever its module is.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
