"""The customer base: one row per customer, the one per-customer summary every analysis uses.

A purchase, an active customer and a customer's money are defined here once. Every topic module
(segments, churn, NPS versus revenue, wallet, CLV) derives its per-customer figures from
:func:`customer_base` or from :func:`rfm_summary`, its view in ``lifetimes``' terms.

Modules, bottom to top:

- :mod:`~cxlib.customers.purchases`: what a purchase is (positive net spend per day or
  period), over plain arrays; shared with :func:`cxlib.clv.holdout.tracking`;
- :mod:`~cxlib.customers.totals`: the per-customer adapters, an engine's per-customer totals
  (DuckDB's or Spark's) turned into the summary and the base;
- :mod:`~cxlib.customers.summary`: :func:`rfm_summary` and the calibration/holdout split;
- :mod:`~cxlib.customers.base`: :func:`customer_base`;
- :mod:`~cxlib.customers.spark`: both over Spark rows (imported on demand).
"""

from __future__ import annotations

from cxlib.customers.base import customer_base
from cxlib.customers.purchases import FREQUENCIES, NET_SPEND_TOLERANCE, RESOLUTIONS
from cxlib.customers.summary import (
    DEFAULT_HOLDOUT_WEEKS,
    default_calibration_end,
    derived_holdout_weeks,
    rfm_summary,
)

__all__ = [
    "DEFAULT_HOLDOUT_WEEKS",
    "FREQUENCIES",
    "NET_SPEND_TOLERANCE",
    "RESOLUTIONS",
    "customer_base",
    "default_calibration_end",
    "derived_holdout_weeks",
    "rfm_summary",
]
