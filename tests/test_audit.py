"""``cxlib audit``: each rule catches the defect text that showed it on real exports, and the
fixed producers no longer write those sentences."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxlib.cli import EXIT_DATA_ERROR, EXIT_FAILED, app
from cxlib.report.audit import RULES, Finding, NotARunError, audit_run, page_text, sentences
from cxlib.report.cards import save_segment_facts
from cxlib.report.headlines import load_headlines, save_facts, save_headlines
from cxlib.report.summary import actions_markdown, situation
from cxlib.segmentation.plays import segment_cards
from cxlib.segmentation.trend import (
    active_customers_over_time,
    covers,
    data_coverage,
    revenue_bridge,
)
from cxlib.settings.headline import Headline

# --- a fake run folder --------------------------------------------------------------------------

CDNOW = {"first": "1997-01-01", "last": "1998-06-30"}  # 18 months
WHOLESALE = {"first": "2010-12-01", "last": "2011-12-09"}  # 13 months
LONG = {"first": "1995-01-01", "last": "1998-06-30"}


def make_run(
    root: Path,
    pages: dict[str, str] | None = None,
    *,
    headlines: dict[str, list[Headline]] | None = None,
    coverage: dict | None = None,
    actions: list[dict] | None = None,
    index: str | None = None,
    quality: list[dict] | None = None,
) -> Path:
    """A run folder as the runner writes it: manifest, reviewer pages, headlines, actions."""
    run = root / "run"
    (run / "html").mkdir(parents=True)
    notebooks = []
    for name, body in (pages or {}).items():
        (run / "html" / f"{name}.html").write_text(
            f"<html><head><title>{name}</title><style>p {{}}</style></head><body>{body}</body>"
            "</html>",
            encoding="utf-8",
        )
        notebooks.append({"name": name, "outputs": {"reviewer_html": f"html/{name}.html"}})
    for name, items in (headlines or {}).items():
        save_headlines(name, items, path=run / "headlines" / f"{name}.json")
    manifest = {
        "run_id": "20260102T030405Z-ab12cd34",
        "notebooks": notebooks,
        "parameters": {"observation_end": None},
        "coverage": {"transactions": coverage} if coverage else {},
        "quality": quality or [],
    }
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "actions.json").write_text(json.dumps(actions or []), encoding="utf-8")
    if index is not None:
        (run / "index.html").write_text(index, encoding="utf-8")
    return run


def page(*paragraphs: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def rules_of(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


# --- reading pages --------------------------------------------------------------------------------


def test_the_page_text_is_what_a_reviewer_reads_without_styles_scripts_or_the_audit_itself():
    blocks, tables = page_text(
        "<html><head><title>nan</title><style>.x{}</style></head><body>"
        "<nav>Contents</nav><script>var x = NaN;</script><p>Net revenue was <b>EUR&nbsp;5</b>.</p>"
        "<table><tr><th>Table</th><th>Source</th></tr><tr><td>Transactions</td><td>tx.csv</td>"
        "</tr></table><img src='x.png'><section data-audit='skip'><p>r = nan</p><br></section>"
        "<p>after</p></body></html>"
    )
    assert blocks == [
        "Net revenue was EUR 5.",
        "Table",
        "Source",
        "Transactions",
        "tx.csv",
        "after",
    ]
    assert tables == [[["Table", "Source"], ["Transactions", "tx.csv"]]]
    assert sentences("Up 5% (USD 1.43M). 0 new customers. Fine.") == [
        "Up 5% (USD 1.43M).",
        "0 new customers.",
        "Fine.",
    ]


def test_every_rule_is_registered_with_a_plain_description():
    audit_run  # noqa: B018 - importing cxlib.report.audit is not enough: the rules register on use
    import cxlib.report._audit_rules  # noqa: F401

    assert set(RULES) == {
        "not-a-number",
        "period-not-covered",
        "warning-not-supported",
        "actions-disagree",
        "name-contradicts-numbers",
        "counts-do-not-add-up",
        "source-listed-twice",
    }
    assert all(description for _, description in RULES.values())


# --- not-a-number ---------------------------------------------------------------------------------


def test_nan_in_a_sentence_is_a_finding_wherever_it_is(tmp_path):
    run = make_run(
        tmp_path,
        {
            "04_clv": page(
                "Spend model check: frequency and average spend are correlated (r = nan, above "
                "0.3); small enough for the model's independence assumption: no."
            ),
            "02_churn": page("Log-rank test across groups: statistic nan, p = nan."),
            "03_nps": page("Top complaint: None", "Churn risk inf%", "Mean NaT, n <NA>"),
        },
    )
    found = audit_run(run)
    assert rules_of(found) == ["not-a-number"] * 5
    assert found[0].page == "04_clv" and "r = nan, above 0.3" in found[0].text
    assert {f.page for f in found} == {"04_clv", "02_churn", "03_nps"}


def test_words_that_contain_nan_or_start_with_none_are_not_findings(tmp_path):
    run = make_run(
        tmp_path,
        {
            "01_seg": page(
                "None of the customers in Financial services bought infant clothes.",
                "A finance team; Nancy's segment; an informed reader.",
            )
        },
    )
    assert audit_run(run) == []


def test_a_headline_or_an_action_that_is_not_a_finite_number_is_a_finding(tmp_path):
    headlines = {"04_clv": [Headline("holdout_error", "Holdout error", float("nan"), "percent")]}
    actions = [
        {"action": "Retain", "value": float("inf"), "value_low": 0, "value_high": 1, "customers": 3}
    ]
    found = audit_run(make_run(tmp_path, headlines=headlines, actions=actions))
    assert rules_of(found) == ["not-a-number", "not-a-number"]
    assert found[0].page == "04_clv" and found[1].page == "actions.json"


# --- period-not-covered ---------------------------------------------------------------------------

CDNOW_REVENUE = (
    "Revenue. Net revenue over the last 12 months was USD 1.07M, down 25.3% on the 12 months "
    "before (USD 1.43M). 0 new customers brought USD 0.00 and 0 returning ones USD 0.00; 15,238 "
    "customers who stopped buying took USD 652.3k with them."
)
WHOLESALE_REVENUE = (
    "Revenue. Net revenue over the last 12 months was GBP 8.91M, up 2677.9% on the 12 months "
    "before (GBP 320.9k). 3,805 new customers brought GBP 7.96M and 0 returning ones GBP 0.00."
)


def test_a_comparison_with_the_12_months_before_on_18_months_of_data_is_a_finding(tmp_path):
    found = audit_run(make_run(tmp_path, {"00_summary": page(CDNOW_REVENUE)}, coverage=CDNOW))
    assert rules_of(found) == ["period-not-covered"] * 2  # the change; new and returning ones
    assert "down 25.3% on the 12 months before" in found[0].text
    assert "needs data from 01 Jul 1996; they start on 01 Jan 1997" in found[0].why


def test_on_13_months_of_data_neither_the_change_nor_the_new_customers_may_be_stated(tmp_path):
    run = make_run(tmp_path, {"00_summary": page(WHOLESALE_REVENUE)}, coverage=WHOLESALE)
    found = audit_run(run)
    assert rules_of(found) == ["period-not-covered"] * 2
    assert "up 2677.9% on the 12 months before" in found[0].text
    assert "3,805 new customers" in found[1].text


def test_the_same_sentences_are_fine_when_the_data_cover_both_years(tmp_path):
    run = make_run(tmp_path, {"00_summary": page(CDNOW_REVENUE, WHOLESALE_REVENUE)}, coverage=LONG)
    assert audit_run(run) == []


def test_a_quarter_against_a_year_earlier_needs_that_quarter_and_a_year_before_it(tmp_path):
    text = (
        "Customers. 3,317 customers bought in the last complete quarter (starting 01 Apr 1998), "
        "against 5,376 a year earlier; 0 of them were new (a year earlier: 0)."
    )
    found = audit_run(make_run(tmp_path, {"00_summary": page(text)}, coverage=CDNOW))
    # the quarter a year earlier (from 01 Apr 1997) is covered; its new customers are not
    assert rules_of(found) == ["period-not-covered"]
    assert "(a year earlier: 0)" in found[0].text
    wholesale = make_run(tmp_path / "w", {"00_summary": page(text)}, coverage=WHOLESALE)
    assert len(audit_run(wholesale)) == 3


def test_a_card_that_says_why_there_is_no_change_is_not_a_comparison(tmp_path):
    card = (
        "Customers: 3,539 (15.1% of all); a year before: — (under two years of history (data "
        "from 01 Jan 1997))"
    )
    assert audit_run(make_run(tmp_path, {"00_summary": page(card)}, coverage=CDNOW)) == []
    stated = make_run(
        tmp_path / "b",
        {"00_summary": page("Customers: 3,539, +8% on a year before")},
        coverage=CDNOW,
    )
    assert rules_of(audit_run(stated)) == ["period-not-covered"]


# --- the producers: comparisons only over periods the data cover ----------------------------------


def _transactions(start: str, end: str, n_customers: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = (pd.Timestamp(end) - pd.Timestamp(start)).days
    n = 10 * n_customers
    offsets = np.r_[0, days, rng.integers(0, days + 1, n - 2)]
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n).astype(str),
            "date": pd.Timestamp(start) + pd.to_timedelta(offsets, "D"),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )


def _summary_run(root: Path, tx: pd.DataFrame) -> tuple[str, Path]:
    """The summary's trend sentences on ``tx``, written into a run with its coverage."""
    text = situation(revenue_bridge(tx), active_customers_over_time(tx), currency="USD")
    coverage = data_coverage({"transactions": tx})["transactions"]
    return text, make_run(root, {"00_summary": page(*text.split("\n\n"))}, coverage=coverage)


