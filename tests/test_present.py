"""cxlib.report.present: the one formatter every reviewer table goes through."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cxlib.report.present import MISSING, format_cell, readable_label, table

RAW = re.compile(r"\d\.\d{4,}|\bnan\b|\bNone\b|\bTrue\b|\bFalse\b|<NA>|\bNaT\b", re.IGNORECASE)


def test_missing_values_of_every_kind_show_as_a_dash():
    frame = pd.DataFrame(
        {
            "revenue": [1.0, np.nan, None],
            "group": pd.array(["a", pd.NA, None], dtype="string"),
            "when": pd.to_datetime(["2024-01-02", None, "2024-03-04"]),
            "flag": pd.array([True, pd.NA, False], dtype="boolean"),
        }
    )
    cells = table(frame).cells
    assert cells.iloc[1].tolist() == [MISSING] * 4
    assert cells.iloc[2].tolist() == [MISSING, MISSING, "2024-03-04", "no"]


def test_no_raw_floats_booleans_or_snake_case_reach_the_html():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_segment": ["x", "y", "z"],
            "revenue_at_risk": rng.random(3) * 1e6,
            "churn_probability": rng.random(3),
            "hazard_ratio": rng.random(3) * 2,
            "p_value": [1e-9, 0.04123456, 0.5],
            "is_active": [True, False, True],
            "score": rng.normal(size=3),
        }
    )
    html = table(frame, currency="USD").to_html()
    cells = re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", html, flags=re.S)
    assert cells
    assert not [c for c in cells if RAW.search(c)]
    assert not [c for c in cells if re.search(r"[a-z]_[a-z]", c)]
    assert "Revenue at risk (USD)" in html and "&lt;0.001" in html


def test_units_are_formatted_as_declared():
    frame = pd.DataFrame({"a": [1234567.891], "b": [0.1234], "c": [-12.34], "d": [7.0]})
    shown = table(frame, {"a": "currency", "b": "percent", "c": "points", "d": "days"})
    assert shown.headers == ["A (EUR)", "B", "C", "D (days)"]
    assert shown.cells.iloc[0].tolist() == ["1,234,568", "12.3%", "-12.3", "7"]


def test_a_named_index_becomes_a_column_and_a_default_index_disappears():
    named = pd.DataFrame({"revenue": [1.0, 2.0]}, index=pd.Index(["A", "B"], name="segment"))
    assert table(named).headers == ["Segment", "Revenue (EUR)"]
    plain = pd.DataFrame({"revenue": [1.0, 2.0]})
    html = table(plain).to_html()
    assert table(plain).headers == ["Revenue (EUR)"]
    assert ">0<" not in html and ">1<" not in html  # no positional index column


def test_a_wide_table_is_split_with_its_keys_repeated_and_no_column_lost():
    frame = pd.DataFrame(
        {f"metric_{i}": [float(i)] for i in range(13)},
        index=pd.MultiIndex.from_tuples([("a", "b")], names=["segment", "category"]),
    )
    shown = table(frame, max_columns=5)
    parts = shown.parts()
    assert len(parts) == 5  # 13 metrics, 3 per part beside the 2 keys
    assert all(list(p.columns[:2]) == ["Segment", "Category"] for p in parts)
    assert sorted({c for p in parts for c in p.columns}) == sorted(shown.headers)
    assert shown.to_html().count("<table") == 5


def test_client_text_is_escaped_in_cells_headers_and_caption():
    frame = pd.DataFrame({"<b>x</b>": ["<script>alert(1)</script>"]}, index=["<i>row</i>"])
    html = table(frame, caption="<img src=x>").to_html()
    for tag in ("<script>", "<b>", "<i>", "<img"):
        assert tag not in html


def test_unknown_columns_and_units_are_refused_by_name():
    frame = pd.DataFrame({"revenue": [1.0]})
    with pytest.raises(ValueError, match="revenue_x"):
        table(frame, {"revenue_x": "currency"})
    with pytest.raises(ValueError, match="dollars"):
        table(frame, {"revenue": "dollars"})


def test_a_series_and_lists_of_quotes_are_shown_as_text():
    series = pd.Series([["nice shop", "slow delivery"]], index=["theme 1"], name="quotes")
    assert table(series).cells.iloc[0].tolist() == ["theme 1", "nice shop; slow delivery"]


@pytest.mark.parametrize(
    ("name", "label"),
    [("top_decile_lift", "Top decile lift"), ("clv_net", "CLV net"), ("Revenue", "Revenue")],
)
def test_readable_labels(name, label):
    assert readable_label(name) == label


def test_format_cell_handles_infinities_and_timedeltas():
    assert format_cell(float("inf"), "ratio") == "∞"
    assert format_cell(pd.Timedelta(days=3), "number") == "3 days"


def test_a_sorted_positional_index_is_dropped_and_code_identifiers_read_as_words():
    frame = pd.DataFrame(
        {"metric": ["subsequent_spend", "revenue"], "customer_id": ["c_001", "c_002"]}
    ).sort_values("metric")
    shown = table(frame)
    assert shown.headers == ["Metric", "Customer ID"]
    assert shown.cells["Metric"].tolist() == ["Revenue", "Subsequent spend"]
    assert shown.cells["Customer ID"].tolist() == ["c_002", "c_001"]  # IDs stay as they are


def test_note_escapes_client_text_unless_told_it_is_ours():
    from cxlib.report.present import note

    assert "<b>" not in note("<b>segment</b>").data
    assert note("**ours**", escape=False).data == "**ours**"


def test_names_decide_units_when_none_is_given():
    frame = pd.DataFrame(
        {"nps": [14.93], "nps_responses": [1134], "churned": [220], "churn_rate": [0.49],
         "mean_cac": [41.9], "clv_to_cac": [0.96], "p_holm": [0.0]}
    )  # fmt: skip
    assert table(frame).cells.iloc[0].tolist() == [
        "+14.9", "1,134", "220", "49.0%", "41.90", "0.96×", "<0.001"
    ]  # fmt: skip


def test_metric_names_in_a_key_column_read_alike_and_a_wide_table_splits_evenly():
    frame = pd.DataFrame(
        {"metric": ["revenue", "aov", "prior_spend"], **{f"m{i}": [1.5] * 3 for i in range(9)}}
    )
    shown = table(frame, keys=["metric"], max_columns=9)
    assert shown.cells["Metric"].tolist() == ["Revenue", "AOV", "Prior spend"]
    assert [len(p.columns) for p in shown.parts()] == [6, 5]  # 9 others: 5 + 4, not 8 + 1
