"""The report runner on tiny notebooks and a tiny client written into tmp_path.

The helpers at the top (``write_client``, ``write_notebook``, ``tiny_notebooks``) are reused by
``test_cli.py`` and ``test_html.py``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError

import cxlib
from cxlib import DataError
from cxlib.report import (
    build_report,
    describe_failure,
    discover_notebooks,
    export_html,
    make_run_id,
    notebook_parameters,
)
from cxlib.settings.config import file_sha256

TRANSACTIONS = (
    "customer_id,date,amount\nc1,2024-01-05,10.0\nc2,2024-02-07,25.5\nc1,2024-03-01,7.25\n"
)


def write_client(directory: Path, *, amount_column: str = "amount") -> Path:
    """A one-table client (3 transactions) and its YAML config; returns the config path."""
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "transactions.csv").write_text(TRANSACTIONS, encoding="utf-8")
    config = directory / "tiny.yaml"
    config.write_text(
        "client: tiny\ncurrency: EUR\ndata_dir: data\ntables:\n  transactions:\n"
        "    path: transactions.csv\n"
        f"    columns: {{customer_id: customer_id, date: date, amount: {amount_column}}}\n"
        '    date_format: "%Y-%m-%d"\n'
        "analysis:\n  horizon_months: 6\n",
        encoding="utf-8",
    )
    return config


def write_notebook(path: Path, cells: list[tuple[str, str]], *, parameters: str | None) -> Path:
    """Write a notebook: a title, an optional `parameters` cell, then (kind, source) cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    out = [nbformat.v4.new_markdown_cell(f"# {path.stem.title()}\n\nWhat this page shows.")]
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        out.append(cell)
    for kind, source in cells:
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        out.append(make(source))
    nb.cells = out
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


GOOD_PARAMETERS = 'config_path = "x"\nheadlines_path = None\nhorizon_months = 12\nseed = 0'
GOOD_CELLS = [
    ("md", "## Revenue by month\n\nA figure a reviewer should see."),
    (
        "code",
        "import matplotlib.pyplot as plt\nimport cxlib\ncxlib.plots.set_theme()\n"
        "client = cxlib.run.loading.load_client(config_path)\n"
        "fig, ax = plt.subplots()\nax.plot([1, 2, 3], [3, 1, 2]);",
    ),
    ("md", "## Numbers"),
    ("code", "import warnings\nwarnings.warn('a degraded result', UserWarning)\nSECRET_CODE = 42"),
    (
        "code",
        "from cxlib.report.headlines import Headline, save_headlines\n"
        "recorded = save_headlines('01_good', [\n"
        "    Headline('total_value', 'Total value', 1.5e6, unit='currency', ci_low=1.2e6,"
        " ci_high=1.8e6),\n"
        "    Headline('months', 'Horizon', horizon_months, unit='count'),\n"
        "], path=headlines_path)",
    ),
    (
        "code",
        "from cxlib.report.actions import Action, save_actions\n"
        "ranked = save_actions('01_good', [\n"
        "    Action('Call <b>VIPs</b>', 'VIP', 40, 2e4, 1e4, 3e4, kpi='churn of VIPs'),\n"
        "    Action('Fix delivery', 'all', 90, 5e4, 1e4, 9e4, kpi='complaints'),\n"
        "], path=headlines_path)",
    ),
]
BAD_CELLS = [
    ("code", "x = 1"),
    ("md", "## Boom"),
    ("code", "raise KeyError('segment')"),
    ("code", "y = 2"),
]


def tiny_notebooks(directory: Path, *, with_failure: bool = True) -> Path:
    """01_good (figure, warning, headlines), 02_bad (raises in cell 5), and the real summary."""
    write_notebook(directory / "01_good.ipynb", GOOD_CELLS, parameters=GOOD_PARAMETERS)
    if with_failure:
        write_notebook(
            directory / "02_bad.ipynb",
            BAD_CELLS,
            parameters='config_path = "x"\nheadlines_path = None',
        )
    summary = nbformat.read(str(cxlib.report.default_notebooks_dir() / "00_summary.ipynb"), 4)
    nbformat.write(summary, str(directory / "00_summary.ipynb"))
    return directory


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    config = write_client(root)
    notebooks = tiny_notebooks(root / "notebooks")
    run = build_report(config, out=root / "reports", notebooks_dir=notebooks, progress=False)
    return root, config, run


