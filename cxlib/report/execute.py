"""Running one page: its notebook executed by papermill, then exported as two HTML pages.

:func:`run_page` is what the runner (:func:`cxlib.report.runner.build_report`) calls for each
page the client can serve; it records the outcome on the page's
:class:`~cxlib.report.results.NotebookRun` (status, timings, the failing cell in one line) and
never lets one notebook's failure stop the others.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cxlib.report.html import _count_warnings, export_html
from cxlib.report.pages import unmet
from cxlib.report.progress import _Progress, _progress_engine
from cxlib.report.results import NotebookRun
from cxlib.settings.i18n import ENV_VAR, language, translate_markdown

__all__ = [
    "KERNEL_ENV",
    "RUNNER_PARAMETERS",
    "describe_failure",
    "notebook_parameters",
    "translated",
]

#: Parameters the runner gives each notebook besides the client's analysis settings.
RUNNER_PARAMETERS = ("config_path", "headlines_path", "headlines_dir")

#: Environment added to each kernel's: library deprecation chatter is not for reviewers (its root
#: cause is in third-party code we cannot change), no tqdm bars in cell outputs. Other warnings
#: stay visible in the full HTML and are counted in the index; the reviewer HTML drops stderr.
KERNEL_ENV = {
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    "TQDM_DISABLE": "1",
}

#: Errors of the run folder, not of the notebook: they end the run (disk full, read-only).
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


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
        message = one_line(exc.evalue)
        where = f"cell {cell} (In [{exc.exec_count}])"
        return f"{where}: {exc.ename}: {message}" if message else f"{where}: {exc.ename}", cell
    message = one_line(str(exc))
    name = type(exc).__name__
    return (f"{name}: {message}" if message else name), None


def one_line(text: str, limit: int = 300) -> str:
    """Text on one line, without terminal colours, cut at ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """Execute ``source`` into ``target`` with papermill, the kernel's own log to ``kernel_log``."""
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
            kernel_env={**os.environ, **KERNEL_ENV, ENV_VAR: language()},
            kernel_log=log,
        )
    finally:
        if log is not None:
            log.close()


def _unmet(metadata: dict, client: Any) -> list[str]:
    """Return the entries of a cell's ``{"cxlib": {"requires": [...]}}`` the client misses."""
    return unmet(metadata.get("cxlib", {}).get("requires", []), client)


def applicable_cells(source: Path, client: Any, run_dir: Path) -> Path:
    """``source``, or a copy without the cells whose ``requires`` the client does not meet.

    A page serving two kinds of client (the CLV page: purchase histories or contracts) marks
    the cells of one kind in their metadata, as the manifest does for pages; the copy keeps
    the name and is written under the run's ``logs/sources`` folder.
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


def translated(source: Path, run_dir: Path) -> Path:
    """``source``, or its copy with the markdown in the active language, in the run folder.

    The English notebook stays the one source of each page: for a run in another language each
    markdown cell is rendered through the catalogue (:func:`cxlib.settings.i18n.translate_markdown`,
    paragraph by paragraph) into ``logs/sources/<name>.ipynb``, which the runner executes. The
    notebook's metadata records the language (``cxlib.language``).
    """
    import nbformat

    lang = language()
    if lang == "en":
        return source
    nb = nbformat.read(str(source), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, lang)
    nb.metadata.setdefault("cxlib", {})["language"] = lang
    target = run_dir / "logs" / "sources" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def run_page(
    source: Path,
    run: NotebookRun,
    run_dir: Path,
    available: dict[str, Any],
    notebooks_dir: Path,
    bar: _Progress,
    execution_timeout: int,
    client_name: str = "",
    *,
    execute: Callable[..., None] = _execute,
) -> None:
    """Execute one page's notebook into the run folder, then write its two HTML versions.

    ``execute`` runs the notebook (the runner passes its own ``_execute``, so a test can
    replace it there). Failures of the notebook are recorded on ``run``; failures of the run
    folder (disk full, read-only) are raised.
    """
    name = source.stem
    executed = run_dir / "notebooks" / source.name
    executed.parent.mkdir(exist_ok=True)
    values = dict(available, headlines_path=str(run_dir / "headlines" / f"{name}.json"))
    t0 = time.perf_counter()
    bar.start_notebook(name)
    try:
        run.parameters, run.unknown_parameters = notebook_parameters(source, values)
        (run_dir / "logs").mkdir(exist_ok=True)
        execute(
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
        run.status = "failed"
        if exc.errno in _OUTPUT_ERRNOS:  # the run folder, not the notebook, is at fault
            run.error = f"{type(exc).__name__}: {exc}"
            raise
        run.error, run.cell = describe_failure(exc, injected_index=_injected_index(executed))
    except Exception as exc:  # any failure of one notebook must not stop the others
        run.status = "failed"
        run.error, run.cell = describe_failure(exc, injected_index=_injected_index(executed))
    finally:
        bar.finish_notebook()
    run.seconds = round(time.perf_counter() - t0, 2)
    if executed.is_file():
        _export(executed, run, run_dir, client_name)


def _export(executed: Path, run: NotebookRun, run_dir: Path, client_name: str) -> None:
    """Write the reviewer and the full HTML of an executed notebook; record them on ``run``."""
    import nbformat

    name = executed.stem
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except (ValueError, UnicodeDecodeError) as exc:  # written only in part: disk full?
        raise OSError(
            errno.EIO, f"the executed notebook was written only in part ({exc})", str(executed)
        ) from None
    run.warnings = _count_warnings(nb)
    run.outputs["notebook"] = f"notebooks/{executed.name}"
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
