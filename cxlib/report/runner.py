"""The report runner: one client config in, one folder of HTML pages for reviewers out.

``build_report`` is what ``cxlib report clients/<name>.yaml`` calls. It

1. validates the client's config and loads every data file (:func:`cxlib.run.loading.load_client`)
   *before* any notebook runs, so a bad file fails in seconds with a :class:`cxlib.DataError`;
2. runs each ``notebooks/NN_<topic>.ipynb`` with papermill (topic notebooks in order, the
   ``00_summary`` notebook last), injecting the parameters the notebook declares: the client's
   analysis settings (:meth:`cxlib.settings.config.ClientConfig.notebook_parameters`),
   ``config_path``,
   ``headlines_path`` (where the notebook records its headline numbers) and ``headlines_dir``
   (where the summary notebook reads them all);
3. writes per notebook the executed ``.ipynb``, a reviewer HTML without code, warnings or prompts,
   and a full HTML with code, then ``index.html`` (links, headline numbers, data quality,
   failures) and ``manifest.json`` (cxlib version, config and data-file hashes, parameters,
   timings, status per notebook).

Output layout::

    reports/<client>/<run-id>/          run-id = UTC timestamp + short config hash
        index.html
        manifest.json
        actions.json                    the pages' ranked actions, on one money basis
        report.pdf                      summary, then the topic pages (headless Chromium)
        headlines/<notebook>.json       (and headlines/actions/<notebook>.json)
        notebooks/<notebook>.ipynb      executed
        html/<notebook>.html            reviewer version (no code)
        html/<notebook>.full.html       with code, warnings and tracebacks
        logs/<notebook>.log             the kernel process's own log (not cell output)

A run is written into ``<run-id>.partial/`` and renamed when it is complete, so an interrupted
run (Ctrl-C) never looks finished: it is renamed ``<run-id>.interrupted/`` instead. A run whose
notebooks failed is complete (its index marks the failures) but its status is ``"failed"``.
A ``.partial`` folder holds ``RUNNING.json`` (the runner's pid, host and start, touched while it
works); the next run of the client renames one whose runner is gone (killed without warning)
``<run-id>.abandoned/``, and ``reports/<client>/runs.json`` and ``runs.html`` list every run
with how it ended (:mod:`cxlib.report.runs`).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import platform
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cxlib.report import runs as _runs
from cxlib.report.html import (  # noqa: F401 - SUMMARY_NOTEBOOK and _CSS are re-exported
    _CSS,
    SUMMARY_NOTEBOOK,
    _count_warnings,
    _index_html,
    _notebook_title,
    export_html,
)
from cxlib.report.progress import _Progress, _progress_engine
from cxlib.report.results import NotebookRun, ReportRun

__all__ = [
    "KERNEL_ENV",
    "NotebookRun",
    "OutputError",
    "ReportRun",
    "build_report",
    "default_notebooks_dir",
    "describe_failure",
    "discover_notebooks",
    "export_html",
    "make_run_id",
    "notebook_parameters",
    "print_report_pdf",
    "Terminated",
]

NOTEBOOK_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
RUNNER_PARAMETERS = ("config_path", "headlines_path", "headlines_dir")

#: Environment added to each kernel's: library deprecation chatter is not for reviewers (its root
#: cause is in third-party code we cannot change), no tqdm bars in cell outputs. Other warnings
#: stay visible in the full HTML and are counted in the index; the reviewer HTML drops stderr.
KERNEL_ENV = {
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    "TQDM_DISABLE": "1",
}

_REPORT_PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "scikit-learn",
    "lifetimes",
    "lifelines",
    "papermill",
    "nbconvert",
)


# --- finding notebooks and their parameters ----------------------------------------------------


def default_notebooks_dir() -> Path:
    """Return the report's notebooks shipped with cxlib, whatever the current directory.

    An installed wheel carries them as ``cxlib/notebooks/*.ipynb`` (the build maps the
    repository's top-level ``notebooks/`` folder into the package); an editable install or a
    source checkout uses that top-level folder itself.

    Examples
    --------
    >>> (default_notebooks_dir() / "00_summary.ipynb").is_file()
    True
    """
    from importlib.resources import files

    shipped = files("cxlib") / "notebooks"
    if isinstance(shipped, Path) and any(shipped.glob("*.ipynb")):
        return shipped
    return Path(__file__).resolve().parents[2] / "notebooks"


def discover_notebooks(
    directory: str | Path | None = None, *, only: Iterable[str] | None = None
) -> list[Path]:
    """List the report's notebooks: ``NN_<topic>.ipynb`` in order, ``00_summary`` last.

    Parameters
    ----------
    directory : str or Path, optional
        Where the notebooks are; defaults to :func:`default_notebooks_dir`.
    only : iterable of str, optional
        Keep only these notebooks, given by name (``"02_churn"``) or number prefix (``"02"``).

    Raises
    ------
    ValueError
        When ``directory`` has no notebooks, or a name in ``only`` matches none.

    Examples
    --------
    >>> [p.name for p in discover_notebooks(only=["00"])]
    ['00_summary.ipynb']
    """
    directory = Path(directory) if directory is not None else default_notebooks_dir()
    found = sorted(p for p in directory.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))
    found.sort(key=lambda p: (p.stem.startswith(SUMMARY_NOTEBOOK), p.name))
    if not found:
        raise ValueError(
            f"No notebooks named NN_<topic>.ipynb in {directory}; pass the notebook folder "
            "(cxlib report --notebooks DIR)."
        )
    if only is None:
        return found
    wanted = [name.strip().removesuffix(".ipynb") for name in only if name.strip()]
    unknown = [w for w in wanted if not any(_matches(p.stem, w) for p in found)]
    if unknown:
        raise ValueError(
            f"The 'only' parameter of discover_notebooks must name notebooks in {directory} "
            f"({', '.join(p.stem for p in found)}). Got {unknown} instead."
        )
    return [p for p in found if any(_matches(p.stem, w) for w in wanted)]


def _matches(stem: str, wanted: str) -> bool:
    return stem == wanted or stem.split("_", 1)[0] == wanted


def notebook_parameters(
    notebook: str | Path,
    available: dict[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """Restrict ``available`` to the parameters ``notebook`` declares in its ``parameters`` cell.

    Returns
    -------
    parameters : dict
        The values to inject.
    unknown : list of str
        Declared names that are neither analysis settings nor runner parameters (a typo in a
        notebook would otherwise silently keep its default).
    """
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    parameters = {name: available[name] for name in declared if name in available}
    unknown = sorted(name for name in declared if name not in available)
    return parameters, unknown


# --- run-folder problems ------------------------------------------------------------------------


class OutputError(Exception):
    """The report folder could not be written: disk full, read-only, ``--out`` not a folder.

    Raised by :func:`build_report` with a one-line message; whatever was written is renamed
    ``<run-id>.failed`` so it never looks like a finished run.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM during a report run: handled like Ctrl-C (the run is marked interrupted)."""


def _output_error(out: Path, exc: OSError) -> OutputError:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "a path component is a file, not a folder",
        errno.EEXIST: "a file of that name is in the way",
    }
    reason = reasons.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename else ""
    return OutputError(f"could not write the report under {out}: {reason}{where}")


def _client_dir(out: Path, client: str) -> Path:
    """``out/<client>``, refusing any client name that would lead elsewhere."""
    root = out.resolve()
    target = (root / client).resolve()
    if target.parent != root or not client or client.startswith("."):
        from cxlib import DataError

        raise DataError(f"client name {client!r} does not name a folder inside {root}")
    return target


class _SigtermAsInterrupt:
    """While active (main thread only), SIGTERM raises :class:`Terminated` like Ctrl-C."""

    def __enter__(self) -> _SigtermAsInterrupt:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated by signal {signum}")

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


# --- results ----------------------------------------------------------------------------------


def describe_failure(
    exc: BaseException, *, injected_index: int | None = None
) -> tuple[str, int | None]:
    """Describe a notebook failure in one line: cell, error type and message.

    For papermill's ``PapermillExecutionError`` the cell is numbered as in the source notebook
    (1-based, markdown cells included; the cell papermill injects is not counted) and the
    execution count is given as ``In [n]``.

    Returns
    -------
    line : str
        E.g. ``"cell 5 (In [3]): KeyError: 'segment'"``.
    cell : int or None
        The 1-based cell number, when known.
    """
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        index = exc.cell_index
        if injected_index is not None and index > injected_index:
            index -= 1
        cell = index + 1
        message = _one_line(exc.evalue)
        where = f"cell {cell} (In [{exc.exec_count}])"
        return f"{where}: {exc.ename}: {message}" if message else f"{where}: {exc.ename}", cell
    message = _one_line(str(exc))
    name = type(exc).__name__
    return (f"{name}: {message}" if message else name), None


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- executing one notebook -------------------------------------------------------------------


def _execute(
    source: Path,
    target: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    on_cell: Callable[[int, int], None] | None,
    execution_timeout: int,
    kernel_log: Path | None = None,
) -> None:
    import papermill
    from papermill.engines import papermill_engines

    papermill_engines.register("cxlib", _progress_engine())
    log = open(kernel_log, "w", encoding="utf-8") if kernel_log else None  # noqa: SIM115
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            engine_name="cxlib",
            kernel_name="python3",
            progress_bar=False,
            cwd=str(cwd),
            start_timeout=120,
            execution_timeout=execution_timeout,
            on_cell=on_cell,
            kernel_env={**os.environ, **KERNEL_ENV},
            kernel_log=log,
        )
    finally:
        if log is not None:
            log.close()


def _source_state(directory: Path) -> dict[str, Any]:
    """Return the git commit of the cxlib checkout and whether cxlib or notebooks changed."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "uncommitted_changes": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", "cxlib", "notebooks")
    return {"git_commit": commit, "uncommitted_changes": bool(status)}


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in _REPORT_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def make_run_id(config_sha256: str, *, now: dt.datetime | None = None) -> str:
    """Make a run id: the UTC timestamp plus the first 8 hex digits of the config's hash.

    Examples
    --------
    >>> make_run_id("ab12cd34ef", now=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    '20260102T030405Z-ab12cd34'
    """
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{config_sha256[:8]}"


def _reserve_run_dir(client_dir: Path, run_id: str) -> tuple[str, Path]:
    """Create ``<run-id>.partial`` whose final name is free; never reuse an earlier run's name."""
    client_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = run_id, 1
    while True:
        suffixes = ("", ".partial", ".interrupted", ".failed", ".abandoned")
        names = [candidate + suffix for suffix in suffixes]
        if not any((client_dir / name).exists() for name in names):
            partial = client_dir / f"{candidate}.partial"
            try:
                partial.mkdir()
            except FileExistsError:
                pass
            else:
                return candidate, partial
        n += 1
        candidate = f"{run_id}-{n}"


# --- the runner -------------------------------------------------------------------------------


def build_report(
    config_path: str | Path,
    *,
    out: str | Path = "reports",
    notebooks_dir: str | Path | None = None,
    only: Iterable[str] | None = None,
    console: Any = None,
    progress: bool = True,
    execution_timeout: int = 900,
) -> ReportRun:
    """Validate a client, run every notebook on it, and write the report folder.

    Parameters
    ----------
    config_path : str or Path
        The client's YAML config.
    out : str or Path, default "reports"
        Reports root; the run goes to ``<out>/<client>/<run-id>/``.
    notebooks_dir : str or Path, optional
        Where the notebooks are (default: the repository's ``notebooks/`` next to the package).
    only : iterable of str, optional
        Run only these notebooks (names or number prefixes, see :func:`discover_notebooks`).
    console : rich.console.Console, optional
        Where progress and per-notebook results are printed.
    progress : bool, default True
        Show progress bars (per notebook: cells; overall: notebooks).
    execution_timeout : int, default 900
        Seconds a single cell may run.

    Returns
    -------
    ReportRun
        ``status`` is ``"complete"`` or ``"failed"`` (some notebook failed; the others ran).

    Raises
    ------
    DataError
        When the config or a data file is invalid; raised before any notebook runs and before
        any output folder is created.
    KeyboardInterrupt
        Re-raised after the run folder is renamed ``<run-id>.interrupted``.

    Examples
    --------
    Building a report runs every notebook (about a minute on the demo), so this example is not
    run as a doctest; ``tests/test_notebooks.py`` runs it::

        run = build_report("clients/demo.yaml", out="reports")
        run.status, run.run_dir.name   # ('complete', '20260102T030405Z-ab12cd34')
    """
    from rich.console import Console

    from cxlib import __version__
    from cxlib.report.headlines import load_headlines
    from cxlib.run.client import data_files, open_client
    from cxlib.settings.config import file_sha256

    console = console or Console(stderr=True)
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)

    client = open_client(config_path)  # raises DataError before anything is written
    config = client.config
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    notebooks = discover_notebooks(notebooks_dir, only=only)

    config_file = Path(config.config_path or config_path).resolve()
    config_hash = file_sha256(config_file)
    files = data_files(config)  # hashed once: open_client remembered the digests
    client_dir = _client_dir(Path(out), config.client)
    _mark_abandoned(client_dir, console)
    try:
        run_id, partial = _reserve_run_dir(client_dir, make_run_id(config_hash, now=started_at))
        _runs.claim(partial)
        headlines_dir = partial / "headlines"
        headlines_dir.mkdir()
    except OSError as exc:
        raise _output_error(Path(out), exc) from None
    _runs.Heartbeat(partial).start()  # stops when RUNNING.json goes, at the run's end
    _write_runs_index(client_dir, config.client)
    final_dir = partial.with_name(run_id)
    available = dict(config.notebook_parameters())
    available["config_path"] = str(config_file)
    available["headlines_dir"] = str(headlines_dir)

    runs = [NotebookRun(name=p.stem, title=p.stem) for p in notebooks]
    manifest: dict[str, Any] = {
        "cxlib_version": __version__,
        "client": config.client,
        "run_id": run_id,
        "status": "running",
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": None,
        "seconds": None,
        "config": {"path": str(config_file), "sha256": config_hash},
        "data_files": files,
        "parameters": config.notebook_parameters(),
        "notebooks_dir": str(notebooks_dir.resolve()),
        "source": _source_state(Path(__file__).resolve().parents[2]),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": _package_versions(),
        },
        "notebooks": [],
        # what the audit checks the pages against: the dates the data cover, what was set aside
        "coverage": _data_coverage(client),
        "quality": _quality_records(client.quality),
    }

    def write_manifest(status: str) -> None:
        manifest["status"] = status
        manifest["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["seconds"] = round(time.perf_counter() - started, 2)
        manifest["notebooks"] = [asdict(r) for r in runs]
        (partial / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str), encoding="utf-8"
        )

    manifest["steps"] = _prepare_client(client, console)
    bar = _Progress(console, enabled=progress, total=len(notebooks))
    try:
        with bar, _SigtermAsInterrupt():
            for source, run in zip(notebooks, runs, strict=True):
                if _skip(source, run, client, bar, headlines_dir):
                    console.print(
                        f"[yellow]skipped[/] {run.name} — {run.reason}",
                        markup=True,
                        highlight=False,
                        soft_wrap=True,
                    )
                    continue
                _run_one(
                    _applicable_cells(source, client, partial),
                    run,
                    partial,
                    available,
                    notebooks_dir,
                    bar,
                    execution_timeout,
                    client_name=config.client,
                )
                mark = "[green]ok[/]" if run.status == "ok" else "[red]FAILED[/]"
                line = f"{mark} {run.name} ({run.seconds:.1f} s)"
                if run.error:
                    line += f" — {run.error}"
                console.print(line, markup=True, highlight=False, soft_wrap=True)
                if run.unknown_parameters:
                    console.print(
                        f"[yellow]warning[/] {run.name} declares {run.unknown_parameters}, which "
                        "are not client settings: they keep the notebook's defaults",
                        markup=True,
                        highlight=False,
                        soft_wrap=True,
                    )
        status = "complete" if all(r.status in ("ok", "skipped") for r in runs) else "failed"
        manifest["actions"] = _write_actions(partial, headlines_dir)
        manifest["pdf"] = print_report_pdf(partial, runs, client=config.client, console=console)
        write_manifest(status)
        headlines = load_headlines(headlines_dir)

        def write_index() -> None:
            index = _index_html(
                client=config.client,
                run_id=run_id,
                status=status,
                notebooks=runs,
                headlines=headlines,
                quality=client.quality,
                currency=config.currency,
                manifest=manifest,
            )
            (partial / "index.html").write_text(index, encoding="utf-8")
            write_manifest(status)

        write_index()  # the audit reads the index's tables too
        manifest["audit"] = _audit(partial, console)  # every page's text, checked by code
        write_index()  # now with the audit's findings
        _runs.release(partial)
        partial.rename(final_dir)
        _write_runs_index(client_dir, config.client)
    except KeyboardInterrupt as exc:
        for run in runs:
            if run.status == "pending":
                run.status = "interrupted"
        how = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
        target = _mark_unfinished(
            partial,
            run_id,
            "interrupted",
            "INTERRUPTED",
            f"This run was interrupted ({how}) before it finished; its pages are incomplete.\n",
            write_manifest,
        )
        console.print(f"[yellow]interrupted[/]: partial output kept in {target}", markup=True)
        _write_runs_index(client_dir, config.client)
        raise
    except OSError as exc:  # disk full, read-only file system, folder removed under us
        error = _output_error(Path(out), exc)
        target = _mark_unfinished(
            partial, run_id, "failed", "OUTPUT_ERROR", f"{error}\n", write_manifest
        )
        _write_runs_index(client_dir, config.client)
        raise OutputError(f"{error}; partial output in {target}") from None

    return ReportRun(
        run_dir=final_dir, run_id=run_id, status=status, notebooks=runs, seconds=manifest["seconds"]
    )


def _data_coverage(client: Any) -> dict[str, dict[str, Any]]:
    """Return the first and last date of each dated table (see ``trend.data_coverage``)."""
    from cxlib.segmentation.trend import data_coverage

    names = ("transactions", "surveys", "feedback", "experiments")
    tables = {name: getattr(client, name, None) for name in names}
    if tables["transactions"] is not None:
        tables["transactions"] = client.rows  # with engine: spark, where the rows live
    return data_coverage(tables)


def _quality_records(quality: Any) -> list[dict[str, Any]]:
    if quality is None or quality.empty:
        return []
    return json.loads(quality.to_json(orient="records"))


def _audit(run_dir: Path, console: Any) -> dict[str, Any]:
    """Run :func:`cxlib.report.audit.audit_run` on the run folder; report how many findings.

    Findings are reported, not fatal: the run keeps its status. An audit that fails is recorded
    with its error, so a bug in a rule never costs the reviewers their report.
    """
    from cxlib.report.audit import RULES, audit_run

    try:
        findings = audit_run(run_dir)
    except Exception as exc:  # noqa: BLE001 - recorded on the index, the run still completes
        error = _one_line(f"{type(exc).__name__}: {exc}")
        console.print(f"[yellow]audit failed[/]: {error}", markup=True, highlight=False)
        return {"error": error, "rules": sorted(RULES), "findings": []}
    if findings:
        console.print(
            f"[yellow]audit[/]: {len(findings)} finding(s), listed on the index and in "
            "manifest.json (cxlib audit RUN_DIR prints them)",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print("[green]audit[/]: no findings", markup=True, highlight=False)
    return {"rules": sorted(RULES), "findings": [f.to_dict() for f in findings]}


def _mark_abandoned(client_dir: Path, console: Any) -> None:
    """Rename the client's runs whose runner is gone ``.abandoned`` (:mod:`cxlib.report.runs`)."""
    try:
        abandoned = _runs.mark_abandoned(client_dir) if client_dir.is_dir() else []
    except OSError:  # an unreadable folder: the run's own reservation reports it
        return
    for folder in abandoned:
        console.print(
            f"[yellow]abandoned[/] {folder.name}: its runner was killed or its machine stopped "
            "before it finished",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def _write_runs_index(client_dir: Path, client: str) -> None:
    """Rewrite ``runs.json`` and ``runs.html`` of the client's runs; best effort."""
    try:
        _runs.write_runs_index(client_dir, client)
    except OSError:
        pass  # the run itself reports a folder it cannot write


def _write_actions(run_dir: Path, headlines_dir: Path) -> int:
    """Write the pages' ranked actions to ``actions.json`` (highest value first); return how many.

    Each object has ``action``, ``segment``, ``customers``, ``value``, ``value_low``,
    ``value_high``, ``basis``, ``kpi``, ``page`` (:class:`cxlib.report.actions.Action`).
    """
    from cxlib.report.actions import load_actions

    actions = load_actions(headlines_dir)
    records = [
        {**row, "customers": int(row["customers"])}
        for row in actions.astype(object).where(actions.notna(), None).to_dict(orient="records")
    ]
    (run_dir / "actions.json").write_text(json.dumps(records, indent=2), encoding="utf-8")
    return len(records)


def print_report_pdf(
    run_dir: Path, runs: Sequence[NotebookRun], *, client: str = "", console: Any = None
) -> str | None:
    """Print the reviewer pages, summary first, into ``report.pdf`` (:mod:`cxlib.report.pdf`)."""
    from cxlib.report.pdf import print_report_pdf as _print

    return _print(run_dir, runs, client=client, console=console)


def _mark_unfinished(
    partial: Path,
    run_id: str,
    suffix: str,
    marker: str,
    text: str,
    write_manifest: Callable[[str], None],
) -> Path:
    """Rename an unfinished run ``<run-id>.<suffix>`` with a marker file saying why.

    Best effort: on a full or read-only disk the manifest or the marker may not be written,
    but the rename (no new data) usually still works, so no ``.partial`` folder is left.
    """
    for write in (
        lambda: write_manifest(suffix),
        lambda: (partial / marker).write_text(text, encoding="utf-8"),
        lambda: _runs.release(partial),
    ):
        try:
            write()
        except OSError:
            pass
    target = partial.with_name(f"{run_id}.{suffix}")
    try:
        partial.rename(target)
    except OSError:
        return partial
    return target


def _skip(source: Path, run: NotebookRun, client: Any, bar: _Progress, headlines_dir: Path) -> bool:
    """Skip a notebook the client's data cannot serve; return True when skipped.

    A notebook lists what it needs in its metadata, ``{"cxlib": {"requires": ["experiments",
    "repeat_purchases"]}}``: tables, and facts about the data (:data:`CLIENT_FACTS`). A client
    without one of them gets the status ``"skipped"`` and a one-line reason (``"no experiments
    table"``, or the fact's reason, which names the YAML key that changes it where one does)
    instead of a failure. The reason is recorded as the page's one headline (key
    ``"skipped"``), so the summary says why it is missing.
    """
    import nbformat

    from cxlib.report.headlines import save_headlines
    from cxlib.settings.headline import Headline

    nb = nbformat.read(str(source), as_version=4)
    missing = _unmet(nb.metadata, client)
    if not missing:
        return False
    run.status, run.title = "skipped", _notebook_title(nb, run.name)
    run.reason = _skip_reason(missing, client)
    skipped = Headline("skipped", "This page does not apply", run.reason, unit="text")
    save_headlines(run.name, [skipped], path=headlines_dir / f"{run.name}.json")
    bar.start_notebook(run.name)
    bar.finish_notebook()
    return True


def _history_days(client: Any) -> int:
    """Days from the first transaction to the observation end (0 for a single day)."""
    import pandas as pd

    dates = client.transactions["date"]
    end = client.analysis.observation_end
    last = dates.max() if end is None else min(dates.max(), pd.Timestamp(end))
    return int((last.normalize() - dates.min().normalize()).days)


def _churn_window_reason(client: Any) -> str:
    days, horizon = _history_days(client), client.analysis.churn_horizon_days
    return (
        f"no history before the churn window: {days} days of data, not more than the "
        f"{horizon}-day window (set a shorter analysis.churn_horizon_days in the client's YAML)"
    )


#: Facts about a client's data a notebook or cell may require besides tables, in its metadata's
#: ``requires`` (alone, or as an alternative to a table: ``"repeat_purchases|contracts"``):
#: name -> (whether the client meets it, the one-line reason when it does not). A fact is
#: tested only when the tables a notebook requires are there.
CLIENT_FACTS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], str]]] = {
    "repeat_purchases": (
        lambda client: client.repeat_purchases,
        lambda client: (
            "no repeat purchases: no customer bought on two different days, so there is no "
            "purchase rhythm to model"
        ),
    ),
    "churn_threshold": (
        lambda client: client.analysis.churn_inactivity_days is not None or client.repeat_purchases,
        lambda client: (
            "no churn threshold: no customer bought on two different days to read it from "
            "(set analysis.churn_inactivity_days in the client's YAML)"
        ),
    ),
    "churn_window": (
        lambda client: _history_days(client) > client.analysis.churn_horizon_days,
        _churn_window_reason,
    ),
}


def _skip_reason(missing: list[str], client: Any) -> str:
    """One line: the tables missing (``"no surveys table"``), else the first fact's reason."""
    tables = [entry for entry in missing if entry.split("|")[0] not in CLIENT_FACTS]
    if tables:
        return "no " + " and no ".join(tables) + (" table" if len(tables) == 1 else " tables")
    first = next(o for o in missing[0].split("|") if o in CLIENT_FACTS)
    return CLIENT_FACTS[first][1](client)


def _unmet(metadata: dict, client: Any) -> list[str]:
    """Return the ``{"cxlib": {"requires": [...]}}`` entries of a notebook or cell not met.

    An entry ``"transactions|contracts"`` is met by either table (a page that serves both
    purchase histories and contract histories); ``"!contracts"`` by a client without it (a
    cell for purchase histories only). Tables are returned as ``"transactions or contracts"``;
    a fact of :data:`CLIENT_FACTS` (tested only when every table required is there) as its
    entry, ``"repeat_purchases|contracts"``.
    """
    missing, facts = [], []
    for entry in metadata.get("cxlib", {}).get("requires", []):
        if entry.startswith("!"):
            if getattr(client, entry[1:], None) is not None:
                missing.append(entry)
            continue
        options = entry.split("|")
        if any(option in CLIENT_FACTS for option in options):
            facts.append(entry)
        elif all(getattr(client, table, None) is None for table in options):
            missing.append(" or ".join(options))
    if missing:
        return missing
    return [
        entry for entry in facts if not any(_met(option, client) for option in entry.split("|"))
    ]


def _met(option: str, client: Any) -> bool:
    if option in CLIENT_FACTS:
        return bool(CLIENT_FACTS[option][0](client))
    return getattr(client, option, None) is not None


def _applicable_cells(source: Path, client: Any, run_dir: Path) -> Path:
    """``source``, or a copy without the cells whose ``requires`` the client does not meet.

    A page serving two kinds of client (the CLV page: purchase histories or contracts) marks
    the cells of one kind in their metadata, like a notebook's; the copy keeps the name and is
    written under the run's ``logs/sources`` folder.
    """
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    keep = [cell for cell in nb.cells if not _unmet(cell.metadata, client)]
    if len(keep) == len(nb.cells):
        return source
    nb.cells = keep
    target = run_dir / "logs" / "sources" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def _prepare_client(client: Any, console: Any) -> dict[str, Any]:
    """Compute the run's shared steps once (customer base, CLV fit) before any notebook runs.

    Each notebook then finds them in the disk cache. A step that fails here is reported and
    left to the notebooks that need it, which fail or skip on their own: one bad model must not
    stop the pages that do not use it.
    """
    started = time.perf_counter()
    try:
        client.prepare()
        error = None
    except Exception as exc:  # noqa: BLE001 - reported, then each notebook meets it itself
        error = _one_line(f"{type(exc).__name__}: {exc}")
        console.print(
            f"[yellow]warning[/] shared steps failed ({error}); pages that need them will fail",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "per_step": dict(client.timings),
        "cpu_per_step": dict(getattr(client, "cpu_timings", {})),
        "error": error,
        "cache_notices": list(getattr(client, "cache_notices", [])),
    }


def _run_one(
    source: Path,
    run: NotebookRun,
    run_dir: Path,
    available: dict[str, Any],
    notebooks_dir: Path,
    bar: _Progress,
    execution_timeout: int,
    client_name: str = "",
) -> None:
    import nbformat

    name = source.stem
    executed = run_dir / "notebooks" / source.name
    executed.parent.mkdir(exist_ok=True)
    values = dict(available, headlines_path=str(run_dir / "headlines" / f"{name}.json"))
    t0 = time.perf_counter()
    bar.start_notebook(name)
    try:
        run.parameters, run.unknown_parameters = notebook_parameters(source, values)
        (run_dir / "logs").mkdir(exist_ok=True)
        _execute(
            source,
            executed,
            run.parameters,
            cwd=notebooks_dir,
            on_cell=bar.cell_done,
            execution_timeout=execution_timeout,
            kernel_log=run_dir / "logs" / f"{name}.log",
        )
        run.status = "ok"
    except KeyboardInterrupt:
        run.status = "interrupted"
        run.seconds = round(time.perf_counter() - t0, 2)
        raise
    except OSError as exc:
        if exc.errno in _OUTPUT_ERRNOS:  # the run folder, not the notebook, is at fault
            run.status = "failed"
            run.error = f"{type(exc).__name__}: {exc}"
            raise
        run.status = "failed"
        injected = _injected_index(executed)
        run.error, run.cell = describe_failure(exc, injected_index=injected)
    except Exception as exc:  # any failure of one notebook must not stop the others
        run.status = "failed"
        injected = _injected_index(executed)
        run.error, run.cell = describe_failure(exc, injected_index=injected)
    finally:
        bar.finish_notebook()
    run.seconds = round(time.perf_counter() - t0, 2)

    if executed.is_file():
        try:
            nb = nbformat.read(str(executed), as_version=4)
        except (ValueError, UnicodeDecodeError) as exc:  # written only in part: disk full?
            raise OSError(
                errno.EIO, f"the executed notebook was written only in part ({exc})", str(executed)
            ) from None
        run.title = _notebook_title(nb, name)
        run.warnings = _count_warnings(nb)
        run.outputs["notebook"] = f"notebooks/{source.name}"
        reviewer, full = f"html/{name}.html", f"html/{name}.full.html"
        t1 = time.perf_counter()
        try:
            title = f"{run.title} — {client_name}" if client_name else run.title
            export_html(
                nb, run_dir / reviewer, reviewer=True, other_version=Path(full).name, title=title
            )
            export_html(
                nb, run_dir / full, reviewer=False, other_version=Path(reviewer).name, title=title
            )
        except Exception as exc:  # a page that cannot be rendered is a failure, not a crash
            line, _ = describe_failure(exc)
            run.status = "failed"
            run.error = (run.error + "; " if run.error else "") + f"HTML export: {line}"
        else:
            run.outputs.update(reviewer_html=reviewer, full_html=full)
        run.html_seconds = round(time.perf_counter() - t1, 2)


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


def _injected_index(executed: Path) -> int | None:
    import nbformat

    if not executed.is_file():
        return None
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except (ValueError, UnicodeDecodeError):  # written only in part
        return None
    for index, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            return index
    return None