# --- discovery and parameters -----------------------------------------------------------------


def test_discover_notebooks_lists_topics_in_order_and_the_summary_last(tmp_path):
    for name in ("02_churn", "00_summary", "01_segmentation", "notes", "1_bad"):
        write_notebook(tmp_path / f"{name}.ipynb", [], parameters=None)
    names = [p.stem for p in discover_notebooks(tmp_path)]
    assert names == ["01_segmentation", "02_churn", "00_summary"]


def test_discover_notebooks_keeps_only_the_named_ones_by_name_or_number(tmp_path):
    for name in ("01_segmentation", "02_churn", "00_summary"):
        write_notebook(tmp_path / f"{name}.ipynb", [], parameters=None)
    names = [p.stem for p in discover_notebooks(tmp_path, only=["02", "00_summary.ipynb"])]
    assert names == ["02_churn", "00_summary"]


def test_discover_notebooks_rejects_a_name_that_matches_no_notebook(tmp_path):
    write_notebook(tmp_path / "01_segmentation.ipynb", [], parameters=None)
    with pytest.raises(ValueError, match=r"must be names of notebooks .*Got \['03_nps'\] instead"):
        discover_notebooks(tmp_path, only=["03_nps"])


def test_discover_notebooks_finds_the_repository_notebooks_whatever_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "00_summary" in [p.stem for p in discover_notebooks()]


def test_notebook_parameters_injects_only_what_the_notebook_declares(tmp_path):
    nb = write_notebook(
        tmp_path / "01_x.ipynb",
        [],
        parameters='config_path = "x"\nhorizon_months = 12\nhorizon_mnths = 3',
    )
    values, unknown = notebook_parameters(
        nb, {"config_path": "/c.yaml", "horizon_months": 6, "freq": "W"}
    )
    assert values == {"config_path": "/c.yaml", "horizon_months": 6}
    assert unknown == ["horizon_mnths"]


def test_make_run_id_is_a_utc_timestamp_and_the_short_config_hash():
    import datetime as dt

    when = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert make_run_id("0123456789abcdef", now=when) == "20260304T030607Z-01234567"


def test_describe_failure_names_the_source_cell_the_error_type_and_message_in_one_line():
    exc = PapermillExecutionError(
        cell_index=5,
        exec_count=3,
        source="raise KeyError",
        ename="KeyError",
        evalue="'segment'\nsecond line",
        traceback=["..."],
    )
    line, cell = describe_failure(exc, injected_index=2)
    assert line == "cell 5 (In [3]): KeyError: 'segment' second line"
    assert cell == 5


def test_describe_failure_of_another_exception_gives_its_type_and_message():
    line, cell = describe_failure(RuntimeError("Kernel died\nbefore replying"))
    assert (line, cell) == ("RuntimeError: Kernel died before replying", None)


# --- a whole run -------------------------------------------------------------------------------


def test_a_failed_notebook_is_reported_in_one_line_and_the_others_still_run(tiny_run):
    _, _, run = tiny_run
    statuses = {nb.name: nb.status for nb in run.notebooks}
    assert statuses == {"01_good": "ok", "02_bad": "failed", "00_summary": "ok"}
    assert run.status == "failed" and not run.ok
    # 02_bad: title (1), parameters (2), x = 1 (3), markdown (4), raise (5); In [4] counts
    # the injected-parameters cell, as the version with code shows it.
    assert run.failures == ["02_bad: cell 5 (In [4]): KeyError: 'segment'"]


def test_a_run_is_written_under_client_and_run_id_and_not_left_partial(tiny_run):
    root, _, run = tiny_run
    assert run.run_dir.parent == (root / "reports" / "tiny").resolve()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", run.run_dir.name)
    assert not list(run.run_dir.parent.glob("*.partial"))
    for name in ("01_good", "02_bad", "00_summary"):
        assert (run.run_dir / "notebooks" / f"{name}.ipynb").is_file()
        assert (run.run_dir / "html" / f"{name}.html").is_file()
        assert (run.run_dir / "html" / f"{name}.full.html").is_file()


