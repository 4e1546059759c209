"""Cluster names: words for how a cluster differs from the whole ("frequent high-spend online").

:func:`_name_clusters` picks, for each cluster, the features it sits furthest from the whole
on, in words (:data:`DEFAULT_FEATURE_WORDS`, the recency words of :func:`recency_word`), and
lengthens names until they are distinct. Used by :func:`cxlib.segmentation.cluster_customers`;
public through :mod:`cxlib.segmentation` and :mod:`cxlib.segmentation.clusters`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cxlib.segmentation.features import CATEGORY_PREFIX, CHANNEL_PREFIX

#: Words used to name clusters: feature -> (word when the cluster is low, word when high).
#: Category and channel shares are named after the category or channel itself (high side only).
#: A word is used only when the cluster's mean in the feature's own units lies on the same side
#: of the whole's mean as its standardised profile (a log scale can disagree with the mean).
DEFAULT_FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "frequency": ("infrequent", "frequent"),
    "days_since_last": ("more recent", "less recent"),
    "tenure_days": ("new", "long-standing"),
    "avg_order_value": ("small-basket", "big-basket"),
    "total_spend": ("low-spend", "high-spend"),
}

#: With the client's inactivity threshold ``t``, a cluster's mean days since the last purchase
#: names it in the report's own terms (the RFM recency bands, the churn page's lapse): words and
#: the largest mean, as a fraction of ``t``, each may stand for (the last one: any mean).
RECENCY_WORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "low": (("recently active", 0.5), ("active", 1.0), ("more recent", float("inf"))),
    "high": (("less recent", 1.0), ("lapsed", float("inf"))),
}


def recency_word(mean_days: float, threshold_days: float, *, above_whole: bool) -> str:
    """Name a cluster's recency by its mean days since the last purchase and the threshold.

    A cluster more recent than the whole is "recently active" when its mean is within half the
    inactivity threshold (RFM recency 4 or 5), "active" within the threshold, else only "more
    recent"; a less recent one is "lapsed" beyond the threshold, else "less recent".

    Examples
    --------
    >>> [recency_word(d, 200, above_whole=False) for d in (40, 127, 300)]
    ['recently active', 'active', 'more recent']
    >>> [recency_word(d, 200, above_whole=True) for d in (150, 476)]
    ['less recent', 'lapsed']
    """
    for word, limit in RECENCY_WORDS["high" if above_whole else "low"]:
        if mean_days <= limit * threshold_days:
            return word
    return RECENCY_WORDS["high" if above_whole else "low"][-1][0]


def _name_clusters(
    standardised: pd.DataFrame,
    *,
    words: Mapping[str, tuple[str, str]],
    threshold: float,
    max_words: int,
    means: pd.DataFrame | None = None,
    whole: pd.Series | None = None,
    recency_threshold_days: float | None = None,
) -> list[str]:
    """Descriptive, distinct names from each cluster's standardised profile.

    With ``means`` (each cluster's mean in the features' units, rows as ``standardised``) and
    ``whole`` (the means over all customers), a word is kept only when the cluster's mean lies
    on the side of the whole's that the word says; with ``recency_threshold_days`` the default
    recency words become :func:`recency_word`'s.
    """
    order = {
        name: i
        for i, name in enumerate(
            ["tenure_days", "days_since_last", "frequency", "total_spend", "avg_order_value"]
        )
    }

    def agrees(i: int, column: str, high: bool) -> bool:
        if means is None or whole is None or column not in whole.index:
            return True
        mean, overall = means.iloc[i][column], whole[column]
        return bool(mean > overall if high else mean < overall)

    def word(i: int, column: str, high: bool) -> str:
        default = column == "days_since_last" and tuple(words[column]) == tuple(
            DEFAULT_FEATURE_WORDS["days_since_last"]
        )
        if default and recency_threshold_days is not None and means is not None:
            mean = means.iloc[i][column]
            return recency_word(mean, recency_threshold_days, above_whole=high)
        return words[column][int(high)]

    def candidates(i: int, row: pd.Series) -> list[tuple[float, int, str]]:
        found = []
        for column, z in row.items():
            if not np.isfinite(z):
                continue
            if column in words and abs(z) >= threshold and agrees(i, column, z > 0):
                found.append((abs(z), order.get(column, 5), word(i, column, z > 0)))
            elif column.startswith(CATEGORY_PREFIX) and z >= threshold:
                found.append((z, 7, column[len(CATEGORY_PREFIX) :].replace("_", " ")))
            elif column.startswith(CHANNEL_PREFIX) and z >= threshold:
                found.append((z, 6, column[len(CHANNEL_PREFIX) :].replace("_", " ")))
        return sorted(found, key=lambda item: -item[0])

    ranked = [candidates(i, row) for i, (_, row) in enumerate(standardised.iterrows())]
    used = [min(max_words, len(c)) for c in ranked]

    def compose(i: int) -> str:
        chosen = sorted(ranked[i][: used[i]], key=lambda item: item[1])
        parts = list(dict.fromkeys(word for _, _, word in chosen))
        if chosen and chosen[-1][1] == 7:  # a category ends the name: "... electronics buyers"
            parts[-1] = f"{parts[-1]} buyers"
        return " ".join(parts) if parts else "typical"

    names = [compose(i) for i in range(len(ranked))]
    for _ in range(10):  # lengthen colliding names with their next descriptor
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            break
        grew = False
        for i, name in enumerate(names):
            if name in clashes and used[i] < len(ranked[i]):
                used[i] += 1
                grew = True
        names = [compose(i) for i in range(len(ranked))]
        if not grew:
            break
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # last resort: number the remaining twins
        if names.count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} ({seen[name]})"
        unique.append(name)
    return unique
