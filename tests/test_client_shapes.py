"""The report on client shapes the demo does not have: every page completes or says why not.

One fixture set (tests/client_shapes.py) is written once per session; each shape runs only
the notebooks that prove its point (plus the summary), on a few hundred customers, so the
module stays within the suite's budget (about 5 minutes on one core).

The real exports beside the repository (``shared/data/real``: CDNOW master, the grocery log)
are built as they are and cut into the shapes real clients send (customer/date/amount only,
line items with order ids, no amount at all, a year or 20 weeks of history, every customer
buying once, every purchase on one day), through ``cxlib report`` itself: exit 0, no failed
page, every skipped page with its reason on the index and in the summary. Without that folder
(a fresh clone) those tests skip, saying so.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from cxlib.report import build_report
from tests.client_shapes import build_real_shapes, build_shapes, real_exports

# one worker builds each shape's report once (a module fixture per worker would build twice)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client_shapes")]

SHAPES = [
    "transactions_only",
    "transactions_customers",
    "surveys_without_feedback",
    "surveys_only",
    "transactions_surveys_by_month",
    "customers_only",
    "contract_dates",
    "weeks_20",
    "customers_50",
    "no_category",
    "one_category",
    "float_ids",
    "wholesale_no_dropout",
    "surveys_by_quarter_fr",
]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return build_shapes(tmp_path_factory.mktemp("client_shapes"))


@pytest.fixture(scope="module")
def reports(shapes, tmp_path_factory, monkeypatch_module):
    # a private cache: the shapes' results must not mix with a developer's cache
    monkeypatch_module.setenv("CXLIB_CACHE_DIR", str(tmp_path_factory.mktemp("shape_cache")))
    out = tmp_path_factory.mktemp("shape_reports")
    built = {}

    def report(name):
        if name not in built:
            config, notebooks = shapes[name]
            built[name] = build_report(config, out=out, only=[*notebooks, "00"], progress=False)
        return built[name]

    return report


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _summary_text(run) -> str:
    return (run.run_dir / "html" / "00_summary.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("shape", SHAPES)
def test_every_page_completes_or_is_skipped_with_a_reason(reports, shape):
    run = reports(shape)
    failed = {nb.name: nb.error for nb in run.notebooks if nb.status == "failed"}
    assert run.status == "complete", failed
    assert not failed
    for nb in run.notebooks:
        assert nb.status in ("ok", "skipped")
        if nb.status == "skipped":
            assert nb.reason and nb.reason.startswith("no ")
    audit = json.loads((run.run_dir / "manifest.json").read_text())["audit"]
    assert "error" not in audit and audit["findings"] == []  # every sentence true on its numbers


@pytest.mark.parametrize("shape", ["surveys_only", "surveys_by_quarter_fr"])
def test_a_client_without_transactions_skips_every_page_that_needs_them(reports, shape):
    run = reports(shape)
    topics = [nb for nb in run.notebooks if nb.name != "00_summary"]
    assert topics and all(nb.status == "skipped" for nb in topics)
    assert all("transactions" in nb.reason for nb in topics)
    index = (run.run_dir / "index.html").read_text(encoding="utf-8")
    assert "Skipped: no transactions table" in index
    summary = _summary_text(run)
    assert "This page does not apply" in summary and "no transactions table" in summary


@pytest.mark.parametrize("shape", ["customers_only", "contract_dates"])
def test_a_subscription_client_gets_the_contractual_clv_page(reports, shape):
    run = reports(shape)
    status = {nb.name: nb.status for nb in run.notebooks}
    assert status["04_clv"] == "ok"
    headlines = json.loads((run.run_dir / "headlines" / "04_clv.json").read_text())
    by_key = {h["key"]: h for h in headlines}
    assert by_key["clv_kind"]["value"] == "contractual"
    assert by_key["clv_model"]["value"].startswith("contractual (sBG")
    total = by_key["total_clv"]
    assert 0 < total["ci_low"] < total["value"] < total["ci_high"]
    assert "parameter uncertainty" in total["note"]
    page = (run.run_dir / "html" / "04_clv.html").read_text(encoding="utf-8")
    assert "Contractual model: shifted-beta-geometric" in page
    assert "Does the retention model follow the observed curve?" in page
    assert "Projected survival" in page and "Median lifetime days" in page
    assert "out-of-fold" in page and "ROC AUC" in page  # the classifier's held-out metrics
    assert "holdout purchases" not in page  # no purchase-model section for subscribers
    assert "contractual (sBG" in _summary_text(run)


@pytest.mark.parametrize("shape", ["customers_only", "contract_dates"])
def test_a_subscription_client_gets_the_churn_page_segments_and_ranked_actions(reports, shape):
    run = reports(shape)
    status = {nb.name: nb.status for nb in run.notebooks}
    assert status["01_segmentation"] == status["02_churn"] == "ok"
    churn = _page_text(run.run_dir / "html" / "02_churn.html")
    # total charges (monthly fee x tenure) named and kept out of every model, with the reason
    assert "Total charges" in churn and "close to tenure x monthly_fee" in churn
    assert "out of fold" in churn and "Revenue at risk" in churn
    assert "holdout purchases" not in churn and "Cohort" not in churn  # no retail cells
    headlines = {h["key"]: h for h in json.loads((run.run_dir / "headlines" / "02_churn.json")
                                                  .read_text())}  # fmt: skip
    assert headlines["revenue_at_risk"]["value"] > 0
    actions = json.loads((run.run_dir / "actions.json").read_text())
    assert actions and actions[0]["basis"] == "annual gross margin net of campaign cost"
    assert any(a["action"].startswith("Contact the 10%") for a in actions)
    segments = _page_text(run.run_dir / "html" / "01_segmentation.html")
    assert "Segments from tenure and payment per period" in segments
    assert "Subscriber segments" in segments
    assert "classic marketing map" not in segments and "Share of wallet" not in segments


def test_the_clv_page_of_a_purchase_history_says_it_is_non_contractual(reports):
    run = reports("transactions_only")
    headlines = json.loads((run.run_dir / "headlines" / "04_clv.json").read_text())
    assert {h["key"]: h["value"] for h in headlines}["clv_kind"] == "non-contractual"
    page = (run.run_dir / "html" / "04_clv.html").read_text(encoding="utf-8")
    assert "Non-contractual model" in page and "Projected survival" not in page
    assert "Does the retention model follow the observed curve?" not in page


def test_a_page_skipped_for_one_table_says_which(reports):
    run = reports("transactions_only")
    reasons = {nb.name: nb.reason for nb in run.notebooks if nb.status == "skipped"}
    assert reasons == {
        "03_nps_vs_revenue": "no surveys table",
        "05_experiments": "no experiments table",
    }
    assert "no surveys table" in _summary_text(run)


def test_a_client_where_nobody_drops_out_is_flagged_on_the_clv_page_and_in_the_summary(reports):
    run = reports("wholesale_no_dropout")
    clv_page = (run.run_dir / "html" / "04_clv.html").read_text(encoding="utf-8")
    assert "found no dropout" in clv_page and "P(alive) is above 99%" in clv_page
    full_page = (run.run_dir / "html" / "04_clv.full.html").read_text(encoding="utf-8")
    assert "UserWarning" in full_page
    headlines = json.loads((run.run_dir / "headlines" / "04_clv.json").read_text())
    warnings = [h["value"] for h in headlines if h["key"] == "clv_model_warning"]
    assert any("found no dropout" in w for w in warnings)
    assert "found no dropout" in _summary_text(run)


def test_a_page_without_feedback_says_the_themes_do_not_apply(reports):
    run = reports("surveys_without_feedback")
    page = (run.run_dir / "html" / "03_nps_vs_revenue.html").read_text(encoding="utf-8")
    assert "No feedback table" in page


def test_a_french_survey_by_quarter_shows_its_nps_trend_in_the_summary(shapes, reports):
    run = reports("surveys_by_quarter_fr")
    assert run.status == "complete"
    # the trend's last quarter, computed from the raw export (';', cp1252, "T4 2025")
    folder = shapes["surveys_by_quarter_fr"][0].parent
    export = pd.read_csv(folder / "enquete_nps.csv", sep=";", encoding="cp1252")
    last = export[export["trimestre"] == "T4 2025"]["note"]
    expected = 100 * ((last >= 9).mean() - (last <= 6).mean())
    assert len(last) >= 30  # quoted by the summary
    summary = _summary_text(run)
    assert "The Net Promoter Score moved from" in summary
    assert f"to {expected:+.0f} in Q4 2025" in summary


def test_a_survey_dated_by_month_feeds_the_pages_that_need_answer_dates(reports):
    run = reports("transactions_surveys_by_month")
    assert {nb.name: nb.status for nb in run.notebooks} == {
        "02_churn": "ok",
        "03_nps_vs_revenue": "ok",
        "00_summary": "ok",
    }
    full_page = (run.run_dir / "html" / "03_nps_vs_revenue.full.html").read_text(encoding="utf-8")
    assert (
        "dated on its period&#x27;s last day" in full_page
        or "dated on its period's last day" in full_page
    )


def test_cxlib_report_exits_0_on_the_french_quarterly_survey(shapes, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cxlib.cli import app

    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "cache"))
    config = shapes["surveys_by_quarter_fr"][0]
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["report", str(config), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    (run,) = (p for p in (out / "surveys_by_quarter_fr").iterdir() if p.is_dir())
    assert "The Net Promoter Score moved from" in (run / "html" / "00_summary.html").read_text(
        encoding="utf-8"
    )


# --- real exports ------------------------------------------------------------------------------

REAL = real_exports()
needs_real = pytest.mark.skipif(
    REAL is None, reason="no real client exports (shared/data/real) beside the repository"
)

#: The pages each real shape must run (the others it runs must be skipped with a reason).
REAL_SHAPES = {
    "cdnow": {"01_segmentation", "02_churn", "04_clv", "00_summary"},
    "grocery": {"01_segmentation", "02_churn", "04_clv", "00_summary"},
    "cdnow_customer_date_amount": {"02_churn", "00_summary"},
    "cdnow_line_items": {"01_segmentation", "02_churn", "00_summary"},
    "grocery_purchase_counts": {"01_segmentation", "02_churn", "04_clv", "00_summary"},
    "cdnow_one_year": {"02_churn", "04_clv", "00_summary"},
    "cdnow_20_weeks": {"01_segmentation", "02_churn", "04_clv", "00_summary"},
    "single_purchase": {"00_summary"},
    "single_day": {"00_summary"},
    "single_purchase_threshold": {"01_segmentation", "00_summary"},
    "bank": {"01_segmentation", "02_churn", "04_clv", "00_summary"},
    "bank_valued": {"02_churn", "00_summary"},
}


@pytest.fixture(scope="module")
def real_reports(tmp_path_factory, monkeypatch_module):
    """Build a real shape's report with ``cxlib report`` once; return (exit code, output, run)."""
    from typer.testing import CliRunner

    from cxlib.cli import app

    monkeypatch_module.setenv("CXLIB_CACHE_DIR", str(tmp_path_factory.mktemp("real_cache")))
    shapes = build_real_shapes(tmp_path_factory.mktemp("real_shapes"), REAL)
    out = tmp_path_factory.mktemp("real_reports")
    built = {}

    def report(name):
        if name not in built:
            config, notebooks = shapes[name]
            only = ",".join([*notebooks, "00"])
            args = ["report", str(config), "--out", str(out / name), "--only", only]
            result = CliRunner().invoke(app, [*args, "--no-progress"])
            runs = sorted((out / name).glob("*/*/manifest.json"))
            built[name] = (result.exit_code, result.output, runs[-1].parent if runs else None)
        return built[name]

    return report