def test_the_manifest_records_version_hashes_parameters_timings_and_status(tiny_run):
    root, config, run = tiny_run
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["cxlib_version"] == cxlib.__version__
    assert len(manifest["source"]["git_commit"]) == 40
    assert manifest["status"] == "failed"
    assert manifest["config"]["sha256"] == file_sha256(config)
    assert run.run_id.endswith(manifest["config"]["sha256"][:8])
    data_file = root / "data" / "transactions.csv"
    assert manifest["data_files"]["transactions"]["sha256"] == file_sha256(data_file)
    good = next(nb for nb in manifest["notebooks"] if nb["name"] == "01_good")
    assert good["parameters"]["horizon_months"] == 6  # from the config, not the notebook default
    assert good["parameters"]["config_path"] == str(config.resolve())
    assert set(good["parameters"]) == {"config_path", "headlines_path", "horizon_months", "seed"}
    assert good["seconds"] > 0 and good["status"] == "ok"
    bad = next(nb for nb in manifest["notebooks"] if nb["name"] == "02_bad")
    assert bad["status"] == "failed" and bad["cell"] == 5


def test_the_run_is_audited_and_the_manifest_and_the_index_say_what_was_found(tiny_run):
    from cxlib.report.audit import RULES, audit_run

    _, _, run = tiny_run
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    # what the audit checks the pages against: the dates the data cover, the loaders' counts
    assert manifest["coverage"]["transactions"] == {
        "first": "2024-01-05",
        "last": "2024-03-01",
        "rows": 3,
    }
    assert manifest["quality"][0]["table"] == "transactions"
    assert manifest["quality"][0]["rows_read"] == 3
    assert set(manifest["audit"]["rules"]) == set(RULES)
    assert manifest["audit"]["findings"] == []
    # `cxlib audit` on the finished folder reads the same pages
    assert audit_run(run.run_dir) == []
    index = (run.run_dir / "index.html").read_text()
    assert '<section id="audit" data-audit="skip">' in index


def test_the_notebook_gets_the_client_parameters_and_records_headlines(tiny_run):
    _, _, run = tiny_run
    recorded = json.loads((run.run_dir / "headlines" / "01_good.json").read_text())
    assert {row["key"]: row["value"] for row in recorded} == {"total_value": 1.5e6, "months": 6}


def test_the_index_links_every_page_shows_headlines_quality_and_marks_the_failure(tiny_run):
    _, _, run = tiny_run
    index = (run.run_dir / "index.html").read_text()
    for name in ("01_good", "02_bad", "00_summary"):
        assert f'href="html/{name}.html"' in index
        assert f'href="html/{name}.full.html"' in index
    assert "EUR 1.50M" in index and "EUR 1.20M – EUR 1.80M" in index
    assert "Data quality" in index and "transactions.csv" in index
    assert "FAILED" in index and "cell 5 (In [4]): KeyError: 'segment'" in html.unescape(index)


def test_the_reviewer_page_hides_code_warnings_and_parameters_but_keeps_figures(tiny_run):
    _, _, run = tiny_run
    reviewer = (run.run_dir / "html" / "01_good.html").read_text()
    full = (run.run_dir / "html" / "01_good.full.html").read_text()
    assert "SECRET_CODE" not in reviewer and "SECRET_CODE" in full
    assert "a degraded result" not in reviewer and "a degraded result" in full
    assert "injected-parameters" not in reviewer
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', reviewer)) == 1
    assert 'href="#Revenue-by-month"' in reviewer  # table of contents
    assert "<script src=" not in reviewer  # opens offline: no CDN scripts


def test_the_summary_notebook_lists_the_recorded_numbers_and_names_missing_topics(tiny_run):
    _, _, run = tiny_run
    page = (run.run_dir / "html" / "00_summary.html").read_text()
    assert "Where to invest" in page
    assert "EUR 1.50M" in page
    assert "02_churn" in page  # a default topic without numbers is named, not hidden


