"""Money axes name their currency and read as money (12.5k, 1.25M), not raw floats."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from cxlib import plots


@pytest.mark.parametrize(
    ("value", "label"),
    [(1_250_000, "1.25M"), (2_000_000, "2M"), (12_500, "12.5k"), (1_234, "1,234"), (2.5, "2.50")],
)
def test_money_ticks_are_short_and_readable(value, label):
    assert plots._money_ticks(value) == label


def _tick_labels(axis):
    axis.figure.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_segment_money_charts_name_the_currency_on_their_money_axis():
    risk = pd.DataFrame(
        {"revenue_at_risk": [250_000.0, 1_500_000.0]}, index=pd.Index(["A", "B"], name="segment")
    )
    ax = plots.plot_revenue_at_risk(risk, currency="USD")
    assert ax.get_xlabel().endswith("(USD)")
    assert {"200k", "1M"} <= set(_tick_labels(ax.xaxis))

    wallet = pd.DataFrame(
        {"spend": [1e5, 2e5], "headroom": [5e4, 1e5], "wallet": [1.5e5, 3e5],
         "share_of_wallet": [0.67, 0.67]},
        index=["A", "B"],
    )  # fmt: skip
    ax = plots.plot_wallet_headroom(wallet, currency="GBP")
    assert ax.get_xlabel().endswith("(GBP)")
    assert all("e+" not in t and "." not in t.rstrip("k") for t in _tick_labels(ax.xaxis))

    value = pd.DataFrame(
        {"total": [1e4, 3e4], "total_low": [9e3, 2.5e4], "total_high": [1.1e4, 3.5e4]},
        index=["A", "B"],
    )
    ax = plots.plot_segment_value(value, currency="EUR")
    assert ax.get_xlabel() == "Total CLV (95% interval) (EUR)"


def test_without_a_currency_the_label_has_no_empty_unit():
    risk = pd.DataFrame({"revenue_at_risk": [1.0]}, index=pd.Index(["A"], name="segment"))
    assert "()" not in plots.plot_revenue_at_risk(risk).get_xlabel()


def test_a_figure_with_nothing_to_draw_is_one_line_saying_why_not_an_empty_chart():
    actions = pd.DataFrame(columns=["action", "value", "value_low", "value_high", "basis"])
    bridge = pd.DataFrame(columns=["revenue", "customers"])
    bridge.attrs["note"] = "No revenue bridge: the data start on 01 Jan 1997."
    themes = pd.DataFrame(columns=["name", "revenue_at_stake", "customers"])
    for ax, text in [
        (plots.plot_actions(actions, currency="USD"), "No ranked action to chart"),
        (plots.plot_revenue_bridge(bridge, currency="USD"), bridge.attrs["note"]),
        (plots.plot_themes_at_stake(themes), "No complaint themes (no feedback table)"),
    ]:
        assert [t.get_text() for t in ax.texts] == [text]
        assert not ax.axison
        assert ax.figure.get_figheight() <= 1  # a line's height, not a blank chart's


def test_the_active_customers_chart_names_nps_only_when_it_draws_it():
    periods = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-04-01"]),
            "active_customers": [23_000, 5_400],
        }
    )
    ax = plots.plot_active_customers(periods)
    assert ax.get_title() == "Active customers over time"
    assert "20,000" in _tick_labels(ax.yaxis)
    nps = pd.DataFrame(
        {"period": pd.Series(pd.period_range("2024Q1", periods=2, freq="Q")),
         "score": [10.0, 12.0], "ci_low": [5.0, 7.0], "ci_high": [15.0, 17.0]}
    )  # fmt: skip
    assert (
        plots.plot_active_customers(periods, nps).get_title()
        == "Active customers and NPS over time"
    )


def test_each_cohort_row_of_the_heatmap_says_how_many_customers_it_holds():
    from cxlib.churn import cohort_retention

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "date": pd.to_datetime(
                ["2025-01-05", "2025-02-07", "2025-01-20", "2025-02-03", "2025-03-01"]
            ),
            "amount": [10.0, 5.0, 10.0, 4.0, 4.0],
        }
    )
    ax = plots.plot_cohort_heatmap(cohort_retention(tx, observation_end="2025-03-31"))
    assert _tick_labels(ax.yaxis) == ["2025-01 (2)", "2025-02 (1)"]
    assert ax.get_ylabel() == "Acquisition cohort (customers)"
