"""The ``cxlib`` command line: ``cxlib demo``, ``cxlib validate``, ``cxlib report``.

Invalid client data is reported as one message (the file, the column, a few offending values)
with exit code 2 and no traceback; a report whose notebooks failed exits with 1, one that could
not be written (disk full, read-only, ``--out`` not a folder) with 3, an interrupted one with 130
(Ctrl-C) or 143 (SIGTERM).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

EXIT_FAILED = 1
EXIT_DATA_ERROR = 2
EXIT_OUTPUT_ERROR = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it

ConfigArgument = Annotated[
    Path, typer.Argument(help="The client's YAML config, e.g. clients/demo.yaml.")
]


def _fail_on_data_error(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_DATA_ERROR)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Directory to write the demo files to.")] = Path(
        "data/demo"
    ),
    n_customers: Annotated[int, typer.Option(help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
) -> None:
    """Write the seeded demo client's exports (transactions, customers, surveys, feedback)."""
    from cxlib.demo import make_demo

    make_demo(n_customers=n_customers, seed=seed).write(out)
    typer.echo(f"demo data written to {out}")


@app.command()
def validate(config: ConfigArgument) -> None:
    """Check a client config and load every data file it lists; print the data-quality table."""
    from cxlib import DataError
    from cxlib.config import load_client

    try:
        client = load_client(config)
    except DataError as exc:
        _fail_on_data_error(exc)
    typer.echo(f"{config}: config and {len(client.config.tables)} data file(s) are valid")
    for table in client.config.tables:
        frame = getattr(client, table)
        typer.echo(f"  {table}: {len(frame):,} rows from {client.config.table_path(table)}")
    if client.quality is not None and not client.quality.empty:
        typer.echo("data quality:")
        typer.echo(client.quality.to_string(index=False))


@app.command()
def report(
    config: ConfigArgument,
    out: Annotated[
        Path, typer.Option(help="Reports root: the run goes to OUT/<client>/<run-id>/.")
    ] = Path("reports"),
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated notebooks to run, by name or number (e.g. 02,04_clv)."),
    ] = None,
    notebooks: Annotated[
        Path | None,
        typer.Option(help="Notebook folder (default: the notebooks/ next to the cxlib package)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Validate a client, run every notebook on it, and write the HTML report."""
    from rich.console import Console

    from cxlib import DataError
    from cxlib.report import OutputError, Terminated, build_report

    console = Console(stderr=True)
    names = only.split(",") if only else None
    try:
        run = build_report(
            config, out=out, notebooks_dir=notebooks, only=names, console=console, progress=progress
        )
    except DataError as exc:
        _fail_on_data_error(exc)
    except ValueError as exc:  # e.g. --only names no notebook
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    except OutputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT_ERROR) from None
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        typer.echo(f"{how}: no complete run was written", err=True)
        raise typer.Exit(EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
                         ) from None
    typer.echo(f"report: {run.run_dir / 'index.html'}")
    if not run.ok:
        for line in run.failures:
            typer.echo(f"FAILED {line}", err=True)
        raise typer.Exit(EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    app()