@pytest.mark.parametrize(
    ("start", "end"),
    [("1997-01-01", "1998-06-30"), ("2010-12-01", "2011-12-09"), ("2006-01-01", "2007-12-30")],
    ids=["18 months (CDNOW)", "13 months (wholesale)", "two years less a day (grocery)"],
)
def test_under_two_years_the_summary_compares_no_years_and_says_what_is_missing(
    tmp_path, start, end
):
    tx = _transactions(start, end)
    bridge = revenue_bridge(tx)
    assert bridge.empty and not covers(tx["date"].min(), pd.Timestamp(end) - pd.Timedelta(729, "D"))
    text, run = _summary_run(tmp_path, tx)
    assert "on the 12 months before" not in text and "new customers brought" not in text
    assert f"The data start on {pd.Timestamp(start):%d %b %Y}" in text
    assert "no count of new, returning and lost customers" in text
    assert f"was USD {bridge.attrs['last_12m'] / 1e3:.1f}k" in text  # the one number it has
    assert audit_run(run) == []


def test_with_two_years_and_more_the_summary_states_the_bridge_and_the_audit_agrees(tmp_path):
    tx = _transactions("2022-01-01", "2025-12-31")
    text, run = _summary_run(tmp_path, tx)
    assert "on the 12 months before" in text and "new customers brought" in text
    assert "against" in text and "a year earlier" in text and "(a year earlier: " in text
    assert audit_run(run) == []


