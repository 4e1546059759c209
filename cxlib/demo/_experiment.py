"""The demo client's seeded experiment: a coupon against a control group.

Kept apart from :mod:`cxlib.demo`'s other stages and drawn from its own random stream, so the
experiment never changes the other exports' draws: it only *adds* order rows (the coupon's
extra purchases) to the transactions, and an ``experiments`` table.

Mechanism (:data:`DEFAULT_EXPERIMENT`): every customer with an order in the 365 days before
the start is eligible and assigned at random (independently, equal chances) to ``control``
or ``coupon``. Each coupon customer still active during the test responds with
probability ``response_rate`` by placing one extra order, on a uniform day of the test window
(before their last purchase if they leave during it, never on a day they already order),
worth an order of their own usual value. The truth is the
realised extra revenue per assigned customer of each group and the realised extra share of
buyers over the test window (``truth.params["experiment"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_EXPERIMENT", "simulate_experiment"]

#: The demo experiment's design; recorded with its realised effects in
#: ``truth.params["experiment"]``.
DEFAULT_EXPERIMENT: dict[str, Any] = {
    "name": "autumn_coupon_2025",
    "start": "2025-09-01",
    "duration_days": 90,
    "eligible_days": 365,  # customers with an order in this many days before the start
    "groups": ["control", "coupon"],  # equal chances
    "response_rate": {"control": 0.0, "coupon": 0.25},
}


def simulate_experiment(
    rng: np.random.Generator,
    *,
    start_date: pd.Timestamp,
    n: int,
    ids: np.ndarray,
    order_cust: np.ndarray,
    order_day: np.ndarray,
    dies: np.ndarray,
    drop_day: np.ndarray,
    order_value: tuple[np.ndarray, np.ndarray, np.ndarray],
    mixes: tuple[np.ndarray, np.ndarray, np.ndarray],
    labels: tuple[tuple[str, ...], tuple[str, ...]],
    next_order_id: int,
    to_dates,
    choice_rows,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Assign the eligible customers and draw the coupon's extra orders.

    ``order_cust``/``order_day`` are every simulated order (day numbers since ``start_date``,
    sorted by customer then day); ``order_value`` is ``(p shape, nu, spend multiplier)`` per
    customer; ``mixes`` is ``(segment of each customer, category mix per segment, channel mix
    per segment)``.

    Returns
    -------
    extra_orders : DataFrame
        Rows in the transactions' columns, to be added to the observed transactions.
    experiments : DataFrame
        ``customer_id``, ``experiment``, ``group``, ``start``, ``end``.
    truth : dict
        The design plus ``n_assigned`` and the realised ``revenue_effect`` and
        ``retention_effect`` per group (per assigned customer, over the test window).
    """
    design = DEFAULT_EXPERIMENT
    start = (pd.Timestamp(design["start"]) - start_date).days
    end = start + design["duration_days"] - 1
    recent = (order_day >= start - design["eligible_days"]) & (order_day < start)
    eligible = np.unique(order_cust[recent])
    groups = np.array(design["groups"], dtype=object)
    group = rng.integers(0, len(groups), size=len(eligible))

    # Who can respond: alive on some day of the window before their last purchase.
    gone = dies & (drop_day <= end)
    last = np.where(gone[eligible], drop_day[eligible] - 1, end)
    rate = np.array([design["response_rate"][g] for g in groups])[group]
    u_respond, u_day = rng.random(len(eligible)), rng.random(len(eligible))
    day = start + np.floor(u_day * np.maximum(last - start + 1, 0)).astype(np.int64)
    key = order_cust.astype(np.int64) * 100_000 + order_day
    wanted = eligible.astype(np.int64) * 100_000 + day
    position = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
    taken = key[position] == wanted if len(key) else np.zeros(len(eligible), bool)
    responds = (u_respond < rate) & (last >= start) & ~taken
    who, when = eligible[responds], day[responds]
    p_shape, nu, multiplier = order_value
    amount = rng.gamma(p_shape[who], 1.0 / nu[who]) * multiplier[who]
    amount = np.maximum(np.round(amount, 2), 1.0)
    segment, categories, channels = mixes
    category = choice_rows(rng, categories, segment[who])
    channel = choice_rows(rng, channels, segment[who])
    extra = pd.DataFrame(
        {
            "customer_id": ids[who],
            "date": to_dates(when),
            "amount": amount,
            "order_id": np.arange(len(who), dtype=np.int64) + next_order_id,
            "category": np.array(labels[0], dtype=object)[category],
            "channel": np.array(labels[1], dtype=object)[channel],
        }
    )
    experiments = pd.DataFrame(
        {
            "customer_id": ids[eligible],
            "experiment": design["name"],
            "group": groups[group],
            "start": pd.Timestamp(design["start"]),
            "end": pd.Timestamp(design["start"]) + pd.Timedelta(days=design["duration_days"] - 1),
        }
    ).astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})
    # Realised truth over the window: extra revenue per assigned customer; extra buyers are
    # responders without an order of their own in the window.
    in_window = (order_day >= start) & (order_day <= end)
    organic = np.zeros(n, dtype=bool)
    organic[order_cust[in_window]] = True
    truth = {**design, "n_assigned": {}, "revenue_effect": {}, "retention_effect": {}}
    for k, name in enumerate(groups):
        members = group == k
        size = int(members.sum())
        added = amount[group[responds] == k].sum()
        new_buyers = (responds & members & ~organic[eligible]).sum()
        truth["n_assigned"][name] = size
        truth["revenue_effect"][name] = float(added / size) if size else 0.0
        truth["retention_effect"][name] = float(new_buyers / size) if size else 0.0
    return extra, experiments, truth