def test_an_invalid_data_file_fails_before_any_output_is_written(tmp_path):
    config = write_client(tmp_path, amount_column="amount_eur")
    notebooks = tiny_notebooks(tmp_path / "notebooks", with_failure=False)
    with pytest.raises(DataError, match=r"transactions\.csv.*amount_eur"):
        build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    assert not (tmp_path / "reports").exists()


def test_ctrl_c_leaves_a_run_marked_interrupted_never_one_that_looks_complete(
    tmp_path, monkeypatch
):
    config = write_client(tmp_path)
    notebooks = tiny_notebooks(tmp_path / "notebooks", with_failure=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cxlib.report.runner, "_execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    runs = [p for p in (tmp_path / "reports" / "tiny").iterdir() if p.is_dir()]
    assert len(runs) == 1 and runs[0].name.endswith(".interrupted")
    assert (runs[0] / "INTERRUPTED").is_file() and not (runs[0] / "index.html").exists()
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert {nb["status"] for nb in manifest["notebooks"]} == {"interrupted"}


def test_a_new_run_never_reuses_the_name_of_an_earlier_run(tmp_path, monkeypatch):
    config = write_client(tmp_path)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_quick.ipynb", [("code", "1 + 1")], parameters="seed = 0")
    monkeypatch.setattr(
        cxlib.report.runner, "make_run_id", lambda digest, now=None: "20260101T000000Z-x"
    )
    first = build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    second = build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    assert first.run_dir.name == "20260101T000000Z-x"
    assert second.run_dir.name == "20260101T000000Z-x-2"
    assert first.ok and second.ok and (first.run_dir / "index.html").is_file()


def test_progress_prints_one_line_per_notebook(tmp_path):
    from rich.console import Console

    config = write_client(tmp_path)
    notebooks = tmp_path / "notebooks"
    write_notebook(
        notebooks / "01_quick.ipynb", [("code", "1 + 1"), ("code", "2")], parameters="seed = 0"
    )
    console = Console(file=(buffer := __import__("io").StringIO()), width=120)
    run = build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, console=console)
    assert run.ok
    assert re.search(r"ok 01_quick \(\d+\.\d s\)", buffer.getvalue())


def test_export_html_writes_a_reviewer_page_without_a_table_of_contents_when_no_headings(tmp_path):
    nb = write_notebook(tmp_path / "01_plain.ipynb", [("code", "print('hello')")], parameters=None)
    executed = nbformat.read(str(nb), 4)
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    page = export_html(executed, tmp_path / "p.html", reviewer=True).read_text()
    full = export_html(executed, tmp_path / "f.html", reviewer=False).read_text()
    assert "hello" in page and '<nav class="cxlib-toc"' not in page
    assert 'class="highlight' not in page and 'class="highlight' in full


def test_each_finished_cell_is_reported_for_the_progress_bar(tmp_path):
    from cxlib.report.runner import _execute

    nb = write_notebook(
        tmp_path / "01_cells.ipynb", [("code", "a = 1"), ("code", "a + 1")], parameters="seed = 0"
    )
    seen = []
    _execute(
        nb,
        tmp_path / "out.ipynb",
        {"seed": 3},
        cwd=tmp_path,
        on_cell=lambda done, total: seen.append((done, total)),
        execution_timeout=60,
    )
    # title, parameters, injected parameters, two code cells
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


# --- actions, PDF and page titles -------------------------------------------------------------


def test_the_run_writes_the_pages_actions_ranked_by_value_to_actions_json(tiny_run):
    _, _, run = tiny_run
    actions = json.loads((run.run_dir / "actions.json").read_text())
    assert [a["action"] for a in actions] == ["Fix delivery", "Call <b>VIPs</b>"]
    assert set(actions[0]) == {
        "action",
        "segment",
        "customers",
        "value",
        "value_low",
        "value_high",
        "basis",
        "kpi",
        "page",
    }
    assert {a["basis"] for a in actions} == {"annual gross margin net of campaign cost"}
    assert actions[0]["page"] == "01_good" and actions[0]["customers"] == 90
    summary = (run.run_dir / "html" / "00_summary.html").read_text()
    assert "Fix delivery" in summary and "<b>VIPs</b>" not in summary  # escaped client text
    assert summary.index("Fix delivery") < summary.index("VIPs")
    assert "Glossary of methods" in summary