def test_when_the_data_start_with_the_year_before_new_and_returning_are_not_told_apart(tmp_path):
    end = pd.Timestamp("2025-12-31")
    tx = _transactions(f"{end - pd.Timedelta(days=729):%Y-%m-%d}", "2025-12-31")
    text, run = _summary_run(tmp_path, tx)
    assert "on the 12 months before" in text  # both years are covered
    assert "who had not bought in the 12 months before brought" in text
    assert "new customers brought" not in text and "cannot be told from returning ones" in text
    assert audit_run(run) == []


def test_no_revenue_the_year_before_gives_no_percentage_and_no_nan(tmp_path):
    steps = ["previous 12 months", "new customers", "reactivated customers", "lost customers",
             "expansion", "contraction", "last 12 months"]  # fmt: skip
    bridge = pd.DataFrame({"revenue": [0.0, 80.0, 0.0, 0.0, 0.0, 0.0, 80.0],
                           "customers": [0, 8, 0, 0, 0, 0, 8]}, index=steps)  # fmt: skip
    text = situation(bridge)
    assert "against EUR 0.00 in the 12 months before" in text and "%" not in text
    run = make_run(tmp_path, {"00_summary": page(text)}, coverage=CDNOW)
    assert rules_of(audit_run(run)) == ["period-not-covered"] * 2  # and no not-a-number


