"""Rendered pages open in a real browser: headless Chromium (Debian's ``chromium`` package).

``make test`` and ``.ci/run`` install Chromium when it is missing, so these tests never skip:
a machine without it fails here with the command that installs it.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cxlib.report import build_report
from tests.test_report import tiny_notebooks, write_client

CHROMIUM = "/usr/bin/chromium"
ERROR_MARKERS = (
    "Traceback (most recent call last)",
    'data-mime-type="application/vnd.jupyter.stderr"',
    "jp-OutputArea-error",
)


def chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium is missing: `apt-get update && apt-get install -y chromium` "
            "(make test installs it)"
        )
    return path


def screenshot(page: Path, png: Path, *, profile: Path) -> str:
    """Render ``page`` headless into ``png``; return the browser's console lines (errors)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,1600",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # Chromium logs page console messages (uncaught JS errors, failed loads) as ":CONSOLE".
    return "\n".join(line for line in done.stderr.splitlines() if ":CONSOLE" in line)


PAGE_WIDTH = 1280
#: What a reader must never see in a table cell: long float tails, scientific notation, the
#: missing-value and boolean reprs of pandas/Python, and in a header a snake_case name.
RAW_CELL = re.compile(
    r"\d\.\d{5,}"  # a long float tail
    r"|\b\d(?:\.\d+)?e[-+]\d+\b"  # scientific notation (1.2e-27)
    r"|\b(?:nan|NaN|None|True|False|NaT)\b|<NA>"
)
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")

# Run in the page after it loaded: every table's width against the page and the output area
# that holds it, and the text of its header and body cells.
_AUDIT_SCRIPT = """
<script>
window.addEventListener("load", () => {
  const text = (c) => c.innerText.replace(/\\s+/g, " ").trim();
  const tables = [...document.querySelectorAll("table")].map((t) => {
    const box = t.closest(".jp-OutputArea-output, .jp-RenderedHTMLCommon") || document.body;
    return {
      right: t.getBoundingClientRect().right,
      width: t.scrollWidth,
      room: box.clientWidth,
      headers: [...t.querySelectorAll("thead th")].map(text),
      cells: [...t.querySelectorAll("tbody th, tbody td")].map(text),
    };
  });
  const pre = document.createElement("pre");
  pre.id = "cxlib-audit";
  pre.textContent = JSON.stringify({page: document.documentElement.clientWidth, tables});
  document.body.appendChild(pre);
});
</script>
"""


def audit_tables(page: Path, *, profile: Path, width: int = PAGE_WIDTH) -> dict:
    """Render ``page`` headless at ``width`` px; return its tables' widths and cell texts.

    Returns ``{"page": <px>, "tables": [{"right", "width", "room", "headers", "cells"}]}``.
    """
    probe = page.with_name(f".audit-{page.name}")
    probe.write_text(page.read_text().replace("</body>", _AUDIT_SCRIPT + "</body>", 1))
    try:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={width},2000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    finally:
        probe.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="cxlib-audit">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, f"the audit script did not run on {page.name}: {done.stderr[-1000:]}"
    return json.loads(html_lib.unescape(found.group(1)))


def table_problems(audit: dict) -> list[str]:
    """What is wrong with an audited page's tables, one line per problem (empty: none)."""
    problems = []
    for number, table in enumerate(audit["tables"], start=1):
        limit = min(audit["page"], table["room"]) + 1
        if table["width"] > limit or table["right"] > audit["page"] + 1:
            problems.append(
                f"table {number} ({table['headers'][:3]}) is {table['width']} px wide, "
                f"room {table['room']} px"
            )
        raw = [c for c in table["headers"] + table["cells"] if RAW_CELL.search(c)]
        if raw:
            problems.append(f"table {number}: raw cells {raw[:5]} ({len(raw)} in all)")
        snake = [h for h in table["headers"] if SNAKE_CASE.search(h)]
        if snake:
            problems.append(f"table {number}: snake_case headers {snake[:5]}")
    return problems


