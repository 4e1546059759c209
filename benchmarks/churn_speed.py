"""Churn model speed and memory on a large customer base.

Times, in one run:

1. the feature build at the cutoff: ``cxlib.churn.churn_features`` (the customer base at the
   cutoff and of its windows, ``bincount`` mixes) versus a naive pandas implementation of the
   same core features (one filter-and-``groupby`` per feature, daily net spend for purchase
   days, ``pivot_table`` for the spend mix), the way the analysis is usually written by hand;
   prints the ratio and checks that both give the same numbers;
2. the whole ``cxlib.churn.churn_model`` (features at two cutoffs, gradient boosting and
   logistic fits, held-out and out-of-time metrics, permutation importances, scored list with
   main reasons);

plus peak resident memory (``ru_maxrss``) after each step. There is no reference library for
churn feature engineering, hence the naive pandas baseline.

Usage::

    .venv/bin/python benchmarks/churn_speed.py            # 1,000,000 customers
    .venv/bin/python benchmarks/churn_speed.py --n 50000  # quick run
    .venv/bin/python benchmarks/churn_speed.py --source demo  # cxlib.demo.make_demo data
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from cxlib import churn


def peak_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux reports KB)."""
    scale = 1e9 if sys.platform == "darwin" else 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """Vectorised Poisson-purchase / exponential-dropout customers over three years."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01")
    span = 3 * 365
    first = rng.integers(0, span - 30, size=n)
    rate = rng.gamma(1.2, 1 / 40, size=n)  # purchases per day
    life = rng.exponential(rng.choice([250.0, 900.0], size=n, p=[0.4, 0.6]))
    active = np.minimum(span - first, life)
    counts = 1 + rng.poisson(rate * active)
    owner = np.repeat(np.arange(n), counts)
    offset = (rng.random(len(owner)) * active[owner]).astype(np.int64)
    is_first = np.r_[True, owner[1:] != owner[:-1]]
    offset[is_first] = 0
    dates = start + (first[owner] + offset).astype("timedelta64[D]")
    amount = np.round(rng.gamma(2.0, 25.0, size=len(owner)), 2)
    amount[rng.random(len(owner)) < 0.02] *= -1  # a few refunds
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 7))
    categories = np.array(["home", "toys", "fashion", "beauty", "groceries", "electronics"])
    channels = np.array(["store", "online", "app"])
    return pd.DataFrame(
        {
            "customer_id": ids[owner],
            "date": dates.astype("datetime64[ns]"),
            "amount": amount,
            "category": categories[rng.integers(0, len(categories), size=len(owner))],
            "channel": channels[rng.integers(0, len(channels), size=len(owner))],
        }
    )


def naive_features(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The same core features the way they are usually written: one groupby per feature."""
    tx = transactions[transactions["date"] <= cutoff]
    # a purchase is a day with positive net spend (refunds netted within the day)
    daily = tx.groupby(["customer_id", tx["date"].dt.normalize()])["amount"].sum()
    buys = daily[daily > 1e-6].reset_index()
    positive = tx[tx["amount"] > 0]
    g = buys.groupby("customer_id")["date"]
    out = pd.DataFrame(
        {
            "recency_days": (cutoff - g.max()).dt.days,
            "tenure_days": (cutoff - g.min()).dt.days,
            "n_purchases": g.nunique(),
        }
    )
    for name, lo, hi in (
        ("n_purchases_90", 0, 90),
        ("n_purchases_prior_90", 90, 180),
        ("n_purchases_365", 0, 365),
    ):
        age = (cutoff - buys["date"]).dt.days
        window = buys[(age >= lo) & (age < hi)]
        out[name] = window.groupby("customer_id")["date"].nunique()
    for name, lo, hi in (
        ("revenue_90", 0, 90),
        ("revenue_prior_90", 90, 180),
        ("revenue_365", 0, 365),
    ):
        age = (cutoff - tx["date"]).dt.days
        out[name] = tx[(age >= lo) & (age < hi)].groupby("customer_id")["amount"].sum()
    out["revenue_total"] = tx.groupby("customer_id")["amount"].sum()
    gross = positive.groupby("customer_id")["amount"].sum()
    out["avg_order_value"] = gross / out["n_purchases"]
    mix = positive.pivot_table(
        index="customer_id", columns="category", values="amount", aggfunc="sum", fill_value=0.0
    )
    shares = mix.div(mix.sum(axis=1), axis=0).add_prefix("category_share__")
    out = out.join(shares)
    out = out.fillna({c: 0.0 for c in out.columns if c.startswith(("n_", "revenue"))})
    return out[out["recency_days"] < 365]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of customers")
    parser.add_argument(
        "--source",
        choices=["synthetic", "demo"],
        default="synthetic",
        help="vectorised synthetic generator (default) or cxlib.demo.make_demo",
    )
    parser.add_argument("--horizon", type=int, default=90)
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.source == "demo":
        from cxlib.demo import make_demo

        demo = make_demo(n_customers=args.n, seed=42)
        transactions, customers = demo.transactions, demo.customers
        del demo
    else:
        transactions, customers = synthetic(args.n), None
    print(
        f"data: {args.n:,} customers, {len(transactions):,} transactions "
        f"({args.source}, {time.perf_counter() - t0:.1f}s); peak memory {peak_gb():.2f} GB"
    )
    cutoff = churn.default_cutoff(transactions, horizon_days=args.horizon)

    t0 = time.perf_counter()
    ours = churn.churn_features(transactions, cutoff=cutoff)
    t_ours = time.perf_counter() - t0
    print(
        f"cxlib churn_features: {t_ours:.2f}s for {len(ours):,} active customers; "
        f"peak memory {peak_gb():.2f} GB"
    )
    t0 = time.perf_counter()
    naive = naive_features(transactions, cutoff)
    t_naive = time.perf_counter() - t0
    print(f"naive pandas groupby features: {t_naive:.2f}s; peak memory {peak_gb():.2f} GB")
    common = [c for c in naive.columns if c in ours.columns]
    ours_c, naive_c = ours.loc[naive.index, common], naive[common]
    worst = float(np.nanmax(np.abs(ours_c.to_numpy(float) - naive_c.to_numpy(float))))
    print(
        f"same customers: {set(ours.index) == set(naive.index)}; "
        f"max abs difference over {len(common)} shared features: {worst:.2e}"
    )
    print(f"feature build speed-up (naive / cxlib): {t_naive / t_ours:.1f}x")

    t0 = time.perf_counter()
    result = churn.churn_model(
        transactions, cutoff=cutoff, horizon_days=args.horizon, customers=customers, seed=0
    )
    t_model = time.perf_counter() - t0
    m = result.metrics
    print(
        f"cxlib churn_model: {t_model:.1f}s on {m['n_active']:,} active customers "
        f"(train {m['n_train']:,}, test {m['n']:,}); peak memory {peak_gb():.2f} GB"
    )
    print(
        f"held-out ROC AUC {m['roc_auc']:.3f} (logistic {m['logistic_roc_auc']:.3f}, "
        f"recency rule {m['recency_roc_auc']:.3f}); out-of-time {m['out_of_time_roc_auc']:.3f}"
    )


if __name__ == "__main__":
    main()