def test_13_months_of_data_name_no_quarter_a_year_earlier_and_no_new_customers():
    tx = _transactions("2010-12-01", "2011-12-09")
    text = situation(revenue_bridge(tx), active_customers_over_time(tx))
    assert "customers bought in the last complete quarter (starting 01 Jul 2011)." in text
    assert "a year earlier;" not in text and "were new" not in text
    assert "too late to compare with the same quarter a year earlier" in text


def test_the_quarter_a_year_earlier_is_found_by_date_not_by_position():
    tx = _transactions("2022-01-01", "2025-12-31")
    periods = active_customers_over_time(tx)
    gap = periods[periods["period"] != pd.Timestamp("2024-10-01")]  # a quarter nobody bought in
    gap.attrs = periods.attrs
    text = situation(revenue_bridge(tx), gap)
    assert "against 0 a year earlier" in text


def test_the_outlook_counts_first_year_customers_only_when_the_data_can_tell_them(tmp_path):
    from cxlib.customers import customer_base
    from cxlib.segmentation.outlook import revenue_outlook

    said = "last year, customers in their first year brought GBP 7,960,000"
    short = make_run(tmp_path, {"04_clv": page(f"The outlook leaves out {said}.")},
                     coverage=WHOLESALE)  # fmt: skip
    assert rules_of(audit_run(short)) == ["period-not-covered"]
    for (start, end), told in (((WHOLESALE["first"], WHOLESALE["last"]), False),
                               (("2022-01-01", "2025-12-31"), True)):  # fmt: skip
        base = customer_base(_transactions(start, end))
        base["churned"] = base["days_since_last"] > 90
        outlook = revenue_outlook(base, pd.Series(1.0, index=base.index), currency="GBP")
        assert bool(np.isfinite(outlook.new_customer_revenue)) is told
        assert ("customers in their first year brought" in outlook.text) is told
        run = make_run(tmp_path / end, {"04_clv": page(outlook.text)},
                       coverage={"first": start, "last": end})  # fmt: skip
        assert audit_run(run) == []


def test_the_segment_trend_and_the_bridge_use_one_coverage_rule():
    from cxlib.segmentation.trend import segment_trend

    end = pd.Timestamp("2025-12-31")
    for days, covered in ((729, True), (728, False)):
        tx = _transactions(f"{end - pd.Timedelta(days=days):%Y-%m-%d}", "2025-12-31")
        trend = segment_trend(tx, threshold_days=90)
        assert (not revenue_bridge(tx).empty) is covered
        assert bool(trend["trend_note"].isna().all()) is covered


# --- warning-not-supported ------------------------------------------------------------------------

INDISTINGUISHABLE = (
    "The purchase models compared on the holdout are indistinguishable (same likelihood): with "
    "no dropout they all reduce to the same model, so the choice among them carries no "
    "information."
)


def _warning(text: str, checks: list[dict] | None) -> dict[str, list[Headline]]:
    evidence = None if checks is None else {"checks": checks}
    return {"04_clv": [Headline("clv_model_warning", "Warning", text, "text", evidence=evidence)]}


def test_a_warning_of_equal_likelihoods_over_three_different_ones_is_a_finding(tmp_path):
    likelihoods = {
        "name": "holdout log-likelihood of bgnbd, pareto_nbd, mbgnbd",
        "value": [-9594.3, -9581.2, -9577.0],
        "op": "all_equal",
        "threshold": None,
    }
    found = audit_run(make_run(tmp_path, headlines=_warning(INDISTINGUISHABLE, [likelihoods])))
    assert rules_of(found) == ["warning-not-supported"]
    assert found[0].text == INDISTINGUISHABLE and "are not all equal" in found[0].why
    same = dict(likelihoods, value=[-9577.0, -9577.0, -9577.0])
    assert audit_run(make_run(tmp_path / "b", headlines=_warning(INDISTINGUISHABLE, [same]))) == []