def _page_text(path) -> str:
    import html

    return html.unescape(path.read_text(encoding="utf-8"))


@needs_real
@pytest.mark.parametrize("shape", list(REAL_SHAPES))
def test_a_real_export_builds_with_every_page_complete_or_skipped_with_its_reason(
    real_reports, shape
):
    code, output, run = real_reports(shape)
    assert code == 0, output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    status = {nb["name"]: nb["status"] for nb in manifest["notebooks"]}
    assert {name for name, s in status.items() if s == "ok"} == REAL_SHAPES[shape], manifest
    assert set(status.values()) <= {"ok", "skipped"}
    assert "error" not in manifest["audit"] and manifest["audit"]["findings"] == []
    index, summary = _page_text(run / "index.html"), _page_text(run / "html" / "00_summary.html")
    for nb in manifest["notebooks"]:
        if nb["status"] == "skipped":
            reason = nb["reason"]
            assert reason and reason.startswith("no ") and "\n" not in reason
            assert f"Skipped: {reason}" in index
            assert reason in summary


@needs_real
@pytest.mark.parametrize("shape", ["single_purchase", "single_day"])
def test_a_client_without_repeat_purchases_is_told_which_setting_brings_the_pages_back(
    real_reports, shape
):
    from cxlib.settings.config import AnalysisConfig

    _, _, run = real_reports(shape)
    reasons = {
        nb["name"]: nb["reason"]
        for nb in json.loads((run / "manifest.json").read_text())["notebooks"]
    }
    assert "set analysis.churn_inactivity_days in the client's YAML" in reasons["01_segmentation"]
    assert "churn_inactivity_days" in AnalysisConfig.model_fields  # a key that exists
    for page in ("02_churn", "04_clv"):
        assert reasons[page].startswith("no repeat purchases: no customer bought on two")
    assert "pass a threshold" not in _page_text(run / "index.html")


