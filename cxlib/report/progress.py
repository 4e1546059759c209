"""Progress of a report run, shown while the notebooks execute.

The papermill engine reports each finished cell; the rich bars show one line for the notebooks
and one for the current notebook's cells.
"""

from __future__ import annotations

from typing import Any


def _progress_engine():
    """Build a papermill engine that reports finished cells and sets the kernel env."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class _ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            on_cell=None,
            kernel_env=None,
            kernel_log=None,
            **kwargs,
        ):
            if on_cell is not None:
                complete = nb_man.cell_complete

                def cell_complete(cell, cell_index=None, **kw):
                    complete(cell, cell_index=cell_index, **kw)
                    on_cell(cell_index + 1, len(nb_man.nb.cells))

                nb_man.cell_complete = cell_complete
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(
                kwargs,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, **final)
            launch = {}
            if kernel_env is not None:
                launch["env"] = kernel_env
            if kernel_log is not None:  # the kernel process's own log lines, not cell outputs
                launch["stdout"] = launch["stderr"] = kernel_log
            return client.execute(**launch)

    return _ProgressEngine


class _Progress:
    """Rich progress: one bar for the notebooks, one for the current notebook's cells."""

    def __init__(self, console: Any, *, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self.progress = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self.overall = self.progress.add_task("report", total=total)
            self.cells = None

    def __enter__(self) -> _Progress:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def start_notebook(self, name: str) -> None:
        if self.progress is not None:
            self.cells = self.progress.add_task(f"  {name}", total=None)

    def cell_done(self, done: int, total: int) -> None:
        if self.progress is not None and self.cells is not None:
            self.progress.update(self.cells, completed=done, total=total)

    def finish_notebook(self) -> None:
        if self.progress is not None:
            if self.cells is not None:
                self.progress.remove_task(self.cells)
                self.cells = None
            self.progress.advance(self.overall)
