"""The report as one PDF: each reviewer page printed by headless Chromium, then merged.

The executive summary comes first, then the topic pages in the run's order. Each page is printed
on its own (so each starts on a new sheet and keeps its own styles) and gets a bookmark named
after its title. Without Chromium or pypdf the run says so in one line and records no PDF:
the HTML report is complete without it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxlib.report.pages import reading_order
from cxlib.report.render import render

__all__ = [
    "CHROMIUM",
    "PDF_NAME",
    "PRINT_CSS",
    "find_chromium",
    "print_pdf",
    "print_report_pdf",
    "printable_html",
]

#: Where Debian's ``chromium`` package puts the browser; ``PATH`` is searched next.
CHROMIUM = "/usr/bin/chromium"
PDF_NAME = "report.pdf"

_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
          "--virtual-time-budget=10000")  # fmt: skip


#: Print layout (``templates/print.css``): A4 landscape at 80% gives a 1300-pixel-wide page, so
#: whatever fits the 1280-pixel screen the tables are checked at fits a sheet; the index/code
#: links are dropped (they do not work in a mailed file), figures and table rows are not cut
#: across sheets.
PRINT_CSS = render("print.html.j2")


def printable_html(text: str) -> str:
    """Add the report's print layout (:data:`PRINT_CSS`) to a page's HTML.

    Examples
    --------
    >>> "@page" in printable_html("<html><head></head><body></body></html>")
    True
    """
    head = text.lower().rfind("</head>")
    if head < 0:
        return PRINT_CSS + text
    return text[:head] + PRINT_CSS + text[head:]


def find_chromium() -> str | None:
    """Return the path of a Chromium binary, or None when there is none."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_file: Path, target: Path, *, chromium: str, timeout: int = 180) -> Path:
    """Print one HTML file to PDF with headless Chromium; raise when no PDF was written."""
    with tempfile.TemporaryDirectory(prefix="cxlib-chromium-") as profile:
        subprocess.run(
            [chromium, *_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={target}",
             Path(html_file).resolve().as_uri()],
            check=False, capture_output=True, timeout=timeout,
        )  # fmt: skip
    if not target.is_file() or target.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no PDF for {html_file}")
    return target


def _ordered(runs: Sequence[Any]) -> list[Any]:
    """Summary first, then the topic pages in the run's order; only pages with reviewer HTML."""
    pages = {r.name: r for r in runs if r.outputs.get("reviewer_html")}
    return [pages[name] for name in reading_order(pages)]


def print_report_pdf(
    run_dir: Path, runs: Sequence[Any], *, client: str = "", console: Any = None
) -> str | None:
    """Print the run's reviewer pages into ``<run_dir>/report.pdf``; return its relative path.

    Returns None, after one line on ``console``, when Chromium or pypdf is missing or printing
    failed: a missing PDF never fails the run.
    """

    def say(line: str) -> None:
        if console is not None:
            console.print(
                f"[yellow]no PDF[/]: {line}", markup=True, highlight=False, soft_wrap=True
            )

    pages = _ordered(runs)
    chromium = find_chromium()
    if chromium is None:
        say(f"Chromium not found ({CHROMIUM}); install Debian's chromium package for report.pdf")
        return None
    try:
        from pypdf import PdfWriter
    except ImportError:
        say("the pypdf package is not installed; pip install pypdf for report.pdf")
        return None
    if not pages:
        say("no page was rendered")
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="cxlib-pdf-") as tmp:
            writer = PdfWriter()
            for i, run in enumerate(pages):
                page = Path(tmp) / f"{i}.html"  # figures are embedded: the page prints anywhere
                source = run_dir / run.outputs["reviewer_html"]
                page.write_text(
                    printable_html(source.read_text(encoding="utf-8")), encoding="utf-8"
                )
                part = print_pdf(page, Path(tmp) / f"{i}.pdf", chromium=chromium)
                start = len(writer.pages)
                writer.append(str(part))
                writer.add_outline_item(title=run.title or run.name, page_number=start)
            writer.add_metadata({"/Title": _title(client)})
            with open(Path(tmp) / PDF_NAME, "wb") as handle:
                writer.write(handle)
            shutil.move(Path(tmp) / PDF_NAME, run_dir / PDF_NAME)  # whole, or not at all
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        say(f"printing failed ({type(exc).__name__}: {exc})")
        return None
    return PDF_NAME


def _title(client: str) -> str:
    """Return the PDF's title, in the run's language."""
    from cxlib.settings.i18n import gettext

    if client:
        return gettext("%(client)s — customer report") % {"client": client}
    return gettext("Customer report")
