"""cxlib.cards: segment action cards built from the pages' own per-segment tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.actions import BASIS
from cxlib.cards import (
    CARD_COLUMNS,
    cards_table,
    cards_view,
    load_segment_facts,
    save_segment_facts,
    segment_cards,
    segment_trend,
)

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


def test_a_client_without_surveys_or_feedback_gets_dashes_not_a_crash(facts):
    profiles = facts["profiles"].assign(nps=np.nan, nps_responses=0)
    cards = segment_cards(profiles=profiles, risk=facts["risk"], complaints=None, margin=0.3)
    assert cards["top_complaint"].isna().all() and cards["headroom"].isna().all()
    cells = cards_table(cards).cells
    assert (cells["Top complaint"] == "—").all() and (cells["NPS"] == "—").all()
    for html in (cards_table(cards).to_html(), cards_view(cards).to_html()):
        assert not re.search(r"\b(nan|None|NaN|True|False)\b", html)
    assert cards_view(cards).to_html().count('class="cx-card"') == 3
    assert "Top complaint: —" in cards_view(cards).to_html()


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


def test_trend_compares_the_last_year_with_the_year_before_per_segment(small_demo):
    tx = small_demo.transactions
    segments = (
        pd.Series(
            np.where(tx["customer_id"].astype(str).str[-1].isin(list("02468")), "even", "odd"),
            index=tx["customer_id"].astype(str),
        )
        .groupby(level=0)
        .first()
    )
    trend = segment_trend(tx, segments)
    end, year = tx["date"].max(), pd.Timedelta(days=365)
    last = tx[tx["date"] > end - year]
    before = tx[(tx["date"] > end - 2 * year) & (tx["date"] <= end - year)]
    for name in ("even", "odd"):
        ids = segments.index[segments == name]
        a = last.loc[last["customer_id"].astype(str).isin(ids), "amount"].sum()
        b = before.loc[before["customer_id"].astype(str).isin(ids), "amount"].sum()
        assert trend[name] == pytest.approx(a / b - 1)
    assert segment_trend(None, segments).empty


@pytest.mark.parametrize("bad", [{"margin": 0}, {"margin": 0.3, "save_rate": (0.2, 0.3, 0.1)}])
def test_impossible_settings_are_refused(bad):
    with pytest.raises(DataError):
        segment_cards(**bad)


def test_a_recorded_trend_frame_is_read_like_the_series(facts):
    trend = pd.Series({"Champions": 0.25, "Lost": -0.5}, name="revenue_trend")
    as_series = segment_cards(**facts, trend=trend, margin=0.3)
    as_frame = segment_cards(**facts, trend=trend.to_frame(), margin=0.3)
    pd.testing.assert_frame_equal(as_series, as_frame)
    assert as_frame.set_index("segment").loc["Lost", "revenue_trend"] == -0.5
    assert np.isnan(as_frame.set_index("segment").loc["At Risk", "revenue_trend"])
