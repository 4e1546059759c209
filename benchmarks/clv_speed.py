"""Speed of cxlib.clv against lifetimes, measured in one run.

1. ``rfm_summary(..., resolution="period")`` versus
   ``lifetimes.utils.summary_data_from_transaction_data`` on the same transaction log (default
   1M customers, about 10M rows, weekly periods, with refunds): the same meaning, a whole week
   is one purchase.
2. Day resolution, where compressing to distinct rows cannot help: the default summary
   (purchases counted per day, time in fractional weeks) has nearly one distinct
   (frequency, recency, T) row per customer. ``PurchaseModel("bgnbd")`` versus
   ``BetaGeoFitter`` on every customer, and ``PurchaseModel("pareto_nbd")`` versus
   ``ParetoNBDFitter`` on the first ``--n-pareto`` customers (lifetimes' Pareto/NBD is slow),
   with the largest relative parameter difference.
3. Scoring: P(alive), expected purchases and 12-month CLV (``customer_value``) for every
   customer of a day-resolution summary of ``--score-n`` customers (default 1M; simulated
   separately when it differs from ``--n``).

The transactions come from a BG/NBD process simulated here (no network, fixed seed): signup
spread over three years, each purchase an order of 1 to 3 lines on the same day, 3% of lines
refunded later in the same week.

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
    lam = rng.gamma(0.8, 1 / 7.0, n_customers)  # mean 0.11 purchases per week
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
    lines = rng.integers(1, 4, len(cust))  # order lines per purchase
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


def timed(function, *args, **kwargs):
    """Run once; return (result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def sorted_by_date(tx: pd.DataFrame) -> pd.DataFrame:
    """Sort the log by date and re-create its id strings in row order, as a CSV reader would."""
    out = tx.sort_values("date", kind="stable").reset_index(drop=True)
    out["customer_id"] = pd.Series(out["customer_id"].to_numpy().astype(str)).astype(object)
    return out


def fit_both(label, cxlib_fit, lifetimes_fit, summary):
    """Time both fits on the same summary; print times and parameters; return the ratios."""
    frequency, recency, age = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    model, cx_wall, cx_cpu = timed(cxlib_fit, summary)
    fitter, lt_wall, lt_cpu = timed(lifetimes_fit, frequency, recency, age)
    print(
        f"\n{label} fit on {model.n_customers_:,} customers "
        f"({model.n_rows_:,} distinct (frequency, recency, T) rows):"
    )
    print(f"  cxlib PurchaseModel   {cx_wall:7.2f} s wall {cx_cpu:7.2f} s CPU")
    print(f"  lifetimes             {lt_wall:7.2f} s wall {lt_cpu:7.2f} s CPU")
    relative = (model.params_ / fitter.params_[model.params_.index] - 1).abs()
    print("  cxlib     " + "  ".join(f"{k}={v:.5f}" for k, v in model.params_.items()))
    print("  lifetimes " + "  ".join(f"{k}={v:.5f}" for k, v in fitter.params_.items()))
    print(f"  largest relative parameter difference: {relative.max():.2e}")
    return lt_wall / cx_wall, lt_cpu / cx_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of customers")
    parser.add_argument(
        "--n-pareto", type=int, default=20_000, help="customers for the Pareto/NBD comparison"
    )
    parser.add_argument(
        "--score-n", type=int, default=1_000_000, help="customers for the scoring timings"
    )
    args = parser.parse_args()

    from lifetimes import BetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    from cxlib.clv import PurchaseModel, SpendModel, customer_value, rfm_summary

    tx = simulate_transactions(args.n)
    print(
        f"{args.n:,} simulated customers, {len(tx):,} transaction rows "
        f"({(tx['amount'] < 0).mean():.1%} refunds); peak memory so far {peak_mb():,.0f} MB"
    )
    print("Times: wall clock and CPU time of this process (CPU time is robust to other load).")

    ratios = {}
    for label, log in (("as generated (order lines together)", tx), ("sorted by date", None)):
        if log is None:
            log = sorted_by_date(tx)
        summary, cx_wall, cx_cpu = timed(rfm_summary, log, freq="W", resolution="period")
        reference, lt_wall, lt_cpu = timed(
            summary_data_from_transaction_data,
            log,
            "customer_id",
            "date",
            monetary_value_col="amount",
            freq="W",
        )
        print(f"\nrfm_summary (resolution='period'), log {label}:")
        print(f"  cxlib rfm_summary     {cx_wall:7.2f} s wall {cx_cpu:7.2f} s CPU")
        print(f"  lifetimes summary     {lt_wall:7.2f} s wall {lt_cpu:7.2f} s CPU")
        # lifetimes counts net-negative weeks as purchases; compare customers without such weeks.
        ref = reference[reference.index.isin(summary.index)]
        agree = np.mean(
            np.all(np.isclose(summary.loc[ref.index].to_numpy(), ref.to_numpy()), axis=1)
        )
        print(
            f"  rows identical to lifetimes: {agree:.2%} (the others have a week with "
            "net-negative spend, which lifetimes counts as a purchase and cxlib does not)"
        )
        ratios[f"rfm_summary, log {label}"] = (lt_wall / cx_wall, lt_cpu / cx_cpu)
        print(f"  peak memory so far {peak_mb():,.0f} MB")
        del log, summary, reference

    daily, _, _ = timed(rfm_summary, tx, freq="W")  # purchases per day, fractional weeks
    del tx
    ratios["BG/NBD fit, day resolution"] = fit_both(
        "BG/NBD (day resolution)",
        PurchaseModel("bgnbd").fit,
        BetaGeoFitter().fit,
        daily,
    )
    subset = daily.iloc[: args.n_pareto]
    ratios["Pareto/NBD fit, day resolution"] = fit_both(
        "Pareto/NBD (day resolution)",
        PurchaseModel("pareto_nbd").fit,
        ParetoNBDFitter().fit,
        subset,
    )

    if args.score_n != args.n:
        daily = rfm_summary(simulate_transactions(args.score_n, seed=1), freq="W")
    print(f"\nScoring {len(daily):,} customers (day resolution):")
    for kind in ("bgnbd", "pareto_nbd"):
        purchases, wall, cpu = timed(PurchaseModel(kind).fit, daily)
        label = f"fit ({purchases.n_rows_:,} distinct rows)"
        print(f"  {kind:10s} {label:28s} {wall:7.2f} s wall {cpu:7.2f} s CPU")
        spend = SpendModel().fit(daily)
        for label, function, arguments in (
            ("p_alive", purchases.p_alive, (daily,)),
            ("predict_purchases(52)", purchases.predict_purchases, (daily, 52.0)),
            ("customer_value (12 months)", customer_value, (daily, purchases, spend)),
        ):
            _, wall, cpu = timed(function, *arguments)
            print(f"  {kind:10s} {label:28s} {wall:7.2f} s wall {cpu:7.2f} s CPU")

    print("\nSPEED RATIOS (lifetimes time / cxlib time; wall, CPU)")
    for label, (wall, cpu) in ratios.items():
        print(f"  {label:53s}{wall:6.1f}x {cpu:6.1f}x")
    print(f"peak memory of the whole run: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
