"""The report: pages run as notebooks, rendered to HTML and PDF, summarised and audited.

:func:`build_report` (in :mod:`cxlib.report.runner`) is what ``cxlib report`` calls; it runs
the pages the manifest lists (:mod:`~cxlib.report.pages`). The
notebooks reach the page helpers through this package: :mod:`~cxlib.report.present` (tables
and notes), :mod:`~cxlib.report.headlines` (the numbers a page records),
:mod:`~cxlib.report.cards` (segment cards), :mod:`~cxlib.report.actions` (ranked actions) and
:mod:`~cxlib.report.summary` (the executive summary); :mod:`~cxlib.report.audit` checks every
sentence of a run.
"""

from __future__ import annotations

from cxlib.report import (
    actions,
    audit,
    cards,
    headlines,
    pages,
    present,
    subscriber_actions,
    summary,
)
from cxlib.report.runner import (
    KERNEL_ENV,
    NotebookRun,
    OutputError,
    ReportRun,
    Terminated,
    build_report,
    default_notebooks_dir,
    describe_failure,
    discover_notebooks,
    export_html,
    make_run_id,
    notebook_parameters,
    print_report_pdf,
)

__all__ = [
    "KERNEL_ENV",
    "NotebookRun",
    "OutputError",
    "ReportRun",
    "Terminated",
    "actions",
    "audit",
    "build_report",
    "cards",
    "default_notebooks_dir",
    "describe_failure",
    "discover_notebooks",
    "export_html",
    "headlines",
    "make_run_id",
    "notebook_parameters",
    "pages",
    "present",
    "subscriber_actions",
    "print_report_pdf",
    "summary",
]
