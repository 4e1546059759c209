"""Time the whole demo report at one or more sizes: every notebook, every shared step, memory.

Targets: the 20,000-customer demo under 3 minutes (issue 7); 1,000,000 customers (about 10M
transactions) under 20 minutes wall and under 8 GiB peak memory in any process (issue 16), on a
2-core machine, every page OK. There is no reference library for a report, so the script prints
the figures per size side by side, with the ratio to those budgets.

Each size runs in its own process (so CPU and peak memory are that size's): the shared steps
(computed once per run before the notebooks, recorded in the manifest's ``steps``), then per
notebook the wall time (execution + HTML export), the CPU time of the runner and its kernel,
and the peak resident memory (RSS) of the kernel and of the runner, sampled every 0.2 s, plus
the slowest cells of each notebook at the largest size (nbclient's cell timings).

    .venv/bin/python benchmarks/report_speed.py                        # the 20k demo
    .venv/bin/python benchmarks/report_speed.py --n 3000               # a quick run
    .venv/bin/python benchmarks/report_speed.py --n 20000 200000 1000000 --data-root /tmp/bench
    .venv/bin/python benchmarks/report_speed.py --n 20000 200000 1000000 --reuse  # print saved

``--data-root`` keeps the generated demo data between runs; every size's figures are saved as
JSON under ``--results`` and ``--reuse`` prints the saved figures of sizes it does not rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = {20_000: 180.0, 1_000_000: 1200.0}  # seconds of wall time (issues 7 and 16)
MEMORY_BUDGET_MB = 8 * 1024  # any one process, issue 16
DEFAULT_RESULTS = Path(tempfile.gettempdir()) / "cxlib-report-speed"


def demo_config(n: int, data_root: Path, scratch: Path) -> Path:
    """Return a client YAML for the n-customer demo, writing its data when missing."""
    config = ROOT / "clients" / "demo.yaml"
    if n == 20_000 and (ROOT / "data" / "demo" / ".complete").is_file():
        return config
    data = data_root / f"demo-{n}"
    if not (data / ".complete").is_file():
        from cxlib.demo import make_demo

        make_demo(n_customers=n, seed=42).write(data)
    copy = scratch / "demo.yaml"
    copy.write_text(config.read_text().replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return copy


class _Sampler(threading.Thread):
    """Sample the RSS of this process and its descendants (the kernels) every ``interval``."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.current = "shared steps"
        self.peaks: dict[str, dict[str, float]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.wait(self.interval):
            peak = self.peaks.setdefault(self.current, {"runner_mb": 0.0, "kernel_mb": 0.0})
            try:
                peak["runner_mb"] = max(peak["runner_mb"], self.process.memory_info().rss / 2**20)
                for child in self.process.children(recursive=True):
                    try:
                        rss = child.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peak["kernel_mb"] = max(peak["kernel_mb"], rss)
            except psutil.Error:
                continue


def _cpu_seconds() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _slowest_cells(path: Path, top: int = 3) -> list[dict]:
    """The ``top`` slowest cells of an executed notebook (nbclient's timings), with their line."""
    import datetime as dt

    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.status.busy"), timing.get("iopub.status.idle")
        if cell.cell_type != "code" or not start or not end:
            continue
        seconds = (
            dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)
        ).total_seconds()
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        cells.append({"seconds": round(seconds, 1), "cell": first[:60]})
    return sorted(cells, key=lambda c: -c["seconds"])[:top]


def measure(n: int, data_root: Path | None) -> dict:
    """Build the n-customer demo report once; return its figures."""
    import cxlib.report.runner as report

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        t0 = time.perf_counter()
        config = demo_config(n, data_root or scratch, scratch)
        generate = time.perf_counter() - t0
        # A cold cache: the shared steps run once, in the runner, and every notebook reads them.
        os.environ["CXLIB_CACHE_DIR"] = str(scratch / "cache")
        sampler = _Sampler()
        per_notebook: dict[str, dict] = {}
        run_one = report._run_one

        def timed_run_one(source, run, *args, **kwargs):
            sampler.current, cpu = source.stem, _cpu_seconds()
            try:
                return run_one(source, run, *args, **kwargs)
            finally:
                per_notebook[source.stem] = {"cpu": round(_cpu_seconds() - cpu, 1)}
                sampler.current = "index"

        report._run_one = timed_run_one
        sampler.start()
        cpu0, start = _cpu_seconds(), time.perf_counter()
        try:
            run = report.build_report(config, out=scratch / "reports", progress=False)
        finally:
            report._run_one = run_one
            sampler.stop.set()
            sampler.join()
        total, cpu = time.perf_counter() - start, _cpu_seconds() - cpu0
        manifest = json.loads((run.run_dir / "manifest.json").read_text())
        notebooks = {}
        for nb in run.notebooks:
            executed = run.run_dir / "notebooks" / f"{nb.name}.ipynb"
            notebooks[nb.name] = {
                "status": nb.status,
                "error": nb.error,
                "execute": nb.seconds,
                "html": nb.html_seconds,
                "cpu": per_notebook.get(nb.name, {}).get("cpu"),
                **sampler.peaks.get(nb.name, {}),
                "slowest_cells": _slowest_cells(executed) if executed.is_file() else [],
            }
    steps = manifest.get("steps", {})
    runner_peak = max((p["runner_mb"] for p in sampler.peaks.values()), default=0.0)
    own_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "n": n,
        "status": run.status,
        "failures": run.failures,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 1),
        "generate_seconds": round(generate, 1),
        "total_seconds": round(total, 1),
        "cpu_seconds": round(cpu, 1),
        "steps": steps.get("per_step", {}),
        "steps_cpu": steps.get("cpu_per_step", {}),
        "steps_seconds": steps.get("seconds"),
        "steps_error": steps.get("error"),
        "steps_peak_mb": sampler.peaks.get("shared steps", {}).get("runner_mb"),
        "notebooks": notebooks,
        "runner_peak_mb": round(max(runner_peak, own_max), 0),
        "kernel_peak_mb": round(kids_max, 0),  # largest kernel (ru_maxrss of the children)
    }