def test_a_warning_that_compares_nan_with_a_threshold_is_a_finding(tmp_path):
    text = "frequency and average spend are correlated (r = 0.41, above 0.3)"
    nan_check = {"name": "r", "value": float("nan"), "op": ">", "threshold": 0.3}
    found = audit_run(make_run(tmp_path, headlines=_warning(text, [nan_check])))
    assert rules_of(found) == ["warning-not-supported"]
    assert "r is not a finite number (nan), so it cannot be compared with 0.3" in found[0].why
    holds = dict(nan_check, value=0.41)
    assert audit_run(make_run(tmp_path / "b", headlines=_warning(text, [holds]))) == []
    false = dict(nan_check, value=0.12)
    assert (
        "r = 0.12 is not > 0.3"
        in audit_run(make_run(tmp_path / "c", headlines=_warning(text, [false])))[0].why
    )


def test_a_warning_without_evidence_cannot_be_checked_and_is_a_finding(tmp_path):
    found = audit_run(make_run(tmp_path, headlines=_warning(INDISTINGUISHABLE, None)))
    assert rules_of(found) == ["warning-not-supported"]
    assert "records no numbers" in found[0].why


def test_the_evidence_is_written_to_the_headlines_json_and_read_back(tmp_path):
    check = {"name": "r", "value": [0.5, 0.6], "op": ">", "threshold": 0.3}
    save_headlines(
        "04_clv",
        [
            Headline("w_warning", "W", "r > 0.3", "text", evidence={"checks": [check]}),
            Headline("n", "N", 3.0, "count"),
        ],
        path=tmp_path / "04_clv.json",
    )
    assert json.loads((tmp_path / "04_clv.json").read_text())[0]["evidence"] == {"checks": [check]}
    loaded = load_headlines(tmp_path)
    assert loaded.loc[0, "evidence"] == {"checks": [check]} and loaded.loc[1, "evidence"] is None


# --- actions-disagree -----------------------------------------------------------------------------

NO_ACTION = "No page recorded an action with money attached; see the topic pages for the findings."
GROW = (
    "Grow: win part of its wallet headroom: cross-sell (segmentation page): USD 9,735 a year "
    "(4,867 to 14,602), annual gross margin"
)


def test_no_action_in_the_summary_while_a_card_carries_a_money_play_is_a_finding(tmp_path):
    found = audit_run(make_run(tmp_path, {"00_summary": page(NO_ACTION, "Champions", GROW)}))
    assert rules_of(found) == ["actions-disagree"]
    assert "USD 9,735 a year" in found[0].why
    no_play = make_run(tmp_path / "b", {"00_summary": page(NO_ACTION, "No play: —")})
    assert audit_run(no_play) == []
    ranked = make_run(
        tmp_path / "c",
        {"00_summary": page(NO_ACTION)},
        actions=[
            {"action": "Retain", "value": 5.0, "value_low": 1.0, "value_high": 9.0, "customers": 3}
        ],
    )
    assert rules_of(audit_run(ranked)) == ["actions-disagree"]


def test_the_summary_points_to_the_cards_plays_when_no_page_ranked_an_action(tmp_path):
    wallet = pd.DataFrame({"headroom": [324_495.0, 0.0]}, index=["Champions", "Lost"])
    cards = segment_cards(wallet=wallet, margin=0.3)
    text = actions_markdown(pd.DataFrame(), currency="USD", cards=cards)
    assert "No topic page recorded a ranked action" in text and "segment cards below" in text
    assert "Grow for Champions, USD 9,735 a year" in text
    card = "Grow: win part of its wallet headroom: USD 9,735 a year (4,867 to 14,602)"
    run = make_run(tmp_path, {"00_summary": page(text.strip("*"), card)})
    assert audit_run(run) == []
    assert "No page recorded an action" in actions_markdown(pd.DataFrame(), cards=None)


# --- name-contradicts-numbers ---------------------------------------------------------------------


def _cluster_facts(name: str, days: float, *, frequency: float = 6.3, spend: float = 250.0):
    return {
        "words": {
            "frequency": ["infrequent", "frequent"],
            "days_since_last": ["more recent", "less recent"],
            "total_spend": ["low-spend", "high-spend"],
        },
        "whole": {"frequency": 2.9, "days_since_last": 367.0, "total_spend": 106.0},
        "threshold_days": 200.0,
        "clusters": [
            {
                "name": name,
                "customers": 7295,
                "means": {"frequency": frequency, "days_since_last": days, "total_spend": spend},
            },
        ],
    }


