"""Time the whole demo report: every notebook, both HTML versions, the index.

Target (issue 7): under 3 minutes on a 2-core machine for the 20,000-customer demo. There is no
reference library for a report, so the script prints the ratio to that budget instead, plus the
time per notebook (execution and HTML export) and the peak memory of the runner and its kernels.

    .venv/bin/python benchmarks/report_speed.py            # the 20k demo (data/demo, or generated)
    .venv/bin/python benchmarks/report_speed.py --n 3000   # a quick run on a smaller demo
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from cxlib.report import build_report

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 180.0


def demo_config(n: int, scratch: Path) -> Path:
    config = ROOT / "clients" / "demo.yaml"
    if n == 20_000 and (ROOT / "data" / "demo" / ".complete").is_file():
        return config
    from cxlib.demo import make_demo

    data = scratch / "demo"
    make_demo(n_customers=n, seed=42).write(data)
    copy = scratch / "demo.yaml"
    copy.write_text(config.read_text().replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="demo customers (default 20,000)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        config = demo_config(args.n, Path(scratch))
        # A cold cache: the shared steps (tables, customer base, CLV fit) run once, in the
        # runner, and every notebook reads them.
        os.environ["CXLIB_CACHE_DIR"] = str(Path(scratch) / "cache")
        start = time.perf_counter()
        run = build_report(config, out=Path(scratch) / "reports", progress=False)
        total = time.perf_counter() - start
        manifest = json.loads((run.run_dir / "manifest.json").read_text())

    steps = manifest.get("steps", {})
    print("shared steps, computed once per run before the notebooks:")
    for name, seconds in steps.get("per_step", {}).items():
        print(f"  {name:<22}{seconds:>9.1f}s")
    if steps.get("error"):
        print(f"  shared steps FAILED: {steps['error']}")

    print(f"demo report, {args.n:,} customers, {os.cpu_count()} CPU(s): status {run.status}")
    print(f"{'notebook':<22}{'execute':>10}{'html':>8}")
    for nb in run.notebooks:
        print(f"{nb.name:<22}{nb.seconds:>9.1f}s{nb.html_seconds:>7.1f}s  {nb.status}")
    executed = sum(nb.seconds + nb.html_seconds for nb in run.notebooks)
    print(f"{'validation + index':<22}{total - executed:>9.1f}s")
    print(
        f"total {total:.1f} s; budget {BUDGET_SECONDS:.0f} s; ratio to budget "
        f"{total / BUDGET_SECONDS:.2f} ({'OK' if total < BUDGET_SECONDS else 'OVER BUDGET'})"
    )
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(
        f"CPU time (runner + kernels) {cpu:.1f} s; load average {os.getloadavg()[0]:.1f} "
        "(on a busy machine the wall time above is inflated by waiting for a core)"
    )
    runner_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kernel_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: runner {runner_mb:.0f} MB, largest kernel {kernel_mb:.0f} MB")
    for line in run.failures:
        print(f"FAILED {line}")


if __name__ == "__main__":
    main()
