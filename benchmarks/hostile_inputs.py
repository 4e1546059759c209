"""Time and peak memory of the hostile inputs of issue 27, each loaded in a fresh subprocess.

- a CSV of 10,000 extra columns, refused at the default ``limits.max_columns``;
- the same CSV read with the limit raised (every extra column typed in one pass);
- a 1.6 MB workbook that expands to 414 MB of XML (3M rows), refused before it is parsed;
- a workbook of 3M empty rows (20 MB of XML), refused after counting its rows in a stream;
- a CSV with a 100 MB line, refused naming the line.

Targets (issue 27): every refusal under 10 seconds, the workbooks under 500 MB of peak memory.
Reading the 10,000 columns with the limit raised is measured, not targeted: it binds 10,000
columns in DuckDB several times (5 s idle, 12 s on a loaded two-core machine). Each case prints
its outcome (the error's first words), its wall time and its peak resident memory
(``ru_maxrss``); the script exits with 1 if a case misses a target.

Usage::

    .venv/bin/python benchmarks/hostile_inputs.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile_files import wide_csv, zip_bomb_xlsx  # noqa: E402

SECONDS, MEGABYTES = 10.0, 500.0

CHILD = r"""
import json, resource, sys, time
path, limits = sys.argv[1], json.loads(sys.argv[2])
from cxlib import DataError
from cxlib.data import load_transactions
start = time.perf_counter()
try:
    outcome = "loaded {} x {}".format(*load_transactions(path, limits=limits).shape)
except DataError as exc:
    outcome = "refused: " + str(exc).split("): ", 1)[1][:90]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": peak}))
"""


def measure(path: Path, limits: dict | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(limits or {})],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    missed = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        wide = wide_csv(folder / "wide.csv", columns=10_000)
        long = folder / "long.csv"
        with open(long, "w", encoding="utf-8") as handle:
            handle.write("customer_id,date,amount,note\nA,2024-01-05,1,ok\nB,2024-01-05,1,")
            handle.write("x" * 100_000_000 + "\n")
        cases = [
            ("10,000 columns, default limit", wide, None, "time"),
            ("10,000 columns, limit raised", wide, {"max_columns": 20_000}, None),
            ("zip bomb: 414 MB of XML", zip_bomb_xlsx(folder / "bomb.xlsx"), None, "memory"),
            (
                "3M empty rows in a workbook",
                zip_bomb_xlsx(folder / "rows.xlsx", row_xml="<row/>"),
                None,
                "memory",
            ),
            ("a 100 MB line", long, None, "time"),
        ]
        print(f"{'case':32} {'seconds':>8} {'peak MB':>8}  outcome")
        for name, path, limits, target in cases:
            result = measure(path, limits)
            print(
                f"{name:32} {result['seconds']:8.2f} {result['peak_mb']:8.0f}  {result['outcome']}"
            )
            too_slow = target is not None and result["seconds"] > SECONDS
            if too_slow or target == "memory" and result["peak_mb"] > MEGABYTES:
                missed.append(name)
    if missed:
        print(f"missed the targets ({SECONDS:.0f} s; {MEGABYTES:.0f} MB for workbooks): {missed}")
        return 1
    print(f"every refusal under {SECONDS:.0f} s (workbooks under {MEGABYTES:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