def assert_screenshot_is_not_blank(png: Path) -> None:
    from matplotlib.image import imread

    assert png.is_file() and png.stat().st_size > 5_000
    pixels = imread(str(png))[..., :3]
    ink = (pixels < 0.9).any(axis=-1).mean()  # share of pixels that are not (near) white
    assert ink > 0.005, f"{png.name} looks blank ({ink:.2%} non-white pixels)"


def assert_page_has_no_errors(html: str) -> None:
    for marker in ERROR_MARKERS:
        assert marker not in html, f"error output on the page: {marker}"


def figures(html: str) -> int:
    return len(re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/]{100}', html))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    config = write_client(root)
    notebooks = tiny_notebooks(root / "notebooks", with_failure=False)
    run = build_report(config, out=root / "reports", notebooks_dir=notebooks, progress=False)
    assert run.ok, run.failures
    return root, run


@pytest.mark.parametrize("page", ["index.html", "html/01_good.html", "html/00_summary.html"])
def test_a_report_page_renders_in_headless_chromium_without_errors(rendered, page):
    root, run = rendered
    png = root / (page.replace("/", "_") + ".png")
    console = screenshot(run.run_dir / page, png, profile=root / "profile")
    assert console == "", console
    assert_screenshot_is_not_blank(png)
    assert_page_has_no_errors((run.run_dir / page).read_text())


def test_the_reviewer_page_shows_its_figure_as_an_embedded_png(rendered):
    _, run = rendered
    assert figures((run.run_dir / "html" / "01_good.html").read_text()) == 1


def test_every_link_of_the_index_points_to_a_file_of_the_run(rendered):
    _, run = rendered
    index = (run.run_dir / "index.html").read_text()
    links = re.findall(r'href="([^"#]+)"', index)
    assert links and all((run.run_dir / link).is_file() for link in links)


def test_the_table_audit_finds_wide_tables_and_raw_cells_and_passes_clean_ones(tmp_path):
    import pandas as pd

    from cxlib.report.present import table

    raw = pd.DataFrame({f"column_{i}": [0.123456789, None, True] for i in range(30)})
    clean = table(raw.head(1)[["column_0", "column_1"]])  # formatted: no raw cell
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><div class='jp-OutputArea-output'>"
        + raw.to_html()
        + clean.to_html()
        + "</div></body></html>"
    )
    audit = audit_tables(page, profile=tmp_path / "profile")
    assert audit["page"] == PAGE_WIDTH and len(audit["tables"]) == 2
    problems = table_problems(audit)
    assert any("table 1" in p and "px wide" in p for p in problems)
    assert any("table 1: raw cells" in p and "0.123457" in p for p in problems)  # pandas repr
    assert any("table 1: snake_case headers" in p for p in problems)
    assert not [p for p in problems if p.startswith("table 2")]


_TAGS = re.compile(r"<(div|p|span|table|tr|td|th|style|nav|a|li|ul|h[1-6]|strong|em|html)[\s>]")


def _html_in_python(path: Path) -> list[str]:
    """String literals of a module that write HTML (docstrings and regular expressions aside)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))  # a docstring: examples may show HTML
        if isinstance(node, ast.Call) and getattr(node.func, "value", None) is not None:
            if getattr(node.func.value, "id", None) == "re":  # a pattern that reads HTML
                skip.update(id(arg) for arg in node.args)
    return [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in skip and _TAGS.search(node.value)
    ]  # fmt: skip


def test_the_report_writes_its_html_from_templates_not_python_strings():
    package = Path(__file__).resolve().parents[1] / "cxlib"
    modules = [*package.glob("report/*.py"), *package.glob("plots/*.py"),
               *package.glob("segmentation/*.py")]  # fmt: skip
    found = [hit for module in modules for hit in _html_in_python(module)]
    assert found == []
    assert _html_in_python(Path(__file__))  # the check does see HTML: the page this file writes
