"""Figures: one function per figure, each taking a result and ``ax=None`` and returning the axes.

Plot functions never compute analyses, call ``plt.show()`` or save files. This is the only
cxlib module that imports matplotlib or seaborn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["set_theme"]

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


def _get_ax(ax=None, **subplot_kw):
    """Return ``ax`` or a new figure's axes."""
    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


# === clv ===================================================================================

# === segmentation and wallet ===============================================================

# === churn =================================================================================

# === nps and feedback ======================================================================