def _names_run(root: Path, facts: dict) -> Path:
    run = make_run(root)
    save_facts("01_segmentation", {"clusters": facts}, path=run / "headlines" / "01_seg.json")
    return run


def test_recently_active_with_127_days_since_the_last_purchase_is_a_finding(tmp_path):
    facts = _cluster_facts("recently active frequent high-spend", 127.0)
    found = audit_run(_names_run(tmp_path, facts))
    assert rules_of(found) == ["name-contradicts-numbers"]
    assert found[0].text == "recently active frequent high-spend"
    assert (
        "average 127 days since the last purchase, more than 0.5 x the inactivity threshold "
        "(100 days)" in found[0].why
    )
    fixed = _cluster_facts("active frequent high-spend", 127.0)
    assert audit_run(_names_run(tmp_path / "b", fixed)) == []


@pytest.mark.parametrize(
    ("name", "days", "spend", "said"),
    [
        (
            "lapsed big-basket",
            150.0,
            250.0,
            "150 days since the last purchase, within the inactivity",
        ),
        ("active high-spend", 250.0, 250.0, "more than 1 x the inactivity threshold (200 days)"),
        ("more recent high-spend", 50.0, 90.0, "'high-spend', but its mean total spend, 90,"),
        ("infrequent", 50.0, 250.0, "'infrequent', but its mean frequency, 6.3, is not below"),
    ],
)
def test_each_word_of_a_name_is_checked_against_the_groups_numbers(
    tmp_path, name, days, spend, said
):
    found = audit_run(_names_run(tmp_path, _cluster_facts(name, days, spend=spend)))
    assert set(rules_of(found)) == {"name-contradicts-numbers"}
    assert any(said in finding.why for finding in found)


def test_cluster_names_follow_the_threshold_and_never_contradict_their_means(tmp_path):
    from cxlib.segmentation import cluster_customers

    rng = np.random.default_rng(1)
    sizes = (150, 150, 150)
    features = pd.DataFrame(
        {
            "days_since_last": np.r_[
                rng.normal(130, 10, 150), rng.normal(480, 20, 150), rng.normal(470, 20, 150)
            ].clip(0),
            "frequency": np.r_[rng.poisson(6, 150), rng.poisson(1, 300)].astype(float),
            "total_spend": np.r_[rng.gamma(4, 60, 150), rng.gamma(2, 30, 300)],
        }
    )
    assert len(features) == sum(sizes)
    result = cluster_customers(features, n_clusters=3, seed=0, recency_threshold_days=200)
    top = result.names.iloc[0]
    assert "active" in top and "recently active" not in top  # 130 days of a 200-day threshold
    assert "lapsed" in " ".join(result.names)
    assert audit_run(_names_run(tmp_path, result.name_facts())) == []
    relative = cluster_customers(features, n_clusters=3, seed=0)  # no threshold: relative words
    assert "more recent" in relative.names.iloc[0]


def test_a_word_whose_log_scale_profile_disagrees_with_the_mean_is_left_out():
    from cxlib.segmentation.clusters import DEFAULT_FEATURE_WORDS, _name_clusters

    standardised = pd.DataFrame({"total_spend": [0.8, -0.8]})  # log scale: above, below
    means = pd.DataFrame({"total_spend": [90.0, 100.0]})  # the first's mean is below the whole's
    names = _name_clusters(
        standardised,
        words=DEFAULT_FEATURE_WORDS,
        threshold=0.5,
        max_words=3,
        means=means,
        whole=pd.Series({"total_spend": 105.0}),
    )
    assert names == ["typical", "low-spend"]


# --- counts-do-not-add-up and source-listed-twice -------------------------------------------------


