"""The report's HTML: one page per executed notebook, and the run's index page.

:func:`export_html` turns an executed notebook into a self-contained page (reviewer version
without code, or full version with it); :func:`_index_html` renders ``index.html`` from
``cxlib/report/templates/index.html.j2``. The runner (:mod:`cxlib.report`) calls both.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cxlib.report.pages import SUMMARY_PAGE, notebook_title, reading_order
from cxlib.report.render import render, source
from cxlib.settings.i18n import N_, gettext, language

if TYPE_CHECKING:
    from cxlib.report.results import NotebookRun

#: The executive summary's notebook (the manifest's summary page, :mod:`cxlib.report.pages`).
SUMMARY_NOTEBOOK = SUMMARY_PAGE

# --- HTML -------------------------------------------------------------------------------------

#: The stylesheet of every report page and of the index (``templates/page.css``).
_CSS = source("page.css")

_QUIET_LOG = logging.getLogger("cxlib.report.nbconvert")
_QUIET_LOG.setLevel(logging.ERROR)

_HEADING = re.compile(r'<h([1-3]) id="([^"]+)"[^>]*>(.*?)<a class="anchor-link"', re.S)


def export_html(
    notebook: Any,
    target: str | Path,
    *,
    reviewer: bool,
    index_href: str | None = "../index.html",
    other_version: str | None = None,
    title: str | None = None,
) -> Path:
    """Write ``notebook`` (a path or an ``nbformat`` node) as a self-contained HTML page.

    The page has no external scripts (it opens offline), figures as embedded PNG and a table of
    contents built from the markdown headings.

    Parameters
    ----------
    notebook : path or NotebookNode
        An executed notebook.
    target : path
        The HTML file to write.
    reviewer : bool
        True for the reviewer version: no code, no prompts, no stderr (warnings, logs), no
        papermill parameter cells. False for the full version with code.
    index_href, other_version : str, optional
        Links shown at the top of the page (back to the index; to the other version).
    title : str, optional
        The page's ``<title>`` (default: the notebook's first heading), e.g. "Churn — demo".
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = (
        nbformat.read(str(notebook), as_version=4) if isinstance(notebook, str | Path) else notebook
    )
    nb = copy.deepcopy(nb)
    # Without a title nbconvert names every page "Notebook" (browser tabs, bookmarks, the PDF).
    nb.metadata["title"] = title or notebook_title(nb, gettext("Customer report"))
    if reviewer:
        nb.cells = [
            c
            for c in nb.cells
            if "injected-parameters" not in c.metadata.get("tags", [])
            and "parameters" not in c.metadata.get("tags", [])
        ]
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
    exporter = HTMLExporter(
        template_name="lab",
        # the two files by name: the templates folder's own index.html.j2 would shadow lab's
        extra_loaders=[
            DictLoader(
                {
                    "cxlib_page.html.j2": source("nbconvert_page.html.j2"),
                    "cxlib_page.css": _CSS,
                }
            )
        ],
        template_file="cxlib_page.html.j2",
        exclude_input=reviewer,
        exclude_input_prompt=reviewer,
        exclude_output_prompt=reviewer,
        log=_QUIET_LOG,  # nbconvert warns that figures lack alt text; it then adds a default one
        language_code=language(),  # <html lang="ru"> for a Russian run
    )
    body, _ = exporter.from_notebook_node(nb)
    body = body.replace("<!--cxlib-nav-->", _nav(body, index_href, other_version, reviewer), 1)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def _nav(body: str, index_href: str | None, other_version: str | None, reviewer: bool) -> str:
    """Render the page's links and contents (``templates/page_nav.html.j2``)."""
    links = []
    if index_href:
        links.append((index_href, gettext("← Report index")))
    if other_version:
        label = gettext("Show the code") if reviewer else gettext("Reviewer version (no code)")
        links.append((other_version, label))
    toc = [
        (level, anchor, _strip_tags(text))
        for level, anchor, text in _HEADING.findall(body)
        if level != "1"
    ]
    return render("page_nav.html.j2", links=links, toc=toc)


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).strip()


def _count_warnings(nb: Any) -> int:
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
    )


# --- index and manifest -----------------------------------------------------------------------


