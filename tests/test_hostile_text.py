"""Text that cannot lie (issue 27): a client's strings on a page, in a table, in a figure.

A right-to-left override in a category must not reverse the number beside it ("groceries
19%" read as "%91 seirecorg"), a NUL byte must not reach the HTML, and a name of thousands of
characters must neither break a figure nor widen a page: it is shortened with "…" where it is
shown, and kept whole in the data and the exports. Headless Chromium reads the rendered text
back in the order a reader sees it.
"""

from __future__ import annotations

import html as html_lib
import io
import json
import re
import subprocess
from pathlib import Path

import matplotlib
import nbformat
import pandas as pd
import pytest

from cxlib.report.html import export_html
from cxlib.report.present import note, table
from cxlib.settings import escape as _html
from tests.test_html import chromium

matplotlib.use("Agg")

RLO, RLI, PDI = "\u202e", "\u2067", "\u2069"
BIDI_OR_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The same, but the HTML's own line breaks.
IN_HTML = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

#: Categories a hostile export may hold, each shown beside its share of 19%.
HOSTILE = {
    "override_after": f"groceries{RLO}",
    "override_before": f"{RLO}groceries",
    "isolate_unclosed": f"{RLI}groceries",
    "nul_and_escape": "groc\x00eries\x1b",
}


# ---- the one function


def test_safe_text_removes_controls_and_bidi_and_shortens():
    assert _html.safe_text(f"{RLO}grocer\x00ies\t\n{PDI}") == "groceries "
    assert _html.safe_text("x" * 500, limit=40) == "x" * 39 + "…"
    assert _html.escape_html("a\x00<b>") == "a&lt;b&gt;"


# ---- tables


def test_table_cells_are_clean_isolated_and_short():
    long_name = "segment " + "y" * 3_000
    frame = pd.DataFrame(
        {"category": [*HOSTILE.values(), long_name], "share": [0.19] * (len(HOSTILE) + 1)}
    )
    shown = table(frame, {"share": "percent"})
    cells = shown.cells["Category"].tolist()
    assert cells[:4] == ["Groceries"] * 4  # a code-like name reads as a label
    assert len(cells[4]) == _html.MAX_TEXT_CHARS and cells[4].endswith("…")
    page = shown.to_html()
    assert not IN_HTML.search(page)
    assert "<bdi>Groceries</bdi>" in page
    assert "y" * 300 not in page
    assert len(frame.loc[4, "category"]) == 3_008  # the data keep the name whole


def test_a_long_unbroken_name_in_a_sentence_is_shortened_and_escaped():
    markdown = note(f"{'x' * 3_000}: 1,200 customers, {RLO}groceries 19%").data
    assert "x" * 300 not in markdown and "x" * 199 + "…" in markdown
    assert markdown.endswith("groceries 19%")


# ---- figures


def test_a_long_hostile_category_leaves_the_cluster_figure_small(tmp_path):
    from cxlib import plots

    name = "category_" + "z" * 10_000
    standardised = pd.DataFrame(
        {name: [1.0, -1.0], f"category_{RLO}groceries": [0.5, 0.2], "channel_$5 $deals": [0, 1]},
        index=[f"cluster {RLO}a", "cluster b" + "q" * 500],
    )
    ax = plots.plot_cluster_profiles(standardised)
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert all(len(label) <= _html.MAX_LABEL_CHARS + 1 for label in labels), labels
    assert not any(BIDI_OR_CONTROL.search(label) for label in labels)
    assert "cat: groceries" in labels and r"via: \$5 \$deals" in labels
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", bbox_inches="tight")  # the report's export
    width, height = _png_size(buffer.getvalue())
    assert width < 3_000 and height < 3_000, (width, height)
    matplotlib.pyplot.close(ax.figure)


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# ---- in the browser

# Reads each probed element's characters in the order they appear on screen (by their boxes,
# line by line, left to right): what a reader reads, after the browser's bidi reordering.
_READER = """
<script>
window.addEventListener("load", () => {
  const visual = (el) => {
    const chars = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const box = range.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        chars.push({x: box.left + box.width / 2, y: Math.round(box.top / 8), c: node.data[i]});
      }
    }
    chars.sort((a, b) => (a.y - b.y) || (a.x - b.x));
    return chars.map((c) => c.c).join("");
  };
  const probes = [...document.querySelectorAll("p, tr")]
    .filter((e) => /19|PROBE/.test(e.textContent))
    .map((e) => ({text: e.textContent, visual: visual(e), width: e.scrollWidth}));
  const pre = document.createElement("pre");
  pre.id = "cxlib-reader";
  pre.textContent = JSON.stringify({page: document.documentElement.scrollWidth, probes});
  document.body.appendChild(pre);
});
</script>
"""


