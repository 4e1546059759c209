import json

import pandas as pd
import pytest

from cxlib import DataError
from cxlib.report.headlines import (
    executive_summary,
    format_table,
    format_value,
    headline_table,
    load_headlines,
    save_headlines,
)
from cxlib.settings.headline import Headline


def _recorded(tmp_path):
    save_headlines(
        "02_churn",
        [
            Headline(
                "revenue_at_risk",
                "Revenue at risk",
                250_000.0,
                unit="currency",
                ci_low=200_000.0,
                ci_high=300_000.0,
                note="Next 90 days",
            ),
            Headline("churn_rate", "Churn rate", 0.183, unit="percent"),
        ],
        path=tmp_path / "02_churn.json",
    )
    save_headlines(
        "01_segmentation",
        [
            Headline("top_share", "Revenue from the top 20%", 0.62, unit="percent"),
        ],
        path=tmp_path / "01_segmentation.json",
    )
    return load_headlines(tmp_path)


def test_format_value_formats_each_unit():
    assert format_value(1_234_567.8, "currency", currency="USD") == "USD 1.23M"
    assert format_value(12_345.0, "currency") == "EUR 12.3k"
    assert format_value(0.5, "percent") == "50.0%"
    assert format_value(1234, "count") == "1,234"
    assert format_value(-12.34, "points") == "-12.3"
    assert format_value(2.5, "ratio") == "2.50x"
    assert format_value(float("nan"), "currency") == "n/a"


def test_saved_headlines_load_back_as_one_frame_across_notebooks(tmp_path):
    frame = _recorded(tmp_path)
    assert list(frame["notebook"]) == ["01_segmentation", "02_churn", "02_churn"]
    assert json.loads((tmp_path / "02_churn.json").read_text())[0]["ci_low"] == 200_000.0


def test_load_headlines_without_a_folder_gives_an_empty_frame_with_the_columns(tmp_path):
    for directory in (None, tmp_path / "missing"):
        frame = load_headlines(directory)
        assert frame.empty and "value" in frame.columns


def test_headline_table_formats_values_and_intervals_for_a_reader(tmp_path):
    table = headline_table(_recorded(tmp_path), currency="EUR")
    row = table[table["Number"] == "Revenue at risk"].iloc[0]
    assert row["Value"] == "EUR 250.0k"
    assert row["95% interval"] == "EUR 200.0k – EUR 300.0k"
    assert table.loc[table["Number"] == "Churn rate", "Value"].item() == "18.3%"


def test_executive_summary_without_headlines_says_so_instead_of_failing():
    text = executive_summary(load_headlines(None))
    assert text.startswith("**No headline numbers were found.**")


def test_executive_summary_orders_topics_and_names_the_ones_without_numbers(tmp_path):
    text = executive_summary(_recorded(tmp_path))
    segments = text.index("Who the customers are")
    churn = text.index("Who is leaving")
    assert segments < churn
    assert (
        "- **Revenue at risk**: EUR 250.0k (95% interval EUR 200.0k – EUR 300.0k) — Next 90 days"
        in text
    )
    assert "`03_nps_vs_revenue`, `04_clv`" in text


def test_executive_summary_lists_recommendations_then_the_money_at_stake(tmp_path):
    _recorded(tmp_path)
    save_headlines(
        "04_clv",
        [
            Headline(
                "invest_retention",
                "Retain at-risk Champions",
                80_000.0,
                unit="currency",
                note="Worth EUR 80k a year at a 5% retention gain",
            ),
            Headline("total_clv", "Total CLV", 2e6, unit="currency"),
        ],
        path=tmp_path / "04_clv.json",
    )
    where = executive_summary(load_headlines(tmp_path)).split("## Where to invest")[1]
    recommended, stake = where.split("Where the money at stake sits:")
    assert "Retain at-risk Champions" in recommended
    assert "Revenue at risk" in stake  # key revenue_at_risk
    assert "Total CLV" not in where and "Churn rate" not in where


def test_executive_summary_falls_back_to_the_largest_amounts_without_stake_keys(tmp_path):
    save_headlines(
        "04_clv",
        [
            Headline("total_clv", "Total CLV", 2e6, unit="currency"),
            Headline("median_clv", "Median CLV", 35.0, unit="currency"),
            Headline("top_share", "Top 20% share", 0.8, unit="percent"),
        ],
        path=tmp_path / "04_clv.json",
    )
    where = executive_summary(load_headlines(tmp_path)).split("## Where to invest")[1]
    assert "No notebook recorded an explicit recommendation" in where
    assert where.index("Total CLV") < where.index("Median CLV")
    assert "Top 20% share" not in where


def test_format_table_formats_the_named_columns_and_leaves_the_frame_alone():
    table = pd.DataFrame({"segment": ["A"], "revenue": [1.25e6], "share": [0.4]})
    html = format_table(table, {"revenue": "currency", "share": "percent"}, index=False).to_html()
    assert "EUR 1.25M" in html and "40.0%" in html
    assert table["revenue"].item() == 1.25e6


def test_format_table_names_a_missing_column():
    with pytest.raises(DataError, match=r"format_table: missing column\(s\) \['revenu'\]"):
        format_table(pd.DataFrame({"revenue": [1.0]}), {"revenu": "currency"})


def test_the_summary_can_leave_where_to_invest_to_the_ranked_actions():
    from cxlib.report.headlines import executive_summary, save_headlines
    from cxlib.settings.headline import Headline

    frame = save_headlines(
        "02_churn",
        [
            Headline("revenue_at_risk", "Revenue at risk", 2e5, unit="currency"),
            Headline("invest_retention", "Retain the top decile", 3e4, unit="currency"),
        ],
    )
    full = executive_summary(frame)
    short = executive_summary(frame, where_to_invest=False)
    assert "Where to invest" in full and "Retain the top decile" in full
    assert "Where to invest" not in short and "Retain the top decile" not in short
    assert "Revenue at risk" in short