@needs_real
def test_the_churn_page_of_cdnow_reads_its_drivers_from_the_first_purchase(real_reports):
    _, _, run = real_reports("cdnow")
    page = _page_text(run / "html" / "02_churn.html")
    assert "The data hold no customer attribute the model can use" in page
    assert "First purchase value (per doubling)" in page
    assert "Concordance 0." in page
    headlines = json.loads((run / "headlines" / "02_churn.json").read_text())
    keys = {h["key"] for h in headlines}
    assert {"churn_rate", "revenue_at_risk", "churn_model_auc"} <= keys
    summary = _page_text(run / "html" / "00_summary.html")
    assert "Churn risk —" not in summary  # the segment cards read the churn page's facts


@needs_real
def test_line_items_with_order_ids_give_the_amounts_of_the_same_export(real_reports):
    def at_risk(shape):
        _, _, run = real_reports(shape)
        headlines = json.loads((run / "headlines" / "02_churn.json").read_text())
        return {h["key"]: h["value"] for h in headlines}["revenue_at_risk"]

    # cds x (amount / cds): the same dollars up to floating-point rounding
    assert at_risk("cdnow_line_items") == pytest.approx(at_risk("cdnow_customer_date_amount"))


@needs_real
def test_a_client_without_amounts_is_reported_in_purchases(real_reports):
    _, _, run = real_reports("grocery_purchase_counts")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["parameters"]["currency"] == "purchases"
    index = _page_text(run / "index.html")
    assert "no amount column, each row counted as one purchase (amount 1)" in index
    churn_page = _page_text(run / "html" / "02_churn.html")
    assert "Revenue at risk (purchases)" in churn_page
    assert "EUR" not in re.sub(r"<img[^>]*>", "", churn_page)  # no currency invented