def test_each_page_is_titled_after_its_topic_and_client(tiny_run):
    _, _, run = tiny_run
    for name, title in (("00_summary", "Executive summary"), ("01_good", "01_Good")):
        for page in (f"{name}.html", f"{name}.full.html"):
            text = (run.run_dir / "html" / page).read_text()
            assert f"<title>{title} — tiny</title>" in text, page


def test_the_report_pdf_has_the_summary_first_and_every_page(tiny_run):
    import pypdf

    _, _, run = tiny_run
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["pdf"] == "report.pdf"
    reader = pypdf.PdfReader(str(run.run_dir / "report.pdf"))
    titles = [item.title for item in reader.outline]
    assert titles == ["Executive summary", "01_Good", "02_Bad"]
    assert len(reader.pages) >= 3
    assert "Executive summary" in reader.pages[0].extract_text()
    index = (run.run_dir / "index.html").read_text()
    assert '<a href="report.pdf">' in index and '<a href="actions.json">' in index


def test_without_chromium_the_run_says_so_in_one_line_and_records_no_pdf(
    tiny_run, monkeypatch, tmp_path
):
    import io

    from rich.console import Console

    from cxlib.report import pdf as _pdf
    from cxlib.report import print_report_pdf

    _, _, run = tiny_run
    out = io.StringIO()
    monkeypatch.setattr(_pdf, "find_chromium", lambda: None)
    assert print_report_pdf(tmp_path, run.notebooks, console=Console(file=out)) is None
    assert out.getvalue().count("\n") == 1 and "Chromium not found" in out.getvalue()
    monkeypatch.setattr(_pdf, "find_chromium", lambda: "/bin/false")  # a browser that fails
    shutil.copytree(run.run_dir / "html", tmp_path / "html")
    assert print_report_pdf(tmp_path, run.notebooks, console=Console(file=out)) is None
    assert "printing failed" in out.getvalue()
    assert not (tmp_path / "report.pdf").exists()


def test_a_page_the_data_cannot_serve_is_skipped_with_the_fact_and_the_setting_that_changes_it():
    from types import SimpleNamespace

    import pandas as pd

    from cxlib.report.pages import page
    from cxlib.report.pages import skip_reason as _skip_reason
    from cxlib.report.pages import unmet as _unmet
    from cxlib.settings.config import AnalysisConfig

    def client(dates, repeat, **settings):
        tx = pd.DataFrame({"date": pd.to_datetime(dates)})
        return SimpleNamespace(
            transactions=tx, contracts=None, repeat_purchases=repeat,
            analysis=AnalysisConfig(**settings),
        )  # fmt: skip

    # what the manifest says the churn, CLV and segmentation pages require
    churn_page, clv_page, segments = (
        page(name).requires for name in ("02_churn", "04_clv", "01_segmentation")
    )
    assert churn_page == (
        "transactions|contracts",
        "repeat_purchases|contracts",
        "churn_window|contracts",
    )
    year = ["2024-01-01", "2024-12-31"]
    buyers = client(year, True)
    assert _unmet(churn_page, buyers) == _unmet(clv_page, buyers) == _unmet(segments, buyers) == []
    once = client(year, False)
    assert _unmet(churn_page, once) == ["repeat_purchases|contracts"]
    reason = _skip_reason(_unmet(clv_page, once), once)
    assert reason.startswith("no repeat purchases: no customer bought on two different days")
    assert "analysis.churn_inactivity_days" in _skip_reason(_unmet(segments, once), once)
    assert _unmet(segments, client(year, False, churn_inactivity_days=90)) == []
    subscriber = SimpleNamespace(
        transactions=None, contracts=pd.DataFrame(), repeat_purchases=False
    )
    assert _unmet(clv_page, subscriber) == []
    # 60 days of history cannot hold a 90-day churn window before its cutoff
    short = client(["2024-01-01", "2024-03-01"], True)
    assert _skip_reason(_unmet(churn_page, short), short) == (
        "no history before the churn window: 60 days of data, not more than the 90-day window "
        "(set a shorter analysis.churn_horizon_days in the client's YAML)"
    )
    assert (
        _unmet(churn_page, client(["2024-01-01", "2024-03-01"], True, churn_horizon_days=30)) == []
    )
    # tables first: a client without transactions is told so, the facts are not tested
    nothing = SimpleNamespace(transactions=None, contracts=None)
    assert (
        _skip_reason(_unmet(churn_page, nothing), nothing) == "no transactions or contracts table"
    )


