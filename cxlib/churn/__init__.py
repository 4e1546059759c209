"""Churn: who leaves, when, why, and how much money leaves with them.

Pure functions over canonical frames, one module per piece:

* **Definitions** (``registry``, ``inactivity``, ``definitions``) -- :data:`DEFINITIONS` holds
  every churn definition a client can choose (``"inactivity"``, ``"contract"``, ``"p_alive"``),
  each a :class:`ChurnDefinition` with its words, its status rule and its lifetimes;
  :func:`inactivity_threshold` picks the "no purchase for longer than N days" rule from the
  inter-purchase time distribution; :func:`churn_status` flags churned customers at a date;
  :func:`churn_rate` measures the share of customers alive at a start date who churned by an
  end date, and :func:`churn_vs_target` compares it with a plan.
* **The run's churn** (``result``) -- :func:`run_churn` computes a client's churn once (status,
  rate over the window, survival table) as a :class:`ChurnResult`: ``client.churn``.
* **Cohorts** (``cohorts``) -- :func:`cohort_retention`: acquisition cohorts x periods since
  acquisition.
* **Survival** (``survival``) -- :func:`survival_table` turns transactions into (duration,
  event) per customer, :func:`survival_by_segment` gives Kaplan-Meier curves, medians and
  log-rank tests, and :func:`cox_drivers` (``cox``) a Cox model with hazard ratios and a
  proportional-hazards check (all with lifelines).
* **Prediction** (``features``, ``model``, ``evaluation``) -- :func:`churn_model`: features
  strictly up to a cutoff, labels strictly after it, a gradient-boosting model against a
  logistic baseline and a recency rule, held-out and out-of-time metrics, permutation
  importances, and a ranked list of customers with revenue at risk and the main reasons.
* **Subscribers** (``contractual``, ``leakage``, ``subscribers``, ``subscriber_risk``,
  ``subscriber_churn``) -- a contract history (tenure, churned flag, attributes):
  :func:`subscriber_churn` computes the subscription client's churn page (rate per period
  against plan, the attribute that separates survival most, Cox drivers, active subscribers
  at risk scored out of fold), on attributes that are not functions of tenure
  (:func:`tenure_leakage`, :func:`model_attributes`).
* **Money and headlines** (``risk``) -- :func:`revenue_at_risk_by_segment` and
  :func:`churn_headlines`, the numbers the churn page records for the executive summary.

Time convention: dates are days. The ``cutoff`` is the *last day of history*: features use
transactions dated ``<= cutoff``; the label window is ``(cutoff, cutoff + horizon_days]``.
A *purchase* is a day with positive net spend (refunds netted within the day), the definition
of the one customer base (:func:`cxlib.customers.customer_base`), from which every per-customer
figure here is read. Every function that takes transactions checks them with
:func:`cxlib.settings.validation.check_transactions`.
"""

from cxlib.churn._common import (
    DEFAULT_ACTIVE_DAYS,
    DEFAULT_FEATURE_LABELS,
    DEFAULT_INACTIVITY_QUANTILE,
    LeakageError,
)
from cxlib.churn.cohorts import CohortRetention, cohort_retention
from cxlib.churn.cox import COX_ATTRIBUTES, COX_HISTORY, CoxResult, cox_drivers
from cxlib.churn.definitions import (
    ChurnRate,
    churn_rate,
    churn_status,
    churn_vs_target,
    default_cutoff,
    resolve_cutoff,
)
from cxlib.churn.features import churn_features
from cxlib.churn.inactivity import InactivityThreshold, inactivity_threshold, repeat_purchases
from cxlib.churn.leakage import model_attributes, tenure_leakage
from cxlib.churn.model import ChurnModelResult, churn_model
from cxlib.churn.registry import DEFINITIONS, ChurnDefinition, churn_definition
from cxlib.churn.result import ChurnResult, run_churn
from cxlib.churn.risk import churn_headlines, retention_economics, revenue_at_risk_by_segment
from cxlib.churn.subscriber_churn import SubscriberChurn, subscriber_churn
from cxlib.churn.subscriber_risk import AtRisk, at_risk_subscribers, periodic_value
from cxlib.churn.subscribers import SurvivalSplits, subscriber_churn_rate, survival_splits
from cxlib.churn.survival import (
    SurvivalResult,
    survival_by_segment,
    survival_split,
    survival_table,
)

__all__ = [
    "AtRisk",
    "SubscriberChurn",
    "SurvivalSplits",
    "at_risk_subscribers",
    "model_attributes",
    "periodic_value",
    "subscriber_churn",
    "subscriber_churn_rate",
    "survival_splits",
    "tenure_leakage",
    "COX_ATTRIBUTES",
    "COX_HISTORY",
    "DEFINITIONS",
    "DEFAULT_ACTIVE_DAYS",
    "DEFAULT_FEATURE_LABELS",
    "DEFAULT_INACTIVITY_QUANTILE",
    "ChurnDefinition",
    "ChurnModelResult",
    "ChurnRate",
    "ChurnResult",
    "CohortRetention",
    "CoxResult",
    "InactivityThreshold",
    "LeakageError",
    "SurvivalResult",
    "churn_definition",
    "churn_features",
    "churn_headlines",
    "churn_model",
    "churn_rate",
    "churn_status",
    "churn_vs_target",
    "cohort_retention",
    "cox_drivers",
    "default_cutoff",
    "inactivity_threshold",
    "repeat_purchases",
    "resolve_cutoff",
    "retention_economics",
    "revenue_at_risk_by_segment",
    "run_churn",
    "survival_by_segment",
    "survival_split",
    "survival_table",
]