@needs_real
def test_the_bank_reads_as_it_comes_with_its_quality_counted_and_its_churn_page(real_reports):
    if not (REAL / "bank").is_dir():
        pytest.skip("no bank export in shared/data/real")
    code, output, run = real_reports("bank")
    assert code == 0, output
    manifest = json.loads((run / "manifest.json").read_text())
    reasons = {(q["table"], q["reason"]): q for q in manifest["quality"]}
    first = "kept: left during the first period ('Tenure' 0), counted as lost after period 1"
    assert reasons[("contracts", first)]["rows_flagged"] == 95
    assert reasons[("customers", "kept: missing value in column 'Tenure' ('?' 1)")]
    assert reasons[("contracts", "no tenure ('Tenure' missing)")]["rows_set_aside"] == 1
    index = _page_text(run / "index.html")
    assert "counted as lost after period 1" in index and "'?' 1" in index
    churn = _page_text(run / "html" / "02_churn.html")
    assert "NumOfProducts separates it most" in churn  # chosen by the data, not by gender
    assert "RowNumber" in churn and "an identifier" in churn  # kept out of every model
    assert "Survival after 1 year" in churn


@needs_real
def test_a_bank_that_states_a_customer_s_value_gets_a_ranked_retention_action(real_reports):
    if not (REAL / "bank").is_dir():
        pytest.skip("no bank export in shared/data/real")
    code, output, run = real_reports("bank_valued")
    assert code == 0, output
    actions = json.loads((run / "actions.json").read_text())
    assert [a["page"] for a in actions] == ["02_churn"]
    retain = actions[0]
    assert retain["action"].startswith("Contact the 10%") and retain["value"] > 0
    assert retain["basis"] == "annual gross margin net of campaign cost"
    summary = _page_text(run / "html" / "00_summary.html")
    assert "Contact the 10%" in summary
