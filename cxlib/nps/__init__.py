"""Net Promoter Score with honest intervals, by group and period, and its link to money.

The NPS is the share of promoters minus the share of detractors, in points (-100..100). Every
estimate here carries an interval, and every comparison a test, so that a report never calls
sampling noise a change.

- :func:`nps` — one score with its interval (trinomial Wald, adjusted Wald, or bootstrap).
- :func:`nps_category` — promoter / passive / detractor for each answer.
- :func:`nps_difference` — the difference between two groups or periods, its interval and z test.
- :func:`nps_by` — NPS by group (segment, channel, ...) and/or period, with change tests.
- :func:`latest_answers` — each customer's latest answer, the one respondent rule.
- :func:`nps_by_segment` — NPS per customer segment: the one computation every page uses.
- :func:`nps_vs_revenue` — does the score track money: past and *subsequent* spend, retention,
  regressions controlling for what the customer already does, segments, quarters, non-response.
- :func:`conclusion_markdown`, :func:`nps_headlines` — the page's text and headline numbers.

Modules: :mod:`~cxlib.nps.score` (one score, categories, differences), :mod:`~cxlib.nps.groups`
(by group, period and segment), :mod:`~cxlib.nps.revenue` and :mod:`~cxlib.nps.outcomes`
(NPS versus money), :mod:`~cxlib.nps.conclusion` (text and headlines).
"""

from cxlib.nps.conclusion import conclusion_markdown, nps_headlines
from cxlib.nps.groups import latest_answers, nps_by, nps_by_segment
from cxlib.nps.outcomes import MIN_USEFUL_AUC_GAIN, MIN_USEFUL_R2_GAIN
from cxlib.nps.revenue import (
    DEFAULT_FOLLOW_UP_MONTHS,
    DEFAULT_PRIOR_MONTHS,
    NPSRevenueResult,
    nps_vs_revenue,
)
from cxlib.nps.score import (
    CATEGORIES,
    DEFAULT_DETRACTOR_MAX,
    DEFAULT_PROMOTER_MIN,
    MIN_RELIABLE_N,
    NPSDifference,
    NPSResult,
    nps,
    nps_category,
    nps_difference,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_DETRACTOR_MAX",
    "DEFAULT_FOLLOW_UP_MONTHS",
    "DEFAULT_PRIOR_MONTHS",
    "DEFAULT_PROMOTER_MIN",
    "MIN_RELIABLE_N",
    "MIN_USEFUL_AUC_GAIN",
    "MIN_USEFUL_R2_GAIN",
    "NPSDifference",
    "NPSResult",
    "NPSRevenueResult",
    "conclusion_markdown",
    "latest_answers",
    "nps",
    "nps_by",
    "nps_by_segment",
    "nps_category",
    "nps_difference",
    "nps_headlines",
    "nps_vs_revenue",
]
