"""The report runner: one client config in, one folder of HTML pages for reviewers out.

``build_report`` is what ``cxlib report clients/<name>.yaml`` calls. It

1. validates the client's config and loads every data file (:func:`cxlib.run.loading.load_client`)
   *before* any notebook runs, so a bad file fails in seconds with a :class:`cxlib.DataError`;
2. runs each page of the manifest (:mod:`cxlib.report.pages`), ``notebooks/NN_<topic>.ipynb``,
   with papermill (topic notebooks in order, the ``00_summary`` notebook last; a page the
   client's data cannot serve is skipped with its reason), injecting the parameters the
   notebook declares: the client's analysis settings
   (:meth:`cxlib.settings.config.ClientConfig.notebook_parameters`), ``config_path``,
   ``headlines_path`` (where the notebook records its headline numbers) and ``headlines_dir``
   (where the summary notebook reads them all);
3. writes per notebook the executed ``.ipynb``, a reviewer HTML without code, warnings or prompts,
   and a full HTML with code, then ``index.html`` (links, headline numbers, data quality,
   failures) and ``manifest.json`` (cxlib version, config and data-file hashes, parameters,
   the pages, timings, status per notebook).

Running one page is :mod:`cxlib.report.execute`; the run folder's name, reservation and
unfinished ends are :mod:`cxlib.report.rundir`.

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
import json
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cxlib.report import runs as _runs
from cxlib.report.execute import (  # noqa: F401 - _unmet and RUNNER_PARAMETERS are re-exported
    KERNEL_ENV,
    RUNNER_PARAMETERS,
    _execute,
    _unmet,
    applicable_cells,
    describe_failure,
    notebook_parameters,
    one_line,
    run_page,
    translated,
)
from cxlib.report.html import (  # noqa: F401 - SUMMARY_NOTEBOOK and _CSS are re-exported
    _CSS,
    SUMMARY_NOTEBOOK,
    _index_html,
    export_html,
)
from cxlib.report.pages import (  # noqa: F401 - CLIENT_FACTS and NOTEBOOK_PATTERN re-exported
    CLIENT_FACTS,
    NOTEBOOK_PATTERN,
    Page,
    default_notebooks_dir,
    discover_notebooks,
    page_for,
    skip_reason,
    unmet,
)
from cxlib.report.progress import _Progress
from cxlib.report.results import NotebookRun, ReportRun
from cxlib.report.rundir import (  # noqa: F401 - _client_dir is re-exported for the tests
    OutputError,
    SigtermAsInterrupt,
    Terminated,
    make_run_id,
    mark_abandoned,
    mark_unfinished,
    output_error,
    package_versions,
    source_state,
    write_runs_index,
)
from cxlib.report.rundir import client_dir as _client_dir
from cxlib.report.rundir import reserve_run_dir as _reserve_run_dir

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

#: The names the runner used before its parts had modules of their own.
_applicable_cells, _skip_reason = applicable_cells, skip_reason


# --- the runner -------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one report run knows while it works: the client, its folder, its pages."""

    client: Any
    config_file: Path
    config_hash: str
    files: dict[str, Any]
    out: Path
    client_dir: Path
    run_id: str
    partial: Path
    notebooks_dir: Path
    pages: list[tuple[Path, Page]]
    started: float
    started_at: dt.datetime
    language: str = "en"
    runs: list[NotebookRun] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.client.config.client

    @property
    def headlines_dir(self) -> Path:
        return self.partial / "headlines"

    def write_manifest(self, status: str) -> None:
        """Write ``manifest.json`` with ``status``; a finished run's times and pages too."""
        self.manifest["status"] = status
        if status != "running":
            self.manifest["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            self.manifest["seconds"] = round(time.perf_counter() - self.started, 2)
        self.manifest["notebooks"] = [asdict(r) for r in self.runs]
        (self.partial / "manifest.json").write_text(
            json.dumps(self.manifest, indent=2, default=str), encoding="utf-8"
        )


def build_report(
    config_path: str | Path,
    *,
    out: str | Path = "reports",
    notebooks_dir: str | Path | None = None,
    only: Iterable[str] | None = None,
    console: Any = None,
    progress: bool = True,
    execution_timeout: int = 900,
    language: str | None = None,
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
    language : {"en", "ru"}, optional
        The report's language (default: the config's ``language:``). The runner writes the
        index, skip reasons and PDF in it, renders each notebook's markdown through the
        catalogue into the run folder (``logs/sources/``) and runs that copy, and tells each
        kernel the language in ``$CXLIB_LANGUAGE`` (:mod:`cxlib.settings.i18n`).

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

    from cxlib.settings.i18n import check_language, using

    console = console or Console(stderr=True)
    if language is not None:  # checked before anything is read or written
        check_language(language, caller="build_report")
    run = _open_run(config_path, Path(out), notebooks_dir, only, console, language)
    with using(run.language):
        return _build(run, console, progress, execution_timeout)


def _build(run: _Run, console: Any, progress: bool, execution_timeout: int) -> ReportRun:
    """Run the pages and finish the run folder, in the run's language (the caller sets it)."""
    try:
        with _Progress(console, enabled=progress, total=len(run.pages)) as bar:
            with SigtermAsInterrupt():
                for (source, page), notebook in zip(run.pages, run.runs, strict=True):
                    _run_or_skip(run, source, page, notebook, bar, console, execution_timeout)
        status = "complete" if all(r.status in ("ok", "skipped") for r in run.runs) else "failed"
        _finish(run, status, console)
    except KeyboardInterrupt as exc:
        _interrupted(run, exc, console)
        raise
    except OSError as exc:  # disk full, read-only file system, folder removed under us
        error = output_error(run.out, exc)
        target = mark_unfinished(
            run.partial, run.run_id, "failed", "OUTPUT_ERROR", f"{error}\n", run.write_manifest
        )
        write_runs_index(run.client_dir, run.name)
        raise OutputError(f"{error}; partial output in {target}") from None
    return ReportRun(
        run_dir=run.partial.with_name(run.run_id),
        run_id=run.run_id,
        status=status,
        notebooks=run.runs,
        seconds=run.manifest["seconds"],
    )


def _open_run(
    config_path: str | Path,
    out: Path,
    notebooks_dir: str | Path | None,
    only: Iterable[str] | None,
    console: Any,
    language: str | None = None,
) -> _Run:
    """Open the client (a bad config or file fails here), reserve the run folder, prepare."""
    from cxlib.run.client import data_files, open_client
    from cxlib.settings.config import file_sha256
    from cxlib.settings.i18n import gettext, using

    started, started_at = time.perf_counter(), dt.datetime.now(dt.UTC)
    client = open_client(config_path)  # raises DataError before anything is written
    config = client.config
    notebooks_dir = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    pages = [(p, page_for(p)) for p in discover_notebooks(notebooks_dir, only=only)]
    config_file = Path(config.config_path or config_path).resolve()
    config_hash = file_sha256(config_file)
    files = data_files(config)  # hashed once: open_client remembered the digests
    folder = _client_dir(out, config.client)
    mark_abandoned(folder, console)
    try:
        run_id, partial = _reserve_run_dir(folder, make_run_id(config_hash, now=started_at))
        _runs.claim(partial)
        (partial / "headlines").mkdir()
    except OSError as exc:
        raise output_error(out, exc) from None
    _runs.Heartbeat(partial).start()  # stops when RUNNING.json goes, at the run's end
    write_runs_index(folder, config.client)
    run = _Run(
        client=client,
        config_file=config_file,
        config_hash=config_hash,
        files=files,
        out=out,
        client_dir=folder,
        run_id=run_id,
        partial=partial,
        notebooks_dir=notebooks_dir,
        pages=pages,
        started=started,
        started_at=started_at,
        runs=[],
        language=language or config.language,
    )
    with using(run.language):  # titles for the index, the pages and the PDF's bookmarks
        run.runs = [NotebookRun(name=page.name, title=gettext(page.title)) for _, page in pages]
    run.manifest = _new_manifest(run)
    run.manifest["steps"] = _prepare_client(client, console)
    run.write_manifest("running")  # the summary notebook reads the run's pages from it
    return run


def _new_manifest(run: _Run) -> dict[str, Any]:
    """Return the run's ``manifest.json`` as known before any page runs."""
    from cxlib import __version__

    config = run.client.config
    return {
        "cxlib_version": __version__,
        "client": config.client,
        "language": run.language,
        "run_id": run.run_id,
        "status": "running",
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": None,
        "seconds": None,
        "config": {"path": str(run.config_file), "sha256": run.config_hash},
        "data_files": run.files,
        "parameters": config.notebook_parameters(),
        "notebooks_dir": str(run.notebooks_dir.resolve()),
        "source": source_state(Path(__file__).resolve().parents[2]),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": package_versions(),
        },
        # the manifest's pages and any other page run: what the summary notebook reads
        "pages": [page.to_dict() for page in _all_pages(run.pages)],
        "notebooks": [],
        # what the audit checks the pages against: the dates the data cover, what was set aside
        "coverage": _data_coverage(run.client),
        "quality": _quality_records(run.client.quality),
    }