def test_segment_sizes_shares_and_quality_rows_must_add_up(tmp_path):
    quality = [
        {
            "table": "transactions",
            "source": "tx.csv",
            "rows_read": 100,
            "rows_kept": 90,
            "rows_set_aside": 5,
            "reason": "missing date",
            "rows_flagged": 0,
        }
    ]
    run = make_run(tmp_path, quality=quality)
    profiles = pd.DataFrame(
        {"customers": [60, 40], "customer_share": [0.6, 0.3]},
        index=pd.Index(["A", "B"], name="segment"),
    )
    save_segment_facts(
        "01_segmentation", {"profiles": profiles}, path=run / "headlines" / "01_segmentation.json"
    )
    facts = _cluster_facts("frequent high-spend", 50.0)  # 7,295 customers, not 100
    save_facts("01_segmentation", {"clusters": facts}, path=run / "headlines" / "01.json")
    found = audit_run(run)
    assert rules_of(found) == ["counts-do-not-add-up"] * 3
    assert "add up to 90.0%" in found[0].why
    assert "the RFM segments 100, the clusters 7,295" in found[1].text
    assert "100 read, 90 kept, 5 set aside" in found[2].text


QUALITY_ROWS = [
    ("none", 0, 0),
    ("kept: zero amount", 0, 80),
    ("kept: identical to an earlier row (duplicate line)", 0, 255),
]


def test_a_data_quality_table_that_repeats_its_source_once_per_reason_is_a_finding(tmp_path):
    rows = "".join(
        "<tr><td>Transactions</td><td>transactions.csv.gz</td><td>69,659</td><td>69,659</td></tr>"
        for _ in QUALITY_ROWS
    )
    index = (
        "<html><body><h2>Data quality</h2><table><thead><tr><th>Table</th><th>Source</th>"
        f"<th>Rows read</th><th>Rows kept</th></tr></thead><tbody>{rows}</tbody></table>"
        "</body></html>"
    )
    found = audit_run(make_run(tmp_path, index=index))
    assert rules_of(found) == ["source-listed-twice"]
    assert found[0].page == "index" and "Transactions (transactions.csv.gz)" in found[0].why


def test_the_index_lists_each_source_once_with_its_reasons_within(tmp_path):
    from cxlib.report.html import _index_html

    quality = pd.DataFrame(
        [
            {
                "table": "transactions",
                "source": "transactions.csv.gz",
                "rows_read": 69_659,
                "rows_kept": 69_659,
                "rows_set_aside": set_aside,
                "reason": reason,
                "rows_flagged": flagged,
            }
            for reason, set_aside, flagged in QUALITY_ROWS
        ]
    )
    manifest = {
        "cxlib_version": "0",
        "finished_at": "now",
        "seconds": 1.0,
        "config": {"path": "c.yaml", "sha256": "0" * 64},
        "data_files": {},
        "audit": {
            "rules": sorted(RULES),
            "findings": [
                Finding("not-a-number", "04_clv", "r = nan <b>", "'nan' printed").to_dict()
            ],
        },
    }
    index = _index_html(
        client="cdnow",
        run_id="r",
        status="complete",
        notebooks=[],
        headlines=load_headlines(None),
        quality=quality,
        currency="USD",
        manifest=manifest,
    )
    blocks, tables = page_text(index)
    parts = [t for t in tables if t[0][:2] == ["Table", "Source"]]  # a wide table is split
    assert parts and all(len(t) == 2 for t in parts)  # the header and one source
    assert "kept: zero amount (80 rows flagged)" in " ".join(parts[-1][1])
    assert "r = nan &lt;b&gt;" in index and "r = nan <b>" not in index  # escaped
    assert not any("r = nan" in block for block in blocks)  # the findings are not re-audited
    run = make_run(tmp_path, index=index)
    assert audit_run(run) == []


# --- the command line -----------------------------------------------------------------------------


def test_cxlib_audit_exits_0_without_findings_1_with_them_and_2_on_a_folder_that_is_not_a_run(
    tmp_path,
):
    runner = CliRunner()
    clean = make_run(tmp_path / "clean", {"00_summary": page("All good.")})
    result = runner.invoke(app, ["audit", str(clean)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"0 findings in {clean}"
    bad = make_run(tmp_path / "bad", {"02_churn": page("statistic nan, p = nan.")})
    result = runner.invoke(app, ["audit", str(bad)])
    assert result.exit_code == EXIT_FAILED
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("not-a-number 02_churn: 'nan' printed") and len(lines) == 2
    assert lines[-1] == f"1 finding in {bad}"
    result = runner.invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == EXIT_DATA_ERROR and "is not a report run" in result.output
    with pytest.raises(NotARunError):
        audit_run(tmp_path / "nowhere")