def _index_html(
    *,
    client: str,
    run_id: str,
    status: str,
    notebooks: Sequence[NotebookRun],
    headlines: pd.DataFrame,
    quality: pd.DataFrame,
    currency: str,
    manifest: dict[str, Any],
) -> str:
    """Render ``index.html`` from ``cxlib/report/templates/index.html.j2`` (autoescaped)."""
    from cxlib.report.headlines import format_value

    def fmt(value: Any, unit: Any) -> str:
        return format_value(value, unit, currency=currency)

    labels = (
        (N_("Reviewer page"), "reviewer_html"),
        (N_("With code"), "full_html"),
        (N_("Notebook"), "notebook"),
    )
    # The executive summary runs last (it reads the others' numbers) but is read first.
    by_name = {nb.name: nb for nb in notebooks}
    pages = [
        {
            "name": nb.name,
            "title": nb.title or nb.name,
            "status": nb.status,
            "seconds": nb.seconds,
            "links": [(label, nb.outputs[key]) for label, key in labels if nb.outputs.get(key)],
            "error": nb.error,
            "reason": nb.reason,
            "warnings": nb.warnings,
        }
        for nb in (by_name[name] for name in reading_order(by_name))
    ]
    titles = {nb.name: nb.title or nb.name for nb in notebooks}
    groups: list[dict[str, Any]] = []
    for item in headlines.itertuples(index=False):
        if not groups or groups[-1]["notebook"] != item.notebook:
            title = titles.get(item.notebook, item.notebook)
            groups.append({"notebook": item.notebook, "title": title, "rows": []})
        interval = ""
        if _present(item.ci_low) and _present(item.ci_high):
            interval = f"{fmt(item.ci_low, item.unit)} – {fmt(item.ci_high, item.unit)}"
        groups[-1]["rows"].append(
            {
                "label": str(item.label),
                "value": fmt(item.value, item.unit),
                "numeric": not (item.unit == "text" or isinstance(item.value, str)),
                "interval": interval,
                "note": str(item.note or ""),
            }
        )
    quality_table = ""
    if quality is not None and not quality.empty:
        from cxlib.report.present import table

        # One row per source, its reasons within; readable headers, counts with separators,
        # missing as "—"; escaped like every table.
        by_source = quality_by_source(quality)
        keys = [c for c in ("table", "source") if c in by_source.columns] or None
        quality_table = table(by_source, keys=keys).to_html()
    return render(
        "index.html.j2",
        client=client,
        run_id=run_id,
        status=status,
        cxlib_version=manifest["cxlib_version"],
        finished_at=manifest["finished_at"],
        seconds=manifest["seconds"],
        failures=[nb.failure_line for nb in notebooks if nb.failure_line],
        pages=pages,
        headline_groups=groups,
        quality_table=quality_table,
        config_path=manifest["config"]["path"],
        config_sha256=manifest["config"]["sha256"],
        data_files=list(manifest["data_files"].items()),
        pdf=manifest.get("pdf"),
        n_actions=manifest.get("actions") or 0,
        audit=manifest.get("audit"),
        page_css=_CSS,
        index_css=source("index.css"),
    )


def quality_by_source(quality: pd.DataFrame) -> pd.DataFrame:
    """One row per table and source of the data-quality table, its reasons listed within.

    The loaders record one row per table and reason (:func:`cxlib.data.quality_report`); a
    reader wants each source once: rows read and kept, rows set aside and flagged in total, and
    the reasons with their counts.

    Examples
    --------
    >>> quality = pd.DataFrame({"table": ["transactions"] * 2, "source": ["tx.csv"] * 2,
    ...     "rows_read": [10, 10], "rows_kept": [9, 9], "rows_set_aside": [1, 0],
    ...     "reason": ["missing date", "kept: zero amount"], "rows_flagged": [0, 2]})
    >>> row = quality_by_source(quality).iloc[0]
    >>> int(row["rows_set_aside"]), int(row["rows_flagged"]), row["reasons"]
    (1, 2, 'missing date (1 row set aside); kept: zero amount (2 rows flagged)')
    """
    needed = {"table", "source", "rows_read", "rows_kept", "rows_set_aside", "reason"}
    if not needed <= set(quality.columns):  # not the loaders' table: shown as it is
        return quality
    rows = []
    for (name, origin), group in quality.groupby(["table", "source"], sort=False):
        reasons = []
        for record in group.itertuples(index=False):
            if str(record.reason) == "none":
                continue
            counts = [
                f"{int(n):,} row{'s' if int(n) != 1 else ''} {what}"
                for n, what in (
                    (record.rows_set_aside, "set aside"),
                    (getattr(record, "rows_flagged", 0), "flagged"),
                )
                if n
            ]
            reasons.append(f"{record.reason} ({', '.join(counts)})" if counts else record.reason)
        rows.append(
            {
                "table": name,
                "source": origin,
                "rows_read": int(group["rows_read"].max()),
                "rows_kept": int(group["rows_kept"].max()),
                "rows_set_aside": int(group["rows_set_aside"].sum()),
                "rows_flagged": int(group.get("rows_flagged", pd.Series(0)).sum()),
                "reasons": "; ".join(reasons) or "none",
            }
        )
    return pd.DataFrame(rows)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)
