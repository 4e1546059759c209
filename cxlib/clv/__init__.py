"""Customer lifetime value: purchase, spend and retention models, validated CLV.

The building blocks follow Fader and Hardie's "buy 'til you die" models, with cxlib's own
log-space likelihoods and exact gradients (lifetimes is only a test-time reference):

- a purchase model (:class:`PurchaseModel`: BG/NBD, Pareto/NBD, MBG/NBD, or BG/BB for discrete
  opportunities) for how often a customer buys and whether they are still active, one model
  per module (:mod:`~cxlib.clv.bgnbd`, :mod:`~cxlib.clv.pareto_nbd`, :mod:`~cxlib.clv.mbgnbd`,
  :mod:`~cxlib.clv.bgbb`), each implementing the contract of :mod:`~cxlib.clv.kinds`
  (:class:`PurchaseKind`; :func:`purchase_kinds` is the registry), sharing one optimiser;
- a Gamma-Gamma spend model (:class:`SpendModel`) for how much they spend per order;
- for contractual customers, the shifted-beta-geometric :class:`RetentionModel` and
  :func:`contractual_value`;
- what keeping customers is worth: :func:`retention_scenario` (and
  :func:`contractual_retention_scenario`) lower each customer's own future dropout.

Every non-contractual analysis starts from :func:`rfm_summary`, one row per customer::

    holdout = cxlib.clv.holdout_summary(transactions, freq="W")      # last 26 weeks held out
    choice = cxlib.clv.select_model(holdout)                          # BG/NBD, Pareto/NBD, MBG/NBD
    summary = cxlib.clv.rfm_summary(transactions, freq="W")          # all the data
    purchases = cxlib.clv.PurchaseModel(choice.kind).fit(summary)
    spend = cxlib.clv.SpendModel().fit(summary)
    values = cxlib.clv.customer_value(summary, purchases, spend, horizon_months=12)
    cxlib.clv.segment_value(values, segments)                         # totals with intervals
    cxlib.clv.retention_scenario(summary, purchases, spend, retention_gain=0.05)

:func:`fit_customer_value` does the first five steps in one call. Models are fitted on the
distinct (frequency, recency, T) rows weighted by their counts, and predictions are computed
on distinct rows, so a million customers take about a second; predictions are finite for
every customer.
"""

from __future__ import annotations

from cxlib.clv._optimise import RETRY_PENALIZER
from cxlib.clv.acquisition import AcquisitionValue, clv_by_channel
from cxlib.clv.fit import CustomerValueFit, degenerate_fit_warnings, fit_customer_value
from cxlib.clv.flags import FitWarning
from cxlib.clv.headlines import clv_headlines
from cxlib.clv.holdout import (
    SELECTION_CRITERIA,
    HoldoutValidation,
    ModelSelection,
    holdout_summary,
    same_likelihood,
    select_model,
    tracking,
    validate_holdout,
)
from cxlib.clv.kinds import PurchaseKind, purchase_kinds
from cxlib.clv.purchase import PurchaseModel, dropout_at_bound
from cxlib.clv.retention import (
    RetentionModel,
    cohort_frame,
    contractual_total_interval,
    contractual_value,
    retention_curve,
)
from cxlib.clv.scenario import (
    RETENTION_HORIZONS_MONTHS,
    RetentionScenario,
    contractual_retention_scenario,
    retention_headlines,
    retention_scenario,
    retention_scenario_horizons,
    rfm_matrix,
)
from cxlib.clv.segments import segment_value, top_share, value_concentration
from cxlib.clv.spend import (
    DEFAULT_SPEND_CORRELATION_MAX,
    SpendModel,
    constant_spend,
    spend_correlation,
)
from cxlib.clv.value import clv_interval, customer_value, total_interval
from cxlib.customers import (
    DEFAULT_HOLDOUT_WEEKS,
    FREQUENCIES,
    NET_SPEND_TOLERANCE,
    default_calibration_end,
    rfm_summary,
)

__all__ = [
    "CustomerValueFit",
    "FitWarning",
    "DEFAULT_HOLDOUT_WEEKS",
    "DEFAULT_SPEND_CORRELATION_MAX",
    "FREQUENCIES",
    "HoldoutValidation",
    "ModelSelection",
    "NET_SPEND_TOLERANCE",
    "PurchaseKind",
    "PurchaseModel",
    "RETRY_PENALIZER",
    "RetentionModel",
    "RETENTION_HORIZONS_MONTHS",
    "RetentionScenario",
    "SELECTION_CRITERIA",
    "SpendModel",
    "AcquisitionValue",
    "contractual_total_interval",
    "total_interval",
    "clv_by_channel",
    "clv_headlines",
    "clv_interval",
    "cohort_frame",
    "constant_spend",
    "contractual_retention_scenario",
    "contractual_value",
    "customer_value",
    "default_calibration_end",
    "degenerate_fit_warnings",
    "dropout_at_bound",
    "fit_customer_value",
    "holdout_summary",
    "purchase_kinds",
    "retention_curve",
    "retention_headlines",
    "retention_scenario",
    "retention_scenario_horizons",
    "rfm_matrix",
    "rfm_summary",
    "segment_value",
    "same_likelihood",
    "select_model",
    "spend_correlation",
    "top_share",
    "tracking",
    "validate_holdout",
    "value_concentration",
]