def _fmt(value, unit: str = "s") -> str:
    if value is None:
        return "-"
    return f"{value:,.0f} MB" if unit == "MB" else f"{value:,.1f} s"


def print_table(results: list[dict]) -> None:
    """Print the sizes side by side: shared steps, notebooks, totals, memory."""
    sizes = [r["n"] for r in results]
    width = 24
    head = "".join(f"{f'{n:,} customers':>{width}}" for n in sizes)

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<26}" + "".join(f"{c:>{width}}" for c in cells))

    print(f"{'':<26}{head}")
    print("shared steps, once per run (wall / CPU):")
    names = dict.fromkeys(name for r in results for name in r["steps"])
    for name in names:
        row(
            f"  {name}",
            [f"{_fmt(r['steps'].get(name))} / {_fmt(r['steps_cpu'].get(name))}" for r in results],
        )
    row("  peak RSS (runner)", [_fmt(r.get("steps_peak_mb"), "MB") for r in results])
    print("notebooks (wall incl. HTML / CPU / kernel peak RSS):")
    names = dict.fromkeys(name for r in results for name in r["notebooks"])
    for name in names:
        cells = []
        for r in results:
            nb = r["notebooks"].get(name)
            if nb is None:
                cells.append("-")
                continue
            wall = nb["execute"] + nb["html"]
            mark = "" if nb["status"] == "ok" else f" {nb['status'].upper()}"
            cells.append(f"{wall:.0f}s/{nb['cpu'] or 0:.0f}s/{nb.get('kernel_mb', 0):,.0f}MB{mark}")
        row(f"  {name}", cells)
    row("total wall", [_fmt(r["total_seconds"]) for r in results])
    row("total CPU (runner+kernels)", [_fmt(r["cpu_seconds"]) for r in results])
    row("peak RSS runner", [_fmt(r["runner_peak_mb"], "MB") for r in results])
    row("peak RSS largest kernel", [_fmt(r["kernel_peak_mb"], "MB") for r in results])
    row("load average at end", [f"{r['load_average']:.1f}" for r in results])
    row("status", [r["status"] for r in results])
    for r in results:
        budget = BUDGETS.get(r["n"])
        peak = max(r["runner_peak_mb"], r["kernel_peak_mb"])
        verdict = f"{r['n']:,}: {r['total_seconds']:.0f} s wall"
        if budget:
            verdict += (
                f" (budget {budget:.0f} s: {'OK' if r['total_seconds'] < budget else 'OVER'})"
            )
        memory_ok = "OK" if peak < MEMORY_BUDGET_MB else "OVER"
        verdict += f"; peak {peak:,.0f} MB in one process ({memory_ok} against 8 GiB)"
        print(verdict)
        for line in r["failures"]:
            print(f"  FAILED {line}")
    largest = results[-1]
    print(f"slowest cells at {largest['n']:,} customers:")
    for name, nb in largest["notebooks"].items():
        cells = "; ".join(f"{c['seconds']:.0f} s {c['cell']!r}" for c in nb["slowest_cells"])
        print(f"  {name}: {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        type=int,
        nargs="+",
        default=[20_000],
        help="demo sizes in customers (default 20,000)",
    )
    parser.add_argument("--data-root", type=Path, help="keep generated demo data here")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="saved figures")
    parser.add_argument("--reuse", action="store_true", help="print saved figures, rerun none")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)

    if args.one:  # measure one size in this process and save it
        (n,) = args.n
        result = measure(n, args.data_root)
        (args.results / f"report_speed-{n}.json").write_text(json.dumps(result, indent=1))
        return

    results = []
    for n in sorted(args.n):
        saved = args.results / f"report_speed-{n}.json"
        if not args.reuse:
            command = [
                sys.executable,
                __file__,
                "--one",
                "--n",
                str(n),
                "--results",
                str(args.results),
            ]
            if args.data_root:
                command += ["--data-root", str(args.data_root)]
            print(f"measuring {n:,} customers ...", flush=True)
            subprocess.run(command, check=True)
        if saved.is_file():
            results.append(json.loads(saved.read_text()))
        else:
            print(f"no figures for {n:,} customers (run without --reuse)")
    if results:
        print_table(results)


if __name__ == "__main__":
    main()
