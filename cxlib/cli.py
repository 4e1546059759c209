"""The ``cxlib`` command line: ``cxlib demo``, ``cxlib validate``, ``cxlib report``."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.command()
def demo(
    out: Path = typer.Option(Path("data/demo"), "--out", help="Directory to write the demo files to."),
    n_customers: int = typer.Option(20_000, help="Number of customers."),
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same data."),
) -> None:
    """Write the seeded demo client's exports (transactions, customers, surveys, feedback)."""
    from cxlib.demo import make_demo

    make_demo(n_customers=n_customers, seed=seed).write(out)
    typer.echo(f"demo data written to {out}")


if __name__ == "__main__":  # pragma: no cover
    app()
