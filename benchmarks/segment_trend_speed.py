"""CPU time of the segment cards' trend (cxlib.report.cards.segment_trend) and the old measure.

On ``make_demo(n_customers=--n)`` (default 1,000,000, about 10 million transactions), with the run's
customer base and segments built once as ``Client.base`` does (not timed):

1. **replaced**: the earlier trend, each customer's revenue of the last 12 months against the 12
   before under today's segment (a map of every transaction's customer to its segment);
2. **cxlib**: :func:`cxlib.report.cards.segment_trend` with the run's base and threshold: the
customer base
   again as of a year before (``customer_base`` without order counts) and its RFM segments.

Target: the trend adds at most a few seconds of CPU over the measure it replaced at 1,000,000
customers. Run: ``.venv/bin/python benchmarks/segment_trend_speed.py`` (``--n 200000`` for a quick
run).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd


def replaced_trend(transactions: pd.DataFrame, segments: pd.Series) -> pd.Series:
    """The trend the cards showed before: today's segment kept for both years."""
    end, year = transactions["date"].max(), pd.Timedelta(days=365)
    dates = transactions["date"]
    lookup = segments.set_axis(segments.index.astype(str))
    group = transactions["customer_id"].astype(str).map(lookup)
    last = transactions["amount"].where(dates > end - year, 0.0)
    before = transactions["amount"].where((dates > end - 2 * year) & (dates <= end - year), 0.0)
    frame = pd.DataFrame({"last": last, "before": before, "segment": group})
    totals = frame.groupby("segment").sum()
    return totals["last"] / totals["before"].where(totals["before"] > 0) - 1


def main() -> None:
    from cxlib import churn, customers, segmentation
    from cxlib.demo import make_demo
    from cxlib.report import cards

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tx = make_demo(n_customers=args.n, seed=0).transactions
    base = customers.customer_base(tx)
    threshold = churn.inactivity_threshold(tx).days
    base["segment"] = segmentation.rfm_segments(base, threshold_days=threshold)["segment"]
    print(f"{args.n:,} customers, {len(tx):,} transactions")
    best = {}
    for _ in range(args.repeat):
        for name, run in (
            ("replaced", lambda: replaced_trend(tx, base["segment"])),
            ("cxlib", lambda: cards.segment_trend(tx, base=base, threshold_days=threshold)),
        ):
            start = time.process_time()
            run()
            best[name] = min(best.get(name, float("inf")), time.process_time() - start)
    for name, seconds in best.items():
        print(f"{name:>9}: {seconds:6.2f} s CPU (best of {args.repeat})")
    print(f"    added: {best['cxlib'] - best['replaced']:+6.2f} s CPU")


if __name__ == "__main__":
    main()
