"""Speed of cxlib.clv against lifetimes, measured in one run.

1. ``rfm_summary`` versus ``lifetimes.utils.summary_data_from_transaction_data`` on the same
   transaction log (default 1M customers, about 10M rows, weekly periods, with refunds).
2. ``PurchaseModel("bgnbd").fit`` (distinct rows, weighted) versus ``BetaGeoFitter().fit`` on
   every customer of the resulting summary (default 1M customers), with the largest relative
   parameter difference.

The transactions come from a BG/NBD process simulated here (no network, fixed seed): signup
spread over three years, each purchase an order of 1 to 4 lines on the same day, 3% of lines
refunded later in the same week. Weekly periods make T an integer number of weeks since the
customer's first week, so the summary has a few tens of thousands of distinct
(frequency, recency, T) rows whatever the number of customers.

Run: ``.venv/bin/python benchmarks/clv_speed.py`` (``--n 100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np
import pandas as pd


def simulate_transactions(n_customers: int, seed: int = 0) -> pd.DataFrame:
    """BG/NBD purchases over 156 weeks, as a canonical transaction log."""
    rng = np.random.default_rng(seed)
    horizon = 156.0  # weeks
    start = rng.uniform(0, horizon - 1, n_customers)
    lam = rng.gamma(0.8, 1 / 6.0, n_customers)  # mean 0.13 purchases per week
    p = rng.beta(0.7, 7.0, n_customers)  # mean dropout 9% after each purchase
    cust_parts = [np.arange(n_customers)]
    time_parts = [start]
    active = np.arange(n_customers)
    t = start.copy()
    alive = rng.random(n_customers) >= p  # dropout after the first purchase
    active = active[alive]
    while len(active):
        t[active] += rng.exponential(1 / lam[active])
        inside = t[active] < horizon
        active = active[inside]
        cust_parts.append(active)
        time_parts.append(t[active])
        stay = rng.random(len(active)) >= p[active]
        active = active[stay]
    cust = np.concatenate(cust_parts)
    when = np.concatenate(time_parts)
    lines = rng.integers(1, 5, len(cust))  # order lines per purchase
    cust = np.repeat(cust, lines)
    when = np.repeat(when, lines)
    amount = rng.gamma(4.0, 8.0, len(cust)).round(2)
    refund = rng.random(len(cust)) < 0.03
    amount[refund] = -amount[refund]
    day = np.floor(when * 7).astype(np.int64)
    day[refund] += rng.integers(0, 3, refund.sum())  # refunds come a few days later
    day = np.minimum(day, int(horizon * 7) - 1)
    ids = np.char.add("C", cust.astype(str)).astype(object)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "date": (np.datetime64("2023-01-02") + day.astype("timedelta64[D]")).astype(
                "datetime64[ns]"
            ),
            "amount": amount,
        }
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of customers")
    args = parser.parse_args()

    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    from cxlib.clv import PurchaseModel, rfm_summary

    tx = simulate_transactions(args.n)
    print(
        f"{args.n:,} simulated customers, {len(tx):,} transaction rows "
        f"({(tx['amount'] < 0).mean():.1%} refunds); peak memory so far {peak_mb():,.0f} MB"
    )

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = rfm_summary(tx, freq="W")
    cx_rfm = time.perf_counter() - start
    print(f"cxlib rfm_summary:        {cx_rfm:8.2f} s   (peak memory {peak_mb():,.0f} MB)")

    start = time.perf_counter()
    reference = summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", freq="W"
    )
    lt_rfm = time.perf_counter() - start
    print(f"lifetimes summary:        {lt_rfm:8.2f} s   (peak memory {peak_mb():,.0f} MB)")
    # lifetimes counts net-negative weeks as purchases; compare customers without such weeks.
    same = reference.index.isin(summary.index)
    ref = reference[same]
    agree = np.mean(np.all(np.isclose(summary.loc[ref.index].to_numpy(), ref.to_numpy()), axis=1))
    print(
        f"  rows identical to lifetimes: {agree:.2%} (the rest have a net-negative week, "
        "which lifetimes counts as a purchase)"
    )

    frequency = summary["frequency"].to_numpy()
    recency = summary["recency"].to_numpy()
    age = summary["T"].to_numpy()
    start = time.perf_counter()
    model = PurchaseModel("bgnbd").fit(summary)
    cx_fit = time.perf_counter() - start
    print(
        f"cxlib PurchaseModel.fit:  {cx_fit:8.2f} s   on {model.n_rows_:,} distinct rows "
        f"for {model.n_customers_:,} customers"
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = BetaGeoFitter().fit(frequency, recency, age)
    lt_fit = time.perf_counter() - start
    print(f"lifetimes BetaGeoFitter:  {lt_fit:8.2f} s")
    relative = (model.params_ / fitter.params_[model.params_.index] - 1).abs()
    print("  cxlib     " + "  ".join(f"{k}={v:.5f}" for k, v in model.params_.items()))
    print("  lifetimes " + "  ".join(f"{k}={v:.5f}" for k, v in fitter.params_.items()))
    print(f"  largest relative parameter difference: {relative.max():.2e}")

    print(f"\nSPEED RATIO rfm_summary (lifetimes / cxlib):     {lt_rfm / cx_rfm:6.1f}x")
    print(f"SPEED RATIO BG/NBD fit   (lifetimes / cxlib):     {lt_fit / cx_fit:6.1f}x")
    print(f"peak memory of the whole run: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
