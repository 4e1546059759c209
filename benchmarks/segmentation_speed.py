"""Speed and memory of cxlib.segmentation.cluster_customers, against a naive baseline, in one run.

The features come from the seeded demo client (20,000 customers): ``customer_features`` of its
transactions, resampled with replacement to ``--n`` customers (default 1,000,000) with 5%
multiplicative noise on the volume features, so the clusters have the demo's shape at any size.

1. **cxlib** on ``--n`` customers: ``cluster_customers(features, k_range=range(3, 9))`` — k chosen
   by silhouette on a 4,000-customer subsample of a 50,000-customer fitting sample, then one
   k-means (mini-batch above 200,000 customers) over everyone. Wall time and peak traced memory.
2. **Naive baseline** — what one writes without thinking about size: for every k, ``KMeans``
   (n_init=4) on all customers and ``silhouette_score`` on all customers. The full silhouette
   is quadratic in the number of customers (10^12 distances at a million), so the baseline runs
   on ``--n-baseline`` customers (default 20,000); cxlib runs on the same customers for the
   ratio, and the agreement of the two labellings (adjusted Rand index) is printed.

Run: ``.venv/bin/python benchmarks/segmentation_speed.py`` (``--n 100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def make_features(n: int, seed: int = 0) -> pd.DataFrame:
    """Demo-shaped behavioural features for ``n`` customers."""
    from cxlib.clv import rfm_summary
    from cxlib.demo import make_demo
    from cxlib.segmentation import customer_features

    demo = make_demo(n_customers=20_000, seed=42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = rfm_summary(demo.transactions)
    base = customer_features(demo.transactions, summary)
    rng = np.random.default_rng(seed)
    rows = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    for column in ("total_spend", "avg_order_value", "annual_spend", "tenure_days"):
        rows[column] = rows[column] * rng.lognormal(0.0, 0.05, n)
    rows.index = pd.Index([f"C{i:08d}" for i in range(n)], name="customer_id")
    return rows


def measure(function, *args, **kwargs):
    """Run ``function`` and return (result, seconds, peak traced MiB)."""
    tracemalloc.start()
    start = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def naive_clustering(features: pd.DataFrame, k_range, seed: int = 0) -> np.ndarray:
    """Full-data KMeans and full silhouette for every k, same preprocessing as cxlib."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from cxlib.segmentation.clusters import _build_preprocessor, _default_log_features
    from cxlib.segmentation.features import is_share as _is_share

    columns = [c for c in features.columns if c not in ("orders", "annual_spend")]
    data = features[columns].astype(float)
    pre = _build_preprocessor(columns, _default_log_features(data, columns), 2.0)
    matrix = pre.fit_transform(data)
    weights = np.array([2.0 if _is_share(c) else 1.0 for c in pre.get_feature_names_out()])
    matrix = matrix * weights
    best, best_score = None, -np.inf
    for k in k_range:
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(matrix)
        score = silhouette_score(matrix, labels)
        if score > best_score:
            best, best_score = labels, score
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="customers for cxlib")
    parser.add_argument(
        "--n-baseline",
        type=int,
        default=20_000,
        help="customers for the naive baseline (quadratic silhouette)",
    )
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (0 = default)")
    args = parser.parse_args()

    import sklearn.cluster  # noqa: F401  (load OpenMP before limiting its threads)
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from cxlib.segmentation import cluster_customers

    threads = None if args.threads == 0 else args.threads
    k_range = range(3, 9)
    print(f"building demo-shaped features for {args.n:,} customers ...", flush=True)
    features = make_features(max(args.n, args.n_baseline))
    big = features.iloc[: args.n]
    small = features.iloc[: args.n_baseline]

    print(f"\n1. cxlib.cluster_customers on {len(big):,} customers, k in {list(k_range)}")
    result, seconds, peak = measure(
        cluster_customers, big, k_range=k_range, seed=0, n_threads=threads
    )
    print(
        f"   {seconds:8.1f} s, peak traced memory {peak:8.0f} MiB, "
        f"k = {result.n_clusters} ({type(result.model).__name__})"
    )
    print(f"   features: {big.shape[1]} columns, {big.memory_usage().sum() / 2**20:.0f} MiB")
    print("   clusters:", "; ".join(result.names))

    print(f"\n2. on {len(small):,} customers: naive full KMeans + full silhouette vs cxlib")
    with threadpool_limits(limits=threads):
        naive, naive_s, naive_peak = measure(naive_clustering, small, k_range)
    ours, ours_s, ours_peak = measure(
        cluster_customers, small, k_range=k_range, seed=0, n_threads=threads
    )
    ari = adjusted_rand_score(naive, ours.assignments["cluster"])
    print(f"   naive: {naive_s:8.1f} s, peak {naive_peak:6.0f} MiB, k = {len(np.unique(naive))}")
    print(f"   cxlib: {ours_s:8.1f} s, peak {ours_peak:6.0f} MiB, k = {ours.n_clusters}")
    print(
        f"   speed-up naive / cxlib: {naive_s / ours_s:.1f}x; "
        f"agreement of the labellings (ARI): {ari:.2f}"
    )
    scale = (args.n / args.n_baseline) ** 2
    print(
        f"   the naive silhouette alone grows ~n^2: x{scale:,.0f} from {len(small):,} to "
        f"{args.n:,} customers"
    )
    print(
        f"\nprocess peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
