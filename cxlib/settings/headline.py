"""A headline: one number a page records for the summary, the audit and the actions.

Analyses build :class:`Headline` records beside their results; the report layer
(:mod:`cxlib.report.headlines`) saves, loads and formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["INVEST_PREFIX", "Headline", "Unit"]

#: Headlines whose key starts with this prefix are recommendations for "Where to invest".
INVEST_PREFIX = "invest_"

Unit = Literal["currency", "percent", "count", "points", "ratio", "number", "text"]


@dataclass(frozen=True)
class Headline:
    """One number worth a sentence in the summary.

    Parameters
    ----------
    key : str
        Stable identifier, e.g. ``"revenue_at_risk"``.
    label : str
        Plain-language label for a reviewer.
    value : float or str
        The number (a share as a fraction, e.g. 0.23, when ``unit="percent"``), or a text.
    unit : {"currency", "percent", "count", "points", "ratio", "number", "text"}
        How to format it.
    ci_low, ci_high : float, optional
        95% interval, when the number has one.
    note : str, optional
        One sentence of context.
    evidence : dict, optional
        What ``cxlib audit`` re-checks (:mod:`cxlib.report.audit`). A warning (a key ending in
        ``_warning``, ``unit="text"``) records ``{"checks": [...]}``: each check
        ``{"name": str, "value": float or list of float, "op": "<" | "<=" | ">" | ">=" | "=="
        | "!=" | "all_equal" | "finite", "threshold": float or None}`` is a comparison that
        must hold, on the numbers the page shows, for the warning to be true
        (:func:`cxlib.clv.flags.check` builds one).
    """

    key: str
    label: str
    value: float | str
    unit: Unit = "number"
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""
    evidence: dict | None = None
