"""The report index: rendered from a jinja2 template with autoescaping, styled like the pages."""

from __future__ import annotations

import html

import pandas as pd

from cxlib.report import NotebookRun
from cxlib.report.runner import _CSS, _index_html

HOSTILE = "<script>alert('x')</script>"


def _render(**changes):
    notebooks = [
        NotebookRun(
            name="01_value",
            title=f"Value {HOSTILE}",
            status="ok",
            seconds=2.5,
            outputs={"reviewer_html": "html/01_value.html", "full_html": "html/01_value.full.html"},
            warnings=2,
        ),
        NotebookRun(name="02_broken", title="Broken", status="failed", error=f"cell 3: {HOSTILE}"),
        NotebookRun(name="00_summary", title="Summary", status="ok", seconds=0.4),
    ]
    headlines = pd.DataFrame(
        [
            {
                "notebook": "01_value",
                "key": "total",
                "label": f"Total {HOSTILE}",
                "value": 1.5e6,
                "unit": "currency",
                "ci_low": 1.2e6,
                "ci_high": 1.8e6,
                "note": "A & B",
            },
            {
                "notebook": "01_value",
                "key": "best",
                "label": "Best segment",
                "value": "Loyal",
                "unit": "text",
                "ci_low": None,
                "ci_high": None,
                "note": "",
            },
        ]
    )
    quality = pd.DataFrame({"table": ["transactions"], "reason": [HOSTILE], "rows": [1234]})
    manifest = {
        "cxlib_version": "9.9",
        "finished_at": "2026-01-01T00:00:00+00:00",
        "seconds": 12.0,
        "config": {"path": "clients/<odd>.yaml", "sha256": "ab" * 32},
        "data_files": {"transactions": {"path": "data/t&x.csv", "sha256": "cd" * 32}},
    }
    arguments = dict(
        client=f"ACME {HOSTILE}",
        run_id="20260101T000000Z-abababab",
        status="failed",
        notebooks=notebooks,
        headlines=headlines,
        quality=quality,
        currency="EUR",
        manifest=manifest,
    )
    return _index_html(**{**arguments, **changes})


def test_every_value_from_the_run_is_escaped():
    page = _render()
    assert "<script>" not in page
    escaped = html.escape(HOSTILE)
    # client (title and heading), page title, error (row and banner), headline label, quality
    assert page.count("&lt;script&gt;") >= 6
    assert html.unescape(escaped) in html.unescape(page)
    assert "clients/&lt;odd&gt;.yaml" in page and "data/t&amp;x.csv" in page


def test_the_index_shows_pages_headlines_quality_and_files():
    page = _render()
    # The executive summary is listed first although it ran last.
    pages = page[page.index('id="pages"') : page.index('id="headlines"')]
    assert pages.index("00_summary") < pages.index("01_value") < pages.index("02_broken")
    assert '<a href="html/01_value.html">Reviewer page</a>' in page
    assert '<a href="html/01_value.full.html">With code</a>' in page
    assert "2 warning outputs, shown in the version with code" in page
    assert "EUR 1.50M" in page and "EUR 1.20M – EUR 1.80M" in page and "A &amp; B" in page
    assert "1,234" in page  # integer counts of the quality table get thousands separators
    assert "cdcdcdcdcdcdcdcd…" in page and "abababababababab…" in page
    assert 'class="status-failed">FAILED' in page


def test_the_index_shares_the_pages_styles():
    page = _render()
    style = page[page.index("<style>") : page.index("</style>")]
    assert _CSS.strip() in style  # navigation and contents box as on every page
    assert 'nav class="cxlib-toc"' in page


def test_empty_headlines_and_quality_say_so():
    empty = pd.DataFrame(
        columns=["notebook", "key", "label", "value", "unit", "ci_low", "ci_high", "note"]
    )
    page = _render(headlines=empty, quality=pd.DataFrame())
    assert "No headline numbers were recorded in this run." in page
    assert "The loaders set nothing aside." in page
