"""Speed of the retention scenario (each customer's own dropout lowered) on many customers.

``cxlib.clv.retention_scenario`` values every customer with and without the gain over 1, 3 and
5 years (12, 36 and 60 monthly steps each), on the distinct (frequency, T) pairs of a
day-resolution summary (purchases per day, time in fractional weeks: nearly one distinct row
per customer). The transactions are the BG/NBD process of ``clv_speed.py`` (fixed seed).

Run: ``.venv/bin/python benchmarks/retention_speed.py`` (``--n 1000000`` for a million).
"""

from __future__ import annotations

import argparse
import warnings

from clv_speed import peak_mb, simulate_transactions, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="number of customers")
    args = parser.parse_args()

    from cxlib.clv import PurchaseModel, SpendModel, customer_value, retention_scenario, rfm_summary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = rfm_summary(simulate_transactions(args.n), freq="W")
    spend = SpendModel().fit(summary)
    print(f"{len(summary):,} customers (day resolution); times are wall clock and CPU")
    for kind in ("bgnbd", "mbgnbd", "pareto_nbd"):
        model = PurchaseModel(kind).fit(summary)
        print(f"  {kind:10s} fit on {model.n_rows_:,} distinct rows")
        for label, function, options in (
            ("customer_value, 60 months", customer_value, {"horizon_months": 60}),
            ("retention_scenario, 1/3/5 years", retention_scenario, {"retention_gain": 0.05}),
        ):
            result, wall, cpu = timed(function, summary, model, spend, **options)
            print(f"  {kind:10s} {label:32s} {wall:7.2f} s wall {cpu:7.2f} s CPU")
        share = result.horizons.loc[60, "uplift_share"]
        print(f"  {kind:10s} 5-year gain of 5% less churn: {share:+.2%}")
    print(f"peak memory: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
