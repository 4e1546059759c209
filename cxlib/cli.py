"""The ``cxlib`` command line: ``cxlib demo``, ``validate``, ``report`` and ``audit``.

Exit codes (also in ``cxlib --help`` and the README's "Command line"):

* 0 -- success;
* 1 -- the report was written but some notebook failed; ``cxlib audit``: findings;
* 2 -- invalid client config or data (one ``error:`` line naming the file, the column and a few
  offending values; no traceback; nothing written);
* 3 -- the report could not be written (disk full, read-only, ``--out`` not a folder);
* 64 -- the command line itself was wrong (unknown command or option, missing argument);
  the number is ``EX_USAGE`` of the BSD ``sysexits.h`` convention, chosen so a script can
  tell a typo in its own call from bad client data;
* 130 -- interrupted with Ctrl-C; 143 -- stopped with SIGTERM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_DATA_ERROR = 2
EXIT_OUTPUT_ERROR = 3
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it

# What `cxlib --help` shows: plain words (the help is not rendered as reStructuredText).
HELP = f"""Customer-experience analytics: turn a client's exports into a reproducible HTML report.

Typical use: cxlib demo, then cxlib validate clients/demo.yaml, then cxlib report clients/demo.yaml.
cxlib audit RUN_DIR checks a finished run's text again (the report runs it too).
Run cxlib COMMAND --help for the options of one command.

Exit codes: {EXIT_OK} success; {EXIT_FAILED} the report was written but a notebook failed, or
the audit found sentences to fix; {EXIT_DATA_ERROR} invalid client config or data, or not a run;
{EXIT_OUTPUT_ERROR} the report could not be written (disk full, read-only, --out not a folder);
{EXIT_USAGE} wrong command line (unknown command or option, missing argument); {EXIT_INTERRUPTED}
interrupted with Ctrl-C; {EXIT_TERMINATED} stopped with SIGTERM.
"""


def _is_usage_error(exc: BaseException) -> bool:
    # By class name: recent typer releases vendor click (typer._click), older ones use click
    # itself, and the two UsageError classes are unrelated.
    return any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)


class _CxlibGroup(TyperGroup):
    """Typer's group, with usage errors exiting with EXIT_USAGE instead of click's 2.

    Click gives usage errors the exit code 2, which cxlib uses for invalid client data; a script
    calling cxlib should be able to tell the two apart.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:  # no arguments at all, or a bad top-level option
            if _is_usage_error(exc):
                exc.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:  # an unknown command, or a subcommand's bad arguments
            if _is_usage_error(exc):
                exc.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    cls=_CxlibGroup,
    add_completion=False,
    no_args_is_help=True,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from cxlib import __version__

        typer.echo(f"cxlib {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed cxlib version and exit.",
        ),
    ] = False,
) -> None:
    """Customer-experience analytics: turn a client's exports into a reproducible HTML report."""


def main() -> None:
    """Run the command line (``python -m cxlib`` and the ``cxlib`` script)."""
    app(prog_name="cxlib")


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
    language: Annotated[
        str,
        typer.Option(help="en, or ru: the same business with Russian names and texts."),
    ] = "en",
) -> None:
    """Write the seeded demo client's exports (transactions, customers, surveys, feedback)."""
    from cxlib.demo import make_demo

    try:
        demo = make_demo(n_customers=n_customers, seed=seed, language=language)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    demo.write(out)
    typer.echo(f"demo data written to {out}")


@app.command()
def validate(config: ConfigArgument) -> None:
    """Check a client config and load every data file it lists; print the data-quality table."""
    from cxlib import DataError
    from cxlib.run.loading import load_client

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
        Path, typer.Option(help="Where reports go: each run is written to OUT/<client>/<run-id>/.")
    ] = Path("reports"),
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated notebooks to run, by name or number (e.g. 02,04_clv)."),
    ] = None,
    notebooks: Annotated[
        Path | None,
        typer.Option(help="Notebook folder (default: the notebooks installed with cxlib)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    language: Annotated[
        str | None,
        typer.Option(help="The report's language, en or ru (default: the config's `language:`)."),
    ] = None,
) -> None:
    """Validate a client, run every notebook on it, and write the HTML report."""
    from rich.console import Console

    from cxlib import DataError
    from cxlib.report import OutputError, Terminated, build_report

    console = Console(stderr=True)
    names = only.split(",") if only else None
    try:
        run = build_report(
            config,
            out=out,
            notebooks_dir=notebooks,
            only=names,
            console=console,
            progress=progress,
            language=language,
        )
    except DataError as exc:
        _fail_on_data_error(exc)
    except ValueError as exc:  # e.g. --only names no notebook, --language names no language
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    except OutputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT_ERROR) from None
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        typer.echo(f"{how}: no complete run was written", err=True)
        raise typer.Exit(
            EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
        ) from None
    typer.echo(f"report: {run.run_dir / 'index.html'}")
    if not run.ok:
        for line in run.failures:
            typer.echo(f"FAILED {line}", err=True)
        raise typer.Exit(EXIT_FAILED)


@app.command()
def audit(
    run_dir: Annotated[
        Path,
        typer.Argument(help="A report run folder, e.g. reports/demo/20260102T030405Z-ab12cd34."),
    ],
) -> None:
    """Check every page's text of a report run against the audit's rules.

    Prints each finding on one line (rule, page, why, the offending text) and a last line with
    the count. Exit 0 when there is no finding, 1 when there are findings, 2 when RUN_DIR is not
    a report run.
    """
    from cxlib.report.audit import NotARunError, audit_run

    try:
        findings = audit_run(run_dir)
    except NotARunError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DATA_ERROR) from None
    for finding in findings:
        typer.echo(finding.line())
    count = len(findings)
    typer.echo(f"{count} finding{'' if count == 1 else 's'} in {run_dir}")
    if findings:
        raise typer.Exit(EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
