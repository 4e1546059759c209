"""Every notebook in ``notebooks/`` runs on the demo client: a broken notebook fails `make test`.

Why papermill in pytest and not nbval: nbval compares each cell's fresh output with the output
stored in the notebook, but our notebooks are committed without outputs (reports are outputs),
and their figures and tables change with any seeded model or plotting detail, so the comparison
would say nothing (``--nbval-lax`` only checks that cells run). Instead ONE ``cxlib report`` run
on the demo client executes every notebook exactly as a consultant would, with the client's
injected parameters, and the tests assert on its output: each notebook ran, its reviewer page has
no error output and has its figures, it recorded headline numbers, and the summary used them.
The run happens once per session (the tests share an xdist group), which keeps the suite fast.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from cxlib.report import build_report, discover_notebooks
from cxlib.report.runner import RUNNER_PARAMETERS, SUMMARY_NOTEBOOK
from cxlib.settings.config import AnalysisConfig, load_config
from tests.conftest import ROOT
from tests.test_html import (
    assert_page_has_no_errors,
    assert_screenshot_is_not_blank,
    audit_tables,
    figures,
    screenshot,
    table_problems,
)

pytestmark = pytest.mark.xdist_group("demo_report")

NOTEBOOKS = discover_notebooks(ROOT / "notebooks")
TOPICS = [p for p in NOTEBOOKS if p.stem != SUMMARY_NOTEBOOK]
ALLOWED_PARAMETERS = {*AnalysisConfig.model_fields, *RUNNER_PARAMETERS, "client", "currency"}


def _demo_config(tmp_path_factory):
    """clients/demo.yaml on data/demo, or on a demo written to tmp when `make demo` has not run."""
    config = ROOT / "clients" / "demo.yaml"
    if (ROOT / "data" / "demo" / ".complete").is_file():
        return config
    from cxlib.demo import make_demo

    data = tmp_path_factory.mktemp("demo_data")
    make_demo().write(data)
    copy = data / "demo.yaml"
    copy.write_text(config.read_text().replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return copy


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory):
    config = _demo_config(tmp_path_factory)
    out = tmp_path_factory.mktemp("reports")
    return build_report(config, out=out, progress=False)


def _run_of(report, notebook):
    return next(nb for nb in report.notebooks if nb.name == notebook.stem)


# --- the contract, checked without running anything ----------------------------------------


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_is_tagged_parameters_and_declares_only_known_settings(notebook):
    import papermill

    nb = nbformat.read(str(notebook), as_version=4)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    declared = set(papermill.inspect_notebook(str(notebook)))
    assert declared <= ALLOWED_PARAMETERS, f"unknown parameter(s) {declared - ALLOWED_PARAMETERS}"
    if notebook.stem != SUMMARY_NOTEBOOK:
        # every analysis setting comes from the client's YAML through cxlib.open_client
        assert declared == {"config_path", "headlines_path"}


@pytest.mark.parametrize("notebook", TOPICS, ids=lambda p: p.stem)
def test_the_topic_notebook_uses_the_report_theme_and_the_client_loader(notebook):
    code = "\n".join(
        cell.source
        for cell in nbformat.read(str(notebook), as_version=4).cells
        if cell.cell_type == "code"
    )
    assert "cxlib.plots.set_theme()" in code
    assert "cxlib.open_client(config_path)" in code
    assert "path=headlines_path" in code


# (at most 55 code lines and no def or class: tests/test_structure.py, with the other sizes)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_has_no_committed_outputs(notebook):
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, "clear outputs before committing"


# --- one report run on the demo client -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_on_the_demo_client(demo_report, notebook):
    run = _run_of(demo_report, notebook)
    assert run.status == "ok", run.failure_line


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_reviewer_page_has_no_errors_and_topic_pages_have_figures(demo_report, notebook):
    html = (demo_report.run_dir / "html" / f"{notebook.stem}.html").read_text()
    assert_page_has_no_errors(html)
    if notebook.stem != SUMMARY_NOTEBOOK:
        assert figures(html) >= 1


@pytest.mark.slow
def test_every_topic_notebook_records_headline_numbers(demo_report):
    assert TOPICS, "no topic notebooks (NN_<topic>.ipynb) in notebooks/"
    for notebook in TOPICS:
        file = demo_report.run_dir / "headlines" / f"{notebook.stem}.json"
        assert file.is_file(), f"{notebook.stem} did not call save_headlines(path=headlines_path)"
        assert json.loads(file.read_text()), f"{notebook.stem} recorded no headline numbers"


@pytest.mark.slow
def test_the_pages_agree_because_they_stand_on_one_customer_base(demo_report):
    # The numbers each page recorded equal what the run's one customer base gives: the runner
    # built it once, and every notebook read it from the cache.
    from cxlib import open_client
    from cxlib.nps import latest_answers

    manifest = json.loads((demo_report.run_dir / "manifest.json").read_text())
    recorded = {
        item["key"]: item["value"]
        for file in sorted((demo_report.run_dir / "headlines").glob("*.json"))
        for item in json.loads(file.read_text())
    }
    client = open_client(manifest["config"]["path"])
    base = client.base
    assert client.timings.get("base") == 0.0, "the base was rebuilt, not read from the run's cache"
    assert recorded["total_clv"] == pytest.approx(base["clv"].sum(), rel=1e-12)
    champions = base.loc[base["segment"] == "Champions", "revenue"].sum() / base["revenue"].sum()
    assert recorded["champions_revenue_share"] == pytest.approx(champions, rel=1e-12)
    latest = latest_answers(client.surveys, observation_end=base.attrs["observation_end"])
    overall = cxlib_nps(latest["score"], client.analysis)
    assert recorded["nps"] == pytest.approx(overall, abs=1e-9)
    assert manifest["steps"]["error"] is None
    assert {"tables", "value_fit", "base"} <= set(manifest["steps"]["per_step"])


def cxlib_nps(scores, settings):
    from cxlib.nps import nps

    return nps(
        scores, promoter_min=settings.promoter_min, detractor_max=settings.detractor_max
    ).score


@pytest.mark.slow
def test_the_summary_is_built_from_the_recorded_numbers(demo_report):
    html = (demo_report.run_dir / "html" / f"{SUMMARY_NOTEBOOK}.html").read_text()
    assert "No headline numbers were found" not in html
    assert "Where to invest" in html


@pytest.mark.slow
def test_the_demo_index_renders_in_headless_chromium(demo_report, tmp_path):
    index = demo_report.run_dir / "index.html"
    console = screenshot(index, tmp_path / "index.png", profile=tmp_path / "profile")
    assert console == "", console
    assert_screenshot_is_not_blank(tmp_path / "index.png")
    assert demo_report.ok, demo_report.failures


@pytest.mark.slow
def test_the_demo_passes_the_audit_of_every_sentence_with_no_finding(demo_report):
    from cxlib.report.audit import RULES, audit_run

    manifest = json.loads((demo_report.run_dir / "manifest.json").read_text())
    assert manifest["audit"]["findings"] == []
    assert set(manifest["audit"]["rules"]) == set(RULES)
    assert audit_run(demo_report.run_dir) == []  # the finished folder, read again
    index = (demo_report.run_dir / "index.html").read_text()
    assert f"passed the {len(RULES)} rules of" in " ".join(index.split())


def test_the_demo_ranks_three_actions_on_one_basis_each_equal_to_its_page(demo_report):
    from cxlib.report.headlines import format_value

    run_dir = demo_report.run_dir
    actions = json.loads((run_dir / "actions.json").read_text())
    assert len(actions) >= 3
    assert {a["basis"] for a in actions} == {"annual gross margin net of campaign cost"}
    values = [a["value"] for a in actions]
    assert values == sorted(values, reverse=True)
    summary = (run_dir / "html" / f"{SUMMARY_NOTEBOOK}.html").read_text()
    for action in actions:
        assert action["value_low"] < action["value"] < action["value_high"], action
        assert action["customers"] > 0 and action["kpi"] and action["segment"]
        shown = format_value(action["value"], "currency", currency="EUR")
        page = (run_dir / "html" / f"{action['page']}.html").read_text()
        assert shown in summary and shown in page, (shown, action["page"])
        assert f'href="{action["page"]}.html"' in summary  # the page that backs it


@pytest.mark.slow
def test_no_reviewer_table_is_wider_than_the_page_or_shows_a_raw_cell(demo_report, tmp_path):
    """Headless Chromium at 1280 px over every reviewer page (and the index)."""
    run_dir = demo_report.run_dir
    pages = [run_dir / "index.html"] + [
        p for p in sorted((run_dir / "html").glob("*.html")) if not p.name.endswith(".full.html")
    ]
    problems, tables = {}, 0
    for page in pages:
        audit = audit_tables(page, profile=tmp_path / "profile")
        tables += len(audit["tables"])
        if found := table_problems(audit):
            problems[page.name] = found
    assert not problems, problems
    assert tables >= 40  # the audit saw the pages' tables: a page without tables proves nothing


@pytest.mark.slow
def test_the_segment_cards_show_the_topic_pages_numbers(demo_report):
    from cxlib.report.cards import load_segment_facts, segment_cards
    from cxlib.report.present import format_cell

    run_dir = demo_report.run_dir
    facts = load_segment_facts(run_dir / "headlines")
    assert {"profiles", "risk", "wallet", "complaints"} <= set(facts)
    analysis = load_config(ROOT / "clients" / "demo.yaml").analysis  # its margin and costs
    cards = segment_cards(
        **facts,
        margin=analysis.margin,
        contact_cost=analysis.retention_contact_cost,
        incentive=analysis.retention_incentive,
    )
    html = {name: (run_dir / "html" / f"{name}.html").read_text() for name in
            (SUMMARY_NOTEBOOK, "01_segmentation", "02_churn")}  # fmt: skip
    checked = 0
    for card in cards.itertuples():
        for value, unit, page in [
            (card.customers, "count", "01_segmentation"),
            (card.revenue, "currency", "01_segmentation"),
            (card.revenue_12m, "currency", "01_segmentation"),  # the trend's, on its table
            (card.revenue_at_risk, "currency", "02_churn"),
            (card.headroom, "currency", "01_segmentation"),
        ]:
            if value == value:  # not NaN: the card shows the page's number
                cell = format_cell(value, unit)
                assert f">{cell}<" in html[SUMMARY_NOTEBOOK] and f">{cell}<" in html[page], cell
                checked += 1
        if card.play == card.play:  # a play is shown only when it pays for its cost
            assert card.play_value > 0 and card.play_low <= card.play_value <= card.play_high
        else:
            assert card.play_value != card.play_value  # no play, no money
    assert checked >= 4 * len(cards)
    assert cards["play"].notna().any()


@pytest.mark.slow
def test_the_demo_pdf_opens_with_the_summary_first_and_every_page(demo_report):
    import pypdf

    manifest = json.loads((demo_report.run_dir / "manifest.json").read_text())
    reader = pypdf.PdfReader(str(demo_report.run_dir / manifest["pdf"]))
    rendered = [nb for nb in demo_report.notebooks if nb.outputs.get("reviewer_html")]
    topics = [nb.title for nb in rendered if nb.name != SUMMARY_NOTEBOOK]
    assert [item.title for item in reader.outline] == ["Executive summary", *topics]
    assert len(reader.pages) >= len(rendered)
    assert "Executive summary" in reader.pages[0].extract_text()


@pytest.mark.slow
def test_a_hand_run_through_the_cxlib_kernel_reproduces_the_reports_numbers(demo_report, tmp_path):
    # What a data scientist does in `make lab`: open a notebook with the project's kernel, point
    # its one parameter at the client's YAML and run it. Its headline numbers equal the report's.
    import subprocess
    import sys

    import papermill

    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "cxlib"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    manifest = json.loads((demo_report.run_dir / "manifest.json").read_text())
    hand = tmp_path / "04_clv.json"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "04_clv.ipynb"),
        str(tmp_path / "04_clv.ipynb"),
        kernel_name="cxlib",
        parameters={"config_path": manifest["config"]["path"], "headlines_path": str(hand)},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    report = json.loads((demo_report.run_dir / "headlines" / "04_clv.json").read_text())
    assert json.loads(hand.read_text()) == report
