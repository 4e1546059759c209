"""Peak memory and time of loading a large transactions CSV: cxlib versus plain pandas.

Writes a transactions CSV (10,000,000 rows by default; cached under ``benchmarks/_data/``, which
git ignores), then loads it in two fresh subprocesses, each reporting its own peak resident
memory (``ru_maxrss``) and wall time:

- cxlib: ``cxlib.data.load_transactions(path)`` (DuckDB read, validation, canonical frame);
- pandas: ``pd.read_csv(path)`` followed by ``pd.to_datetime(frame["date"], format="%Y-%m-%d")``
  (no validation at all).

Target (issue 2): cxlib stays under 4 GiB for 10 million rows.

Usage::

    .venv/bin/python benchmarks/load_memory.py            # 10,000,000 rows
    .venv/bin/python benchmarks/load_memory.py --n 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

DATA_DIR = Path(__file__).resolve().parent / "_data"
TARGET_GIB = 4.0

CHILD = r"""
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if how == "cxlib":
    from cxlib.data import load_transactions
    frame = load_transactions(path)
else:
    import pandas as pd
    frame = pd.read_csv(path)
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
print("RESULT", json.dumps({"rows": len(frame), "seconds": seconds, "peak_bytes": peak,
                  "frame_bytes": int(frame.memory_usage(deep=True).sum()),
                  "dtypes": {k: str(v) for k, v in frame.dtypes.items()}}))
"""


def write_csv(path: Path, n_rows: int, *, seed: int = 0, chunk: int = 1_000_000) -> None:
    """Write ``n_rows`` synthetic transactions (about n/10 customers, 3 years, 3% refunds)."""
    rng = np.random.default_rng(seed)
    n_customers = max(n_rows // 10, 1)
    categories = np.array(["books", "music", "garden", "toys", "kitchen", "sports"])
    channels = np.array(["web", "app", "store"])
    start = np.datetime64("2023-01-01")
    tmp = path.with_suffix(".tmp")
    writer = None
    try:
        for first in range(0, n_rows, chunk):
            size = min(chunk, n_rows - first)
            customers = rng.integers(1, n_customers + 1, size)
            amount = np.round(rng.gamma(2.0, 25.0, size), 2)
            amount[rng.random(size) < 0.03] *= -1
            table = pa.table(
                {
                    "customer_id": pa.array(np.char.add("C", customers.astype(str))),
                    "date": pa.array(start + rng.integers(0, 3 * 365, size).astype("m8[D]")),
                    "amount": pa.array(amount),
                    "order_id": pa.array(
                        np.char.add("O", np.arange(first, first + size).astype(str))
                    ),
                    "category": pa.array(categories[rng.integers(0, len(categories), size)]),
                    "channel": pa.array(channels[rng.integers(0, len(channels), size)]),
                }
            )
            if writer is None:
                writer = pacsv.CSVWriter(tmp, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    # pyarrow quotes strings; that is valid CSV and what many exporters write.
    tmp.rename(path)


def measure(path: Path, how: str) -> dict:
    """Load ``path`` in a fresh interpreter and return its measurements."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how], check=True, capture_output=True, text=True
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"{how} run printed no result:\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="rows (default 10,000,000)")
    args = parser.parse_args()

    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"transactions_{args.n}.csv"
    if not path.exists():
        started = time.perf_counter()
        write_csv(path, args.n)
        print(f"wrote {path} in {time.perf_counter() - started:.1f} s")
    size_gib = path.stat().st_size / 2**30
    print(f"file: {path} ({args.n:,} rows, {size_gib:.2f} GiB)")

    results = {how: measure(path, how) for how in ("cxlib", "pandas")}
    gib = 2**30
    for how, result in results.items():
        print(
            f"{how:>6}: {result['seconds']:6.1f} s, "
            f"peak RSS {result['peak_bytes'] / gib:5.2f} GiB, "
            f"frame {result['frame_bytes'] / gib:5.2f} GiB, {result['rows']:,} rows"
        )
    cx, pd_ = results["cxlib"], results["pandas"]
    print(
        f"ratio cxlib/pandas: time {cx['seconds'] / pd_['seconds']:.2f}x, "
        f"peak memory {cx['peak_bytes'] / pd_['peak_bytes']:.2f}x"
    )
    verdict = "met" if cx["peak_bytes"] / gib < TARGET_GIB else "NOT met"
    print(f"target cxlib peak < {TARGET_GIB:g} GiB: {verdict}")
    print(f"cxlib dtypes: {cx['dtypes']}")


if __name__ == "__main__":
    main()