def read_in_chromium(page: Path, profile: Path) -> dict:
    probe = page.with_name("probe-" + page.name)
    probe.write_text(page.read_text().replace("</body>", _READER + "</body>", 1))
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1280,2000", "--virtual-time-budget=5000",
        "--dump-dom", probe.resolve().as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="cxlib-reader">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, done.stderr[-1000:]
    return json.loads(html_lib.unescape(found.group(1)))


def hostile_page(folder: Path) -> Path:
    """A report page (the report's own HTML export) showing hostile names beside numbers."""
    outputs = []
    for name in (*HOSTILE.values(), "מכולת"):  # and a right-to-left name without controls
        outputs.append(note(f"{name} 19%"))
    frame = pd.DataFrame({"category": [*HOSTILE.values(), "מכולת"], "share": [0.19] * 5})
    experiment = "PROBE" + "w" * 3_000
    cells = [
        nbformat.v4.new_code_cell(
            "",
            outputs=[
                nbformat.v4.new_output("display_data", data={"text/markdown": o.data})
                for o in outputs
            ],
        ),
        nbformat.v4.new_code_cell(
            "",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"text/html": table(frame, {"share": "percent"}).to_html()}
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", data={"text/markdown": note(f"{experiment}: 12 customers").data}
                )
            ],
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Probe"), *cells])
    return export_html(notebook, folder / "probe.html", reviewer=True, index_href=None)


@pytest.mark.slow
def test_numbers_beside_hostile_names_read_as_written_in_chromium(tmp_path):
    page = hostile_page(tmp_path)
    source = page.read_text(encoding="utf-8")
    assert "\x00" not in source and RLO not in source and RLI not in source
    read = read_in_chromium(page, tmp_path / "profile")
    sentences = [p["visual"] for p in read["probes"] if "19%" in p["text"]]
    rows = [p["visual"] for p in read["probes"] if "19.0%" in p["text"]]
    assert len(sentences) == 5 and len(rows) == 5, read["probes"]
    for visual in sentences[:4] + rows[:4]:
        assert re.sub(r"\s+", " ", visual).strip() in ("groceries 19%", "Groceries19.0%"), visual
    # the right-to-left name reads first and the number after it, in the sentence and the row
    hebrew = sentences[4].strip()
    assert hebrew.endswith("19%") and set(hebrew[:5]) == set("מכולת"), hebrew
    assert rows[4].strip().endswith("19.0%")
    # the 3,000-character name is shortened, and no block is wider than the page
    (name,) = [p for p in read["probes"] if "PROBE" in p["text"]]
    assert len(name["text"]) < 300 and "…" in name["text"]
    assert read["page"] <= 1280, read["page"]


# ---- a whole report


@pytest.mark.slow
def test_a_huge_category_and_experiment_name_build_their_pages(tmp_path):
    """A 10,000-character category builds page 01; a 3,000-character experiment name is
    shortened on page 05 and kept whole in the exports."""
    from cxlib.demo import make_demo
    from cxlib.report import build_report

    demo = make_demo(n_customers=800, seed=3)
    category = "groceries " + "g" * 10_000
    experiment = "autumn coupon " + "e" * 3_000
    data = tmp_path / "data"
    data.mkdir()
    tx = demo.transactions.copy()
    tx["category"] = tx["category"].replace({"groceries": category})
    tx.to_csv(data / "transactions.csv", index=False, date_format="%Y-%m-%d")
    assignments = demo.experiments.copy()
    assignments["experiment"] = experiment
    assignments.to_csv(data / "experiments.csv", index=False, date_format="%Y-%m-%d")
    config = tmp_path / "long.yaml"
    config.write_text(
        "client: long-names\ndata_dir: data\ntables:\n"
        "  transactions: {path: transactions.csv}\n  experiments: {path: experiments.csv}\n"
        "analysis: {seed: 1, observation_end: 2025-12-31}\n",
        encoding="utf-8",
    )
    run = build_report(config, out=tmp_path / "reports", only=["01", "05"], progress=False)
    assert run.ok, run.failures
    pages = {p.name: p.read_text(encoding="utf-8") for p in (run.run_dir / "html").glob("*.html")}
    segmentation, experiments = pages["01_segmentation.html"], pages["05_experiments.html"]
    assert "g" * 1_000 not in segmentation and "groceries " + "g" * 20 in segmentation
    assert "e" * 1_000 not in experiments and "autumn coupon " + "e" * 20 in experiments
    exports = (run.run_dir / "actions.json").read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8") for p in (run.run_dir / "headlines").rglob("*") if p.is_file()
    )
    assert experiment in exports  # whole in the exports
