"""Who the customers are: RFM segments, behavioural clusters with names, and segment profiles.

Three tools, from the simplest to the richest:

* :func:`rfm_segments` scores recency, frequency and monetary value 1-5 (rank-based quintiles) and
  maps every customer to one of the widely used named RFM segments (:data:`DEFAULT_RFM_SEGMENTS`)
  (module :mod:`cxlib.segmentation.rfm`).
* :func:`customer_features` + :func:`cluster_customers` group customers by behaviour with a
  documented scikit-learn pipeline and give each cluster a descriptive name
  ("frequent high-spend online") (modules :mod:`~cxlib.segmentation.features` and
  :mod:`~cxlib.segmentation.clusters`).
* :func:`segment_profiles` turns any segmentation into the one table consultants paste into
  slides; :func:`format_profiles` styles it for display; :func:`segmentation_headlines` picks
  the page's numbers for the executive summary (module :mod:`~cxlib.segmentation.profiles`).

Per-customer timing and money come from the one customer base
(:func:`cxlib.customers.customer_base`); pass ``base=client.base`` to build it once per run.
Everything here is a pure function of its inputs: frames in, frames (or a small result object) out.
"""

from cxlib.segmentation import outlook, plays, subscribers, trend, wallet
from cxlib.segmentation.clusters import (
    DEFAULT_FEATURE_WORDS,
    RECENCY_WORDS,
    ClusterResult,
    cluster_customers,
    recency_word,
)
from cxlib.segmentation.features import customer_features
from cxlib.segmentation.profiles import format_profiles, segment_profiles, segmentation_headlines
from cxlib.segmentation.rfm import DEFAULT_RFM_SEGMENTS, SegmentRule, rfm_grid, rfm_segments

__all__ = [
    "ClusterResult",
    "DEFAULT_FEATURE_WORDS",
    "DEFAULT_RFM_SEGMENTS",
    "RECENCY_WORDS",
    "SegmentRule",
    "cluster_customers",
    "customer_features",
    "format_profiles",
    "outlook",
    "plays",
    "subscribers",
    "recency_word",
    "rfm_grid",
    "rfm_segments",
    "segment_profiles",
    "segmentation_headlines",
    "trend",
    "wallet",
]