# --- the page manifest ------------------------------------------------------------------------


def test_the_manifest_lists_every_shipped_notebook_with_its_own_title():
    from cxlib.report.pages import PAGES, SUMMARY_PAGE, notebook_title

    shipped = discover_notebooks()
    assert [p.stem for p in shipped] == [page.name for page in PAGES[1:]] + [SUMMARY_PAGE]
    for page in PAGES:
        nb = nbformat.read(str(cxlib.report.default_notebooks_dir() / page.notebook), 4)
        assert notebook_title(nb, "") == page.title, page.name  # the index says what the page says
        assert "cxlib" not in nb.metadata, page.name  # what it requires is in the manifest only
    assert {kind for page in PAGES for kind in page.actions} == {
        "retention",
        "complaint",
        "rollout",
    }


def test_an_action_is_filed_under_the_page_the_manifest_names_for_its_kind(monkeypatch):
    import dataclasses

    import pandas as pd

    from cxlib.report import pages
    from cxlib.report.actions import retention_action

    scores = pd.DataFrame({"customer_id": ["a", "b"], "revenue_at_risk": [10.0, 1.0]})
    assert retention_action(scores, margin=0.5).page == "02_churn"
    moved = tuple(
        dataclasses.replace(p, actions=()) if p.name == "02_churn" else p for p in pages.PAGES
    )
    extra = pages.Page("07_retention_lab", "Retention lab", actions=("retention",))
    monkeypatch.setattr(pages, "PAGES", (*moved, extra))
    assert retention_action(scores, margin=0.5).page == "07_retention_lab"


EXTRA_PAGE_CELLS = [
    (
        "code",
        "from cxlib.report.headlines import Headline, save_headlines\n"
        "_ = save_headlines('07_visits', [Headline('visits', 'Store visits a week', 1234.0,"
        " unit='count')], path=headlines_path)",
    ),
]


def test_adding_a_page_is_one_notebook_and_one_manifest_entry(tmp_path, monkeypatch):
    """A new notebook plus its entry: the runner, the index and the summary all pick it up."""
    from cxlib.report import pages

    config = write_client(tmp_path)  # transactions only: no experiments table
    notebooks = tmp_path / "notebooks"
    parameters = 'config_path = "x"\nheadlines_path = None'
    write_notebook(notebooks / "07_visits.ipynb", EXTRA_PAGE_CELLS, parameters=parameters)
    write_notebook(notebooks / "08_tests.ipynb", [("code", "raise ValueError")], parameters=None)
    summary = nbformat.read(str(cxlib.report.default_notebooks_dir() / "00_summary.ipynb"), 4)
    nbformat.write(summary, str(notebooks / "00_summary.ipynb"))
    visits = pages.Page(
        "07_visits", "How often customers come by", requires=("transactions",),
        section="How often customers visit the stores",
    )  # fmt: skip
    tests = pages.Page("08_tests", "Store tests", requires=("experiments",), section="Tests")
    monkeypatch.setattr(pages, "PAGES", (*pages.PAGES, visits, tests))

    run = build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)

    by_name = {nb.name: nb for nb in run.notebooks}
    assert by_name["07_visits"].status == "ok"
    assert by_name["07_visits"].title == "How often customers come by"  # the manifest's title
    assert (by_name["08_tests"].status, by_name["08_tests"].reason) == (
        "skipped", "no experiments table",
    )  # fmt: skip
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert visits.to_dict() in manifest["pages"] and tests.to_dict() in manifest["pages"]
    index = html.unescape((run.run_dir / "index.html").read_text())
    assert "How often customers come by" in index and "Store visits a week" in index
    summary_page = html.unescape((run.run_dir / "html" / "00_summary.html").read_text())
    # the summary notebook, in its own kernel, reads the run's pages from its manifest.json
    assert "How often customers visit the stores" in summary_page
    assert "1,234" in summary_page
