"""Test and iterate: measure what an action did against a control group, in money.

A client runs an action (a coupon, a call, a newsletter) on a random part of a target group
and keeps the rest as a **control group**; the ``experiments`` table says who was in which
group from which day. :func:`measure` compares the groups over the days after the start:

* ``revenue``: net spend per customer in the window (refunds included);
* ``retention``: the share of customers who bought (a day with positive net spend) in it;
* ``score`` and ``nps``: survey answers given in the window, when surveys are passed.

The difference in means is tested with Welch's t-test. With ``adjust=True`` (the default) the
revenue and retention differences are **CUPED**-adjusted (Deng et al. 2013): each customer's
outcome ``y`` is replaced by ``y - theta * (x - mean(x))``, where ``x`` is the same metric in
the pre-period of the same length just before the start and ``theta = cov(x, y) / var(x)``
(pooled over both groups). Random assignment makes ``x`` independent of the group, so the
adjusted difference estimates the same effect with its variance cut by about ``corr(x, y)**2``.
With several treatment groups each is compared with the control; p-values are Holm-adjusted
across the treatments of a metric (so "significant" holds for the family, at ``alpha``) and the
95% intervals are per comparison (a significant effect's interval always excludes zero). Two
checks are reported with every result: a chi-square test of the group sizes against the planned
allocation (sample-ratio mismatch, SRM) and pre-period balance.

:func:`plan` sizes the next test from the client's own variance, with and without CUPED, and
:func:`rollout_value` turns a measured revenue effect into yearly gross margin net of the
campaign's cost (``analysis.experiment_costs`` in the client's YAML, :func:`experiment_cost`).
"""

from __future__ import annotations

from cxlib.data._assignments import CONTROL, validate_assignments
from cxlib.experiments._planning import (
    experiment_cost,
    experiment_headlines,
    experiment_verdict,
    plan,
    rollout_value,
)
from cxlib.experiments.measure import (
    METRICS,
    active_customers,
    cumulative_revenue,
    experiment_checks,
    experiment_window,
    latest_experiment,
    measure,
    select_experiment,
)
from cxlib.experiments.target import (
    LEARNERS,
    TargetingResult,
    responders,
    responders_text,
    target,
)

__all__ = [
    "CONTROL",
    "LEARNERS",
    "METRICS",
    "active_customers",
    "cumulative_revenue",
    "experiment_cost",
    "experiment_checks",
    "experiment_headlines",
    "experiment_verdict",
    "experiment_window",
    "latest_experiment",
    "measure",
    "plan",
    "responders",
    "responders_text",
    "rollout_value",
    "select_experiment",
    "target",
    "TargetingResult",
    "validate_assignments",
]