def _all_pages(found: list[tuple[Path, Page]]) -> list[Page]:
    """Return the manifest's pages (read now: a test may add one), then those it lacks."""
    from cxlib.report import pages

    listed = list(pages.PAGES)
    return listed + [page for _, page in found if page not in listed]


def _run_or_skip(
    run: _Run,
    source: Path,
    page: Page,
    notebook: NotebookRun,
    bar: _Progress,
    console: Any,
    execution_timeout: int,
) -> None:
    """Run one page, or skip it when the client's data cannot serve it; say how it went."""
    if _skip(page, notebook, run.client, bar, run.headlines_dir):
        console.print(
            f"[yellow]skipped[/] {notebook.name} — {notebook.reason}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
        return
    available = dict(run.client.config.notebook_parameters())
    available["config_path"] = str(run.config_file)
    available["headlines_dir"] = str(run.headlines_dir)
    run_page(
        translated(applicable_cells(source, run.client, run.partial), run.partial),
        notebook,
        run.partial,
        available,
        run.notebooks_dir,
        bar,
        execution_timeout,
        client_name=run.name,
        execute=_execute,  # looked up here, so a test can replace the runner's _execute
    )
    mark = "[green]ok[/]" if notebook.status == "ok" else "[red]FAILED[/]"
    line = f"{mark} {notebook.name} ({notebook.seconds:.1f} s)"
    if notebook.error:
        line += f" — {notebook.error}"
    console.print(line, markup=True, highlight=False, soft_wrap=True)
    if notebook.unknown_parameters:
        console.print(
            f"[yellow]warning[/] {notebook.name} declares {notebook.unknown_parameters}, which "
            "are not client settings: they keep the notebook's defaults",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def _finish(run: _Run, status: str, console: Any) -> None:
    """Write the actions, the PDF, the index and the audit; rename the finished run folder."""
    from cxlib.report.headlines import load_headlines

    config = run.client.config
    run.manifest["actions"] = _write_actions(run.partial, run.headlines_dir)
    run.manifest["pdf"] = print_report_pdf(run.partial, run.runs, client=run.name, console=console)
    run.write_manifest(status)
    headlines = load_headlines(run.headlines_dir)

    def write_index() -> None:
        index = _index_html(
            client=run.name,
            run_id=run.run_id,
            status=status,
            notebooks=run.runs,
            headlines=headlines,
            quality=run.client.quality,
            currency=config.currency,
            manifest=run.manifest,
        )
        (run.partial / "index.html").write_text(index, encoding="utf-8")
        run.write_manifest(status)

    write_index()  # the audit reads the index's tables too
    run.manifest["audit"] = _audit(run.partial, console)  # every page's text, checked by code
    write_index()  # now with the audit's findings
    _runs.release(run.partial)
    run.partial.rename(run.partial.with_name(run.run_id))
    write_runs_index(run.client_dir, run.name)


def _interrupted(run: _Run, exc: KeyboardInterrupt, console: Any) -> None:
    """Mark the pages not run and rename the run folder ``<run-id>.interrupted``."""
    for notebook in run.runs:
        if notebook.status == "pending":
            notebook.status = "interrupted"
    how = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
    target = mark_unfinished(
        run.partial,
        run.run_id,
        "interrupted",
        "INTERRUPTED",
        f"This run was interrupted ({how}) before it finished; its pages are incomplete.\n",
        run.write_manifest,
    )
    console.print(f"[yellow]interrupted[/]: partial output kept in {target}", markup=True)
    write_runs_index(run.client_dir, run.name)


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
        error = one_line(f"{type(exc).__name__}: {exc}")
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


def _skip(page: Page, run: NotebookRun, client: Any, bar: _Progress, headlines_dir: Path) -> bool:
    """Skip a page the client's data cannot serve; return True when skipped.

    A page lists what it needs in the manifest (:attr:`cxlib.report.pages.Page.requires`):
    tables, and facts about the data (:data:`cxlib.report.pages.CLIENT_FACTS`). A client
    without one of them gets the status ``"skipped"`` and a one-line reason (``"no experiments
    table"``, or the fact's reason, which names the YAML key that changes it where one does)
    instead of a failure. The reason is recorded as the page's one headline (key
    ``"skipped"``), so the summary says why it is missing.
    """
    from cxlib.report.headlines import save_headlines
    from cxlib.settings.headline import Headline

    missing = unmet(page.requires, client)
    if not missing:
        return False
    run.status, run.reason = "skipped", skip_reason(missing, client)
    skipped = Headline("skipped", "This page does not apply", run.reason, unit="text")
    save_headlines(run.name, [skipped], path=headlines_dir / f"{run.name}.json")
    bar.start_notebook(run.name)
    bar.finish_notebook()
    return True


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
        error = one_line(f"{type(exc).__name__}: {exc}")
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
