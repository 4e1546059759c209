"""cxlib.report.cards: segment action cards built from the pages' own per-segment tables."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.report.cards import (
    cards_table,
    cards_view,
    load_segment_facts,
    save_segment_facts,
    trend_table,
)
from cxlib.segmentation.plays import BASIS, CARD_COLUMNS, segment_cards
from cxlib.segmentation.trend import TREND_COLUMNS, segment_trend

SEGMENTS = pd.Index(["Champions", "At Risk", "Lost"], name="segment")


@pytest.fixture
def facts():
    profiles = pd.DataFrame(
        {"customers": [100, 50, 400], "customer_share": [0.18, 0.09, 0.73],
         "revenue": [90_000.0, 20_000.0, 5_000.0], "revenue_share": [0.78, 0.17, 0.05],
         "nps": [40.0, -10.0, np.nan], "nps_responses": [30, 20, 0]},
        index=SEGMENTS,
    )  # fmt: skip
    risk = pd.DataFrame(
        {"mean_churn_probability": [0.1, 0.6], "revenue_at_risk": [3_000.0, 12_000.0]},
        index=pd.Index(["Champions", "At Risk"], name="segment"),
    )
    wallet = pd.DataFrame(
        {"headroom": [80_000.0, 4_000.0]}, index=pd.Index(["Champions", "At Risk"], name="segment")
    )
    complaints = pd.DataFrame(
        {"group": ["At Risk", "At Risk", "Champions"], "name": ["late delivery", "rude staff",
         "late delivery"], "lift": [1.8, 0.7, 0.9]}
    )  # fmt: skip
    return {"profiles": profiles, "risk": risk, "wallet": wallet, "complaints": complaints}


def test_each_card_carries_the_pages_numbers_and_the_play_worth_most(facts):
    cards = segment_cards(**facts, margin=0.3).set_index("segment")
    assert list(cards.reset_index().columns) == CARD_COLUMNS
    # the pages' numbers, unchanged
    assert cards.loc["At Risk", "revenue_at_risk"] == 12_000.0
    assert cards.loc["Champions", "churn_probability"] == 0.1
    assert cards.loc["Champions", "headroom"] == 80_000.0
    assert cards.loc["At Risk", "top_complaint"] == "late delivery"
    # Champions: grow 80k x 0.3 x 10% = 2,400 beats retain 3k x 0.3 x 20% = 180
    assert cards.loc["Champions", "play"].startswith("Grow")
    assert cards.loc["Champions", ["play_value", "play_low", "play_high"]].tolist() == (
        pytest.approx([2_400.0, 1_200.0, 3_600.0])
    )
    # At Risk: retain 12k x 0.3 x 20% = 720 beats grow 4k x 0.3 x 10% = 120
    assert cards.loc["At Risk", "play"].startswith("Retain")
    assert cards.loc["At Risk", "play_value"] == pytest.approx(720.0)
    assert cards.loc["At Risk", "basis"] == BASIS
    # Lost: no risk or headroom recorded (no active customers) -> no play, not a crash
    assert pd.isna(cards.loc["Lost", "play"]) and np.isnan(cards.loc["Lost", "play_value"])
    assert list(cards.index) == ["Champions", "At Risk", "Lost"]  # worth most first


def test_a_cards_play_is_net_of_its_contact_and_incentive_costs(facts):
    cards = segment_cards(**facts, margin=0.3, contact_cost=2.0, incentive=10.0)
    cards = cards.set_index("segment")
    # At Risk (50 customers, churn 60%): retain 12k x 0.3 x 20% - 2 x 50 - 10 x 50 x 0.6 x 20%
    # = 720 - 100 - 60 = 560 beats grow 4k x 0.3 x 10% - 2 x 50 = 20; each end the same way
    size = facts["profiles"].loc["At Risk", "customers"]
    retain = [12_000 * 0.3 * r - 2.0 * size - 10.0 * size * 0.6 * r for r in (0.2, 0.1, 0.3)]
    grow = [4_000 * 0.3 * r - 2.0 * size for r in (0.1, 0.05, 0.15)]
    assert retain[0] == pytest.approx(560.0) and grow[0] == pytest.approx(20.0)
    best = retain
    row = cards.loc["At Risk", ["play_value", "play_low", "play_high"]].tolist()
    assert row == pytest.approx([best[0], min(best), max(best)])
    champions = cards.loc["Champions", "play_value"]
    size = facts["profiles"].loc["Champions", "customers"]
    assert champions == pytest.approx(80_000 * 0.3 * 0.1 - 2.0 * size)  # grow, net of contacts
    assert (cards["basis"].dropna() == "annual gross margin net of campaign cost").all()
    with pytest.raises(DataError, match="contact_cost"):
        segment_cards(**facts, margin=0.3, contact_cost=-1.0)
    # at 20 a contact no play pays for At Risk (retain 720 - 1,000 - 60, grow 120 - 1,000)
    costly = segment_cards(**facts, margin=0.3, contact_cost=20.0, incentive=10.0)
    costly = costly.set_index("segment")
    assert pd.isna(costly.loc["At Risk", "play"]) and np.isnan(costly.loc["At Risk", "play_value"])
    assert costly.loc["Champions", "play_value"] == pytest.approx(2_400.0 - 20.0 * 100)


def test_a_client_without_surveys_or_feedback_gets_dashes_not_a_crash(facts):
    profiles = facts["profiles"].assign(nps=np.nan, nps_responses=0)
    cards = segment_cards(profiles=profiles, risk=facts["risk"], complaints=None, margin=0.3)
    assert cards["top_complaint"].isna().all() and cards["headroom"].isna().all()
    cells = cards_table(cards).cells
    assert (cells["Top complaint"] == "—").all() and (cells["NPS"] == "—").all()
    for html in (cards_table(cards).to_html(), cards_view(cards).to_html()):
        assert not re.search(r"\b(nan|None|NaN|True|False)\b", html)
    html = _card_text(cards_view(cards).to_html())
    assert cards_view(cards).to_html().count('class="cx-card"') == 3
    # a line no segment has a number for is said once above the cards, not a dash on each
    assert "Top complaint" not in html and "NPS " not in html and "Wallet headroom" not in html
    assert html.count("No segment has a number for NPS, top complaint, wallet headroom") == 1
    assert "Churn risk" in html  # the churn page's numbers are there: their line stays


def test_only_profiles_or_nothing_at_all():
    only = segment_cards(profiles=pd.DataFrame({"customers": [5]}, index=["A"]), margin=0.5)
    assert only.loc[0, "segment"] == "A" and pd.isna(only.loc[0, "play"])
    empty = segment_cards(margin=0.5)
    assert empty.empty and list(empty.columns) == CARD_COLUMNS
    assert cards_table(empty).cells.empty
    assert "No segment" in cards_view(empty).to_html()


def test_facts_round_trip_through_the_headlines_folder_with_client_names(tmp_path, facts):
    odd = facts["risk"].rename(index={"At Risk": "<b>Ünïcode & co</b>"})
    save_segment_facts("02_churn", {"risk": odd}, path=tmp_path / "02_churn.json")
    save_segment_facts("01_segmentation", {"profiles": facts["profiles"]}, path=None)  # no-op
    loaded = load_segment_facts(tmp_path)
    assert set(loaded) == {"risk"}
    pd.testing.assert_frame_equal(loaded["risk"], odd, check_names=False)
    html = cards_view(segment_cards(risk=loaded["risk"], margin=0.3)).to_html()
    assert "<b>" not in html and "&lt;b&gt;Ünïcode &amp; co&lt;/b&gt;" in html
    assert load_segment_facts(None) == {} and load_segment_facts(tmp_path / "nowhere") == {}


@pytest.mark.parametrize("bad", [{"margin": 0}, {"margin": 0.3, "save_rate": (0.2, 0.3, 0.1)}])
def test_impossible_settings_are_refused(bad):
    with pytest.raises(DataError):
        segment_cards(**bad)


END = pd.Timestamp("2025-12-31")  # the hand-built client's observation end


def _hand_built_transactions() -> pd.DataFrame:
    """Six customers over 2023-2025 whose segments at both dates can be worked out by hand."""
    rows = {
        # bought all along: 5 purchases of 100 by 2024-12-21, 4 more in 2025
        "p": ([f"2024-{m:02d}-01" for m in (8, 9, 10, 11)] + ["2024-12-21", "2025-03-01",
              "2025-06-01", "2025-09-01", "2025-12-20"], 100.0),
        "q": (["2024-06-01", "2024-08-01", "2024-10-01", "2024-11-21"], 60.0),  # then silent
        "r": (["2024-02-01", "2024-05-01", "2024-10-27", "2025-04-01", "2025-07-01",
               "2025-11-01", "2025-12-15"], 40.0),  # picks up in 2025
        "t": (["2023-05-01", "2024-10-07", "2025-10-01"], 30.0),
        "s": (["2023-06-01"], 20.0),  # one purchase, long ago
        "u": (["2025-12-01"], 500.0),  # new in December 2025
    }  # fmt: skip
    return pd.DataFrame(
        [(c, pd.Timestamp(d), amount) for c, (days, amount) in rows.items() for d in days],
        columns=["customer_id", "date", "amount"],
    )


def test_trend_compares_each_segment_with_the_same_segment_a_year_before_by_hand():
    # Threshold 100 days: silent <= 25 days scores R5, <= 50 R4, <= 75 R3, <= 100 R2, else R1.
    # 2024-12-31 (a year before; revenue 2024-01-02..2024-12-31): frequencies p4 q3 r2 t1 s0
    # and mean repeat spends 100 60 40 30 0 rank alike, so F = M = FM = 5 4 3 2 1 among five;
    # silent 10, 40, 65, 85, 579 days -> R 5 4 3 2 1: p, q Champions (R4-5, FM4-5), r Need
    # Attention (R3, FM3), t About to Sleep (R2, FM2), s Lost (R1, FM1). Revenue: p 500,
    # q 240, r 120, t 30, s 0.
    # 2025-12-31 (now; revenue 2025): among six, a score is 1 + floor(5 x customers below / 6).
    # Frequencies p8 r6 q3 t2 s0 u0 give F 5 4 3 2 1 1; mean spends p100 q60 r40 t30 s0 u0 give
    # M 5 4 3 2 1 1 (p q r t), so FM = round-half-up mean: p5 r4 q4 t2 s1 u1. Silent 11, 16,
    # 405, 91, 944, 30 days -> R 5 5 1 2 1 4: p, r Champions, q Hibernating (R1, FM4), t About
    # to Sleep, s Lost, u Promising (R4, FM1). Revenue: p 400, r 160, t 30, u 500.
    trend = segment_trend(_hand_built_transactions(), threshold_days=100, observation_end=END)
    expected = pd.DataFrame(
        {"customers": [1, 2, 1, 1, 1, 0], "revenue_12m": [500.0, 560.0, 30.0, 0.0, 0.0, 0.0],
         "customers_before": [0, 2, 1, 0, 1, 1],
         "revenue_12m_before": [0.0, 740.0, 30.0, 0.0, 0.0, 120.0]},
        index=pd.Index(["Promising", "Champions", "About to Sleep", "Hibernating", "Lost",
                        "Need Attention"], name="segment"),
    )  # fmt: skip
    pd.testing.assert_frame_equal(trend[expected.columns].sort_index(), expected.sort_index())
    assert trend.index[:3].tolist() == ["Champions", "Promising", "About to Sleep"]  # by revenue
    champions = trend.loc["Champions"]
    assert champions["customers_change"] == 0.0
    assert champions["revenue_change"] == pytest.approx(560 / 740 - 1)
    # Not today's Champions a year before (p and r: 500 + 120): the segment then (p and q).
    assert champions["revenue_12m_before"] != 620.0
    assert trend.loc["Need Attention", ["customers_change", "revenue_change"]].tolist() == [-1, -1]
    notes = trend["trend_note"]
    assert notes["Promising"] == notes["Hibernating"] == "none in this segment"
    assert np.isnan(trend.loc["Hibernating", "customers_change"])
    assert notes["Lost"] == "no net revenue"  # 0 -> 0 revenue: no change to show
    assert trend.loc["Lost", "customers_change"] == 0.0
    assert np.isnan(trend.loc["Lost", "revenue_change"])
    assert notes[["Champions", "About to Sleep", "Need Attention"]].isna().all()
    # Of a year before's customers, the share in the same segment now: Champions p (not q),
    # About to Sleep t, Lost s, Need Attention none (r is a Champion now).
    kept = trend["kept_share"]
    assert kept[["Champions", "About to Sleep", "Lost", "Need Attention"]].tolist() == [
        0.5, 1.0, 1.0, 0.0]  # fmt: skip
    assert kept[["Promising", "Hibernating"]].isna().all()  # nobody a year before
    assert trend.attrs["year_before"] == pd.Timestamp("2024-12-31")


def test_the_run_base_gives_the_segments_now_and_the_windows_match_the_revenue_bridge(small_demo):
    from cxlib.churn import inactivity_threshold
    from cxlib.customers import customer_base
    from cxlib.segmentation import rfm_segments
    from cxlib.segmentation.trend import revenue_bridge

    tx = small_demo.transactions
    threshold = inactivity_threshold(tx).days
    base = customer_base(tx, freq="W")  # as the client builds it
    base["segment"] = rfm_segments(base, threshold_days=threshold)["segment"]
    trend = segment_trend(tx, base=base, threshold_days=threshold)
    pd.testing.assert_frame_equal(trend, segment_trend(tx, threshold_days=threshold))
    counts = base["segment"].value_counts()
    assert trend.loc[trend["customers"] > 0, "customers"].to_dict() == counts.to_dict()
    # The 12-month windows are the bridge's: every customer buying then is in some segment.
    bridge = revenue_bridge(tx)["revenue"]
    assert trend["revenue_12m"].sum() == pytest.approx(bridge["last 12 months"])
    assert trend["revenue_12m_before"].sum() == pytest.approx(bridge["previous 12 months"])
    earlier = customer_base(tx, observation_end=trend.attrs["year_before"])
    assert trend["customers_before"].sum() == len(earlier)


def test_a_client_with_under_two_years_of_history_gets_no_trend_and_the_reason():
    tx = _hand_built_transactions()
    # Ending 2025-12-31, the year before's 12 months are 2024-01-02..2024-12-31.
    first = tx.iloc[[0]].assign(amount=1.0)
    later = tx.loc[tx["date"] > "2024-06-30"]
    enough = pd.concat([later, first.assign(date=END - pd.Timedelta(days=729))])
    assert segment_trend(enough, threshold_days=100, observation_end=END)["trend_note"].ne(
        "under two years of history (data from 02 Jan 2024)").all()  # fmt: skip
    short = pd.concat([later, first.assign(date=END - pd.Timedelta(days=728))])
    trend = segment_trend(short, threshold_days=100, observation_end=END)
    assert (trend["trend_note"] == "under two years of history (data from 03 Jan 2024)").all()
    unknown = ["customers_before", "customers_change", "revenue_change", "kept_share"]
    assert trend[unknown].isna().all().all()
    assert trend["customers"].sum() == short["customer_id"].nunique()  # "now" is still counted
    cards = segment_cards(profiles=trend[["customers"]], trend=trend, margin=0.3)
    html = _card_text(cards_view(cards).to_html())
    assert "; a year before:" not in html and "still in it" not in html
    assert html.count(
        "No segment has a year before to compare with (under two years of history (data from "
        "03 Jan 2024))"
    ) == 1  # fmt: skip
    partly = trend.copy()
    partly.loc[partly.index[0], ["customers_change", "trend_note"]] = [0.1, None]
    html = _card_text(cards_view(segment_cards(profiles=trend[["customers"]], trend=partly,
                                               margin=0.3)).to_html())  # fmt: skip
    assert "; a year before: — (under two years of history (data from 03 Jan 2024))" in html


def _card_text(html: str) -> str:
    """The cards as a reader sees them: no tags, entities decoded, no-break spaces as spaces."""
    return unescape(re.sub(r"<[^>]+>", "", html)).replace("\xa0", " ")


def test_the_card_says_the_change_in_plain_words_or_why_there_is_none(tmp_path, facts):
    trend = segment_trend(_hand_built_transactions(), threshold_days=100, observation_end=END)
    profiles = trend[["customers"]].assign(customer_share=trend["customers"] / 6)
    save_segment_facts("01_segmentation", {"profiles": profiles, "trend": trend},
                       path=tmp_path / "01_segmentation.json")  # fmt: skip
    loaded = load_segment_facts(tmp_path)  # as the summary reads it back
    cards = segment_cards(**loaded, margin=0.3).set_index("segment")
    assert cards.loc["Champions", "revenue_12m"] == 560.0
    assert cards.loc["Champions", "revenue_change"] == pytest.approx(560 / 740 - 1)
    html = cards_view(cards.reset_index()).to_html()
    text = _card_text(html)
    assert "Customers: 2 (33.3% of all), no change on a year before" in text  # Champions
    assert "Their revenue, last 12 months: EUR 560, -24% on a year before" in text
    assert "Customers: 1 (16.7% of all); a year before: — (none in this segment)" in text
    assert "last 12 months: EUR 0.00; a year before: — (no net revenue)" in text  # Lost
    assert "Customers: 0 (0.0% of all), -100% on a year before" in text  # Need Attention
    assert "Of its customers a year before, 50.0% are still in it" in text  # Champions
    assert text.count("are still in it") == 4  # not for the segments new this year
    shown = cards_table(cards.reset_index()).cells.set_index("Segment")
    assert shown.loc["Champions", "Revenue vs a year before"] == "-24.3%"
    assert shown.loc["Hibernating", "Why no change on a year before"] == "none in this segment"
    assert not re.search(r"\b(nan|None|NaN|True|False)\b", html)


def test_the_trend_table_shows_both_years_the_signed_change_and_why_one_is_missing():
    trend = segment_trend(_hand_built_transactions(), threshold_days=100, observation_end=END)
    cells = trend_table(trend, currency="USD").cells.set_index("Segment")
    assert cells.loc["Champions"].tolist() == [
        "2", "2", "50.0%", "no change", "560", "740", "-24%", "—"]  # fmt: skip
    assert cells.loc["Hibernating", "Why no change"] == "none in this segment"
    assert "Revenue, last 12 months (USD)" in cells.columns
    assert "(31 Dec 2024)" in trend_table(trend).caption
    known = trend.drop(["Promising", "Hibernating", "Lost"])  # every change known
    assert "Why no change" not in trend_table(known).cells.columns


def test_no_transactions_gives_an_empty_trend_and_cards_without_it(facts):
    empty = segment_trend(None)
    assert empty.empty and list(empty.columns) == TREND_COLUMNS
    cards = segment_cards(**facts, trend=empty, margin=0.3)
    assert cards["customers_change"].isna().all() and cards["trend_note"].isna().all()
    html = _card_text(cards_view(cards).to_html())
    assert "; a year before:" not in html and html.count("No segment has a year before") == 1
